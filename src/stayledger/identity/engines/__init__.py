"""Implementations of ``identity.engine.LinkageEngine``; ``default_engine()`` is the one linking uses unless told."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stayledger.identity.engine import LinkageEngine

_default: "LinkageEngine | None" = None


def default_engine() -> "LinkageEngine":
    """Splink on DuckDB in this process (imported on first use)."""
    global _default
    if _default is None:
        from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine

        _default = DuckDBSplinkEngine()
    return _default
