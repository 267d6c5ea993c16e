"""Use case: live operational figures for analysts — counts only, never a name, document or person id.

Events of the day (by kind and by source, ``occurred_on`` = today), travellers' own departure reports and how many
a linked carrier exit record has confirmed (the portal's receipt rule), and the work waiting: open review items,
open correction cases, quarantined records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.domain.access import AccessContext, Action
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation
from stayledger.usecases.traveller import CONFIRMING_DAYS


@dataclass(frozen=True, slots=True)
class LiveFigures:
    today: date
    events_today: int
    today_by_kind: dict[str, int] = field(default_factory=dict)
    today_by_source: dict[str, int] = field(default_factory=dict)
    departures_reported: int = 0  # ``departure_report`` events, all time
    departures_confirmed: int = 0  # of those, linked to a carrier's exit record within CONFIRMING_DAYS
    open_review_items: int = 0
    open_correction_cases: int = 0
    quarantined: int = 0


def _confirmed_reports(store: EventStore, reports: list[tuple[str, date]], departures: dict[str, date]) -> int:
    """How many reports share a person with a departure no more than CONFIRMING_DAYS away (unresolved: not confirmed)."""
    person_of = {event_id: a.person_id for event_id, a in store.assignments_for(e for e, _ in reports).items()}
    exits = {person: [departures[e] for e in event_ids if e in departures]
             for person, event_ids in store.events_of_persons(set(person_of.values())).items()}
    window = timedelta(days=CONFIRMING_DAYS)
    return sum(1 for event_id, day in reports
               if any(abs(d - day) <= window for d in exits.get(person_of.get(event_id, ""), ())))


def live_figures(store: EventStore, ctx: AccessContext, today: date) -> LiveFigures:
    with operation(store, ctx, Action.LIVE_FIGURES, today=today.isoformat()) as op:
        table = store.events_table().select(["event_id", "kind", "source", "occurred_on"])
        todays = table.filter(pc.equal(table.column("occurred_on"), pa.scalar(today, pa.date32())))
        by_kind = Counter(todays.column("kind").to_pylist())
        by_source = Counter(todays.column("source").to_pylist())

        def rows(kind: str) -> list[tuple[str, date]]:
            chosen = table.filter(pc.equal(table.column("kind"), kind))
            return list(zip(chosen.column("event_id").to_pylist(), chosen.column("occurred_on").to_pylist()))

        reports = rows("departure_report")
        figures = LiveFigures(
            today=today, events_today=todays.num_rows, today_by_kind=dict(sorted(by_kind.items())),
            today_by_source=dict(sorted(by_source.items())), departures_reported=len(reports),
            departures_confirmed=_confirmed_reports(store, reports, dict(rows("departure"))) if reports else 0,
            open_review_items=len(store.review_items("open")), open_correction_cases=len(store.cases("open")),
            quarantined=store.quarantine_count(),
        )
        op.note(events_today=figures.events_today, reported=figures.departures_reported)
        return figures
