"""Use case: determine every person's stays as of a day and keep them as the ledger's stays snapshot.

The snapshot replaces the last one wholesale (``EventStore.replace_stays``) and is numbered; an erasure drops it.
Where the determination runs is the engine's business: in this process (``InProcessStays``, the same
``determine_stays`` that exports and reports use) or on Spark (``spark.stays_job.SparkStays``); both call the
pure ``rules.determination.determine_person`` for each person, so their stays are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.domain.access import AccessContext, Action
from stayledger.storage.arrow_stays import STAYS_SCHEMA
from stayledger.storage.base import EventStore, StaysRun
from stayledger.usecases.accountability import operation
from stayledger.usecases.resolve import ensure_resolved
from stayledger.usecases.stays import determine_stays_table


class StaysEngine(Protocol):
    """Where every person's stays are determined: the stays in STAYS_SCHEMA, in snapshot order."""

    name: str

    def determine(self, store: EventStore, as_of: date, pack: str) -> pa.Table: ...


class InProcessStays:
    """In this process, one person after another (the default)."""

    name = "inprocess"

    def determine(self, store: EventStore, as_of: date, pack: str) -> pa.Table:
        return determine_stays_table(store, as_of, pack=pack)


@dataclass(frozen=True)
class StaysRecorded:
    """What a determination stored: counts only (the stays stay in the ledger)."""

    run_id: int
    as_of: date
    engine: str
    stays: int
    persons: int
    by_status: dict[str, int] = field(default_factory=dict)


def record_stays(store: EventStore, ctx: AccessContext, as_of: date, *, pack: str = "us",
                 engine: StaysEngine | None = None) -> StaysRecorded:
    """Determine every resolved person's stays as of ``as_of`` and make them the ledger's stays snapshot.

    Unresolved events are resolved first. Admin only: it reads every record (audited with the counts)."""
    engine = engine or InProcessStays()
    with operation(store, ctx, Action.DETERMINE_STAYS, as_of=as_of.isoformat(), engine=engine.name,
                   rule_pack=pack) as op:
        op.note(resolved_first=ensure_resolved(store))
        stays = engine.determine(store, as_of, pack).select(STAYS_SCHEMA.names)
        run_id = store.replace_stays(StaysRun(as_of, pack, engine.name, stays.num_rows), stays)
        counts = pc.value_counts(stays.column("status")).to_pylist() if stays.num_rows else []
        by_status = {c["values"]: c["counts"] for c in sorted(counts, key=lambda c: c["values"])}
        persons = pc.count_distinct(stays.column("person_id")).as_py() if stays.num_rows else 0
        op.note(run_id=run_id, stays=stays.num_rows, persons=persons)
        return StaysRecorded(run_id, as_of, engine.name, stays.num_rows, persons, by_status)
