"""``stayledger migrate --to …``: copy the ledger to another backend (DuckDB file ⇄ PostgreSQL URL)."""

from __future__ import annotations

from typing import Annotated

import typer

from stayledger.bootstrap import Settings, open_store
from stayledger.cli.common import ActorOption, DbOption, access_context, console, ledger


def migrate(
    to: Annotated[str, typer.Option("--to", help="Where to copy the ledger: a postgresql:// URL or a new DuckDB file path.")],
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Copy the whole ledger (events, quarantine, identities and their history, review decisions, models, accounts,
    correction cases, the audit log) into an empty ledger on another backend, and check the copy.

    The copy keeps the ledger id, sequence numbers and every audit entry, so it verifies against the same
    checkpoints; both logs record the copy. Writers may go on during the copy: what they add after it starts is
    not copied. Example: `stayledger migrate --db ledger.duckdb --to postgresql://stayledger@db.example/ledger`.
    """
    from stayledger.usecases.migrate import migrate_ledger

    ctx = access_context(actor)
    with ledger(db) as store:
        target = open_store(Settings.load(to))
        try:
            report = migrate_ledger(store, ctx, target)
        finally:
            target.close()
    console.print(f"copied the {report.source} ledger to {report.target}: {report.rows['events']:,} events, "
                  f"{report.rows['audit_log']:,} audit entries, {report.rows['quarantine']:,} quarantine entries; "
                  "the copy was checked (rows per table, events, audit log)")
