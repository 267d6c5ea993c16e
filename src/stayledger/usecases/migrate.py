"""Use case: copy the whole ledger to another backend (DuckDB ⇄ PostgreSQL), for moves and backups.

The copy is checked before the command reports success: rows per table, the events in order, and the audit
log entry for entry (then verified on its own). The source is audited (by counts), and the copy's log gets the
same entry, so each side says where the other is.
"""

from __future__ import annotations

from dataclasses import dataclass

from stayledger.domain.access import AccessContext, Action
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation


@dataclass(frozen=True)
class MigrationReport:
    source: str  # backend name
    target: str
    rows: dict[str, int]  # table → rows copied


def migrate_ledger(store: EventStore, ctx: AccessContext, target: EventStore) -> MigrationReport:
    """Copy every table of ``store`` into the empty ``target`` and verify the copy."""
    from stayledger.storage.transfer import backend_name, copy_ledger

    with operation(store, ctx, Action.MIGRATE_LEDGER, atomic=False) as op:
        source_kind, target_kind = backend_name(store), backend_name(target)
        op.note(source=source_kind, target=target_kind)
        rows = copy_ledger(store, target)
        op.note(events=rows["events"], audit_entries=rows["audit_log"], quarantine=rows["quarantine"])
        target.append_audit([op.record("ok", copied_from=source_kind)])
    return MigrationReport(source_kind, target_kind, rows)
