"""Pausing Python's cyclic garbage collector around work that allocates many objects and no reference cycles."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that form no cycles.

    Left on, the collector rescans the live ones again and again (a parse's lists and tuples; a table's events and
    stays): it cost several times a parse, and half of determining stays at 1M events. Reference counting still
    frees everything. Restores the previous state.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
