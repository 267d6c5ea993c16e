"""Use case: list quarantined records — raw text with names and documents, so a purpose is required."""

from __future__ import annotations

from stayledger.domain.access import AccessContext, Action
from stayledger.storage.base import EventStore, StoredQuarantine
from stayledger.usecases.accountability import operation


def list_quarantine(store: EventStore, ctx: AccessContext, limit: int | None = None) -> tuple[list[StoredQuarantine], int]:
    """The first ``limit`` entries (all when None) and how many there are in all."""
    with operation(store, ctx, Action.LIST_QUARANTINE, limit=limit) as op:
        total = store.quarantine_count()
        entries = store.quarantine_entries(limit)
        op.note(count=len(entries), total=total)
        return entries, total
