"""stayledger: entry/exit records you can trust."""

__version__ = "0.1.0"
