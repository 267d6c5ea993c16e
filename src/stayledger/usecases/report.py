"""Use case: the fiscal-year overstay report, from the ledger's stay determinations.

Statuses are determined as of the day the caller passes (the CLI passes today unless ``--as-of`` is
given): a report run soon after the fiscal year ends is provisional, because late departure records keep
arriving, and it says so. Events no resolution run has assigned yet are resolved first.
"""

from __future__ import annotations

from datetime import date
from typing import Iterator, NamedTuple

import pyarrow.compute as pc

from stayledger.domain.access import AccessContext, Action
from stayledger.reports.overstays import OverstayReport, StayFacts, aggregate_overstays
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation
from stayledger.usecases.resolve import ensure_resolved
from stayledger.usecases.stays import determine_stays


class _Arrival(NamedTuple):
    mode: str | None
    nationality: str
    occurred_on: date


def _arrivals(store: EventStore) -> dict[str, _Arrival]:
    """Mode, nationality and date of every arrival, by event id (only the columns the report needs)."""
    table = store.events_table().select(["event_id", "kind", "mode", "nationality", "occurred_on"])
    table = table.filter(pc.equal(table.column("kind"), "arrival"))
    return {
        event_id: _Arrival(mode, nationality, occurred_on)
        for event_id, mode, nationality, occurred_on in zip(
            table.column("event_id").to_pylist(),
            table.column("mode").to_pylist(),
            table.column("nationality").to_pylist(),
            table.column("occurred_on").to_pylist(),
        )
    }


def stay_facts(store: EventStore, as_of: date, *, pack: str = "us") -> Iterator[StayFacts]:
    """Every determined stay reduced to what the report needs: no person id, name or document."""
    arrivals = _arrivals(store)
    for stay in determine_stays(store, as_of, pack=pack):
        arrival = arrivals[stay.arrival_event_id]
        yield StayFacts(
            admission_class=stay.admission_class,
            nationality=arrival.nationality,
            mode=arrival.mode,
            arrived_on=arrival.occurred_on,
            authorized_until=stay.authorized_until,
            status=stay.status,
            overstay_days=stay.overstay_days,
        )


def report_overstays(
    store: EventStore, ctx: AccessContext, fiscal_year: int, as_of: date, *, pack: str = "us"
) -> OverstayReport:
    """The fiscal year's overstay statistics with statuses determined as of ``as_of`` (aggregates only)."""
    with operation(store, ctx, Action.REPORT_OVERSTAYS, fiscal_year=fiscal_year, as_of=as_of.isoformat()) as op:
        op.note(resolved_first=ensure_resolved(store))
        return aggregate_overstays(stay_facts(store, as_of, pack=pack), fiscal_year, as_of=as_of)
