"""Retention limits. Pure core.

Modelled on the EU Entry/Exit System (Regulation 2017/2226, Art 34): a traveller's records are kept three
years after their last exit, and five years after the end of the authorised stay when no exit is recorded.
A person's records are erased together, when the retention of their latest stay has run out.
"""

from __future__ import annotations

from datetime import date
from typing import Mapping

from stayledger.domain.events import Event
from stayledger.domain.stays import Status, StayDetermination

YEARS_AFTER_EXIT = 3
YEARS_WITHOUT_EXIT = 5
CLOSED_BY_EXIT = frozenset({Status.DEPARTED, Status.DEPARTED_LATE, Status.DEPARTURE_REPORTED, Status.ADJUSTED})


def _add_years(day: date, years: int) -> date:
    if day.year + years > date.max.year:  # a ledger from before the ingest date range: keep, never crash
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retention_ends(latest: StayDetermination, events_by_id: Mapping[str, Event]) -> date | None:
    """The day after which the person's records may be erased; None while the stay is open-ended."""
    arrival = events_by_id[latest.arrival_event_id]
    if latest.status in CLOSED_BY_EXIT:
        closing = events_by_id.get(latest.closing_event_id or "")
        if closing is None:  # adjusted: the adjustment event is in the evidence
            closing_day = max((e.occurred_on for e in (events_by_id.get(x.event_id) for x in latest.evidence) if e), default=arrival.occurred_on)
        else:
            closing_day = closing.occurred_on
        return _add_years(closing_day, YEARS_AFTER_EXIT)
    if latest.authorized_until is None:
        return None
    return _add_years(latest.authorized_until, YEARS_WITHOUT_EXIT)
