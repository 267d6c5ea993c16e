"""Corrections: a record that replaces an earlier one. Pure core.

A traveller's rebuttal or an officer's fix is a new event whose ``corrects`` names the event it replaces.
The original stays in the ledger (append-only); determinations use the correction in its place. A chain
(C corrects B, B corrects A) leaves only C in effect.
"""

from __future__ import annotations

from typing import Iterable

from stayledger.domain.events import Event


def superseded_ids(events: Iterable[Event]) -> frozenset[str]:
    """Ids of events that some other event corrects."""
    return frozenset(e.corrects for e in events if e.corrects)


def effective_events(events: list[Event]) -> list[Event]:
    """The events in effect: every event that no other event corrects."""
    replaced = superseded_ids(events)
    if not replaced:
        return events
    return [e for e in events if e.event_id not in replaced]
