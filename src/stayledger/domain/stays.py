"""Stay determinations: the status vocabulary and the evidence a rule pack records for each stay.

Pure core: standard library only. A determination says, for one arrival, whether the stay is in order,
why (the rule steps applied, in words) and on which events it rests, so that a person can check and
rebut it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from stayledger.domain.events import Event


class Status(StrEnum):
    """Outcome of one stay. The string values are part of the export format."""

    IN_STATUS = "in_status"  # authorised stay not yet over (or open-ended)
    DEPARTED = "departed"  # left on or before the end of the authorised stay
    DEPARTED_LATE = "departed_late"  # left after the authorised stay ended
    OVERSTAY = "overstay"  # no departure and the authorised stay has ended
    DEPARTURE_REPORTED = "departure_reported"  # the traveller reported leaving (no recorded exit)
    PENDING = "pending"  # a timely extension or change application is undecided
    ADJUSTED = "adjusted"  # adjusted to permanent residence
    NEEDS_REVIEW = "needs_review"  # the records cannot decide it; a person must look


class ClosedBy(StrEnum):
    """How a stay was closed. The string values are part of the export format."""

    DEPARTURE = "departure"  # a recorded exit
    DEPARTURE_REPORT = "departure_report"  # the traveller reported leaving
    NEXT_ARRIVAL = "next_arrival"  # no exit recorded; a later arrival shows the person left before it
    OPEN = ""  # not closed (in status, overstay, pending, adjusted)

    @classmethod
    def of(cls, closer: Event | None) -> ClosedBy:
        """How the event that closed a stay closed it (None: the stay is not closed by an event)."""
        if closer is None:
            return cls.OPEN
        return _CLOSED_BY_KIND.get(closer.kind, cls.NEXT_ARRIVAL)


_CLOSED_BY_KIND: Final = {"departure": ClosedBy.DEPARTURE, "departure_report": ClosedBy.DEPARTURE_REPORT}


class HeldBecause(StrEnum):
    """Why a stay is ``needs_review``: each reason is settled by different work. Values are part of the export."""

    IDENTITY_LINK = "identity_link"  # it rests on an identity link a person must decide (`review list`)
    DEPARTURE_UNKNOWN = "departure_unknown"  # a later arrival shows the traveller left, but not when
    NO_AUTHORISED_STAY = "no_authorised_stay"  # the arrival gives neither admitted-until nor duration of status
    DISPUTED = "disputed"  # the traveller disputes a record of it (correction case open)
    NATIONAL_RULES = "national_rules"  # a long stay past its end (Schengen pack): national rules decide


# The statuses for which overstay_days may be non-zero.
STATUSES_WITH_OVERSTAY_DAYS: frozenset[Status] = frozenset(
    {Status.DEPARTED_LATE, Status.OVERSTAY, Status.DEPARTURE_REPORTED}
)


# Same-day order: an arrival opens a stay before that day's changes; a departure closes it after them.
KIND_ORDER: Final = {"arrival": 0, "status_change": 1, "departure": 2, "departure_report": 3}
_UNKNOWN_KIND_ORDER: Final = len(KIND_ORDER)


def event_order_key(event: Event) -> tuple[date, int, str]:
    """Chronological order of a person's events: date, then arrival < status_change < departure <
    departure_report, then event_id (so that the order never depends on the input order)."""
    return (event.occurred_on, KIND_ORDER.get(event.kind, _UNKNOWN_KIND_ORDER), event.event_id)


@dataclass(frozen=True, slots=True)
class EvidenceEvent:
    """One event a determination rests on, with how strongly it is linked to the person."""

    event_id: str
    kind: str
    source: str
    occurred_on: date
    link_probability: float | None  # None: no linkage score given (e.g. same document)


@dataclass(frozen=True, slots=True)
class StayDetermination:
    """The determination of one stay (one arrival) under one rule pack."""

    arrival_event_id: str
    person_id: str
    status: Status
    authorized_until: date | None  # None when the stay is open-ended (duration of status)
    overstay_days: int
    admission_class: str  # the class at the end, after any change of status
    closing_event_id: str | None  # the departure, report or later arrival that closed the stay
    closed_by: ClosedBy  # which of those it was
    pending: bool
    rule_pack: str
    rule_version: str
    steps: tuple[str, ...]
    evidence: tuple[EvidenceEvent, ...]
    uncertain_links: tuple[str, ...]  # event ids joined only by an unreviewed grey-zone link
    held_because: HeldBecause | None = None  # set when the status is needs_review

    @property
    def departure_event_id(self) -> str | None:
        """The recorded departure or departure report that closed the stay; None when a later arrival closed it
        (the departure itself is unknown) or nothing did."""
        if self.closed_by in (ClosedBy.DEPARTURE, ClosedBy.DEPARTURE_REPORT):
            return self.closing_event_id
        return None

    def evidence_summary(self) -> str:
        """A compact single line (no line breaks) naming the outcome and the events used, for CSV export."""
        head = f"{self.rule_pack} {self.rule_version}: {self.status.value}"
        if self.overstay_days:
            head += f" {self.overstay_days}d"
        head += f"; until {self.authorized_until or 'open-ended'}"
        if self.pending:
            head += "; application pending"
        parts = [head]
        for ev in self.evidence:
            item = f"{ev.kind} {ev.event_id} {ev.occurred_on} {ev.source}"
            if ev.link_probability is not None:
                item += f" p={ev.link_probability:.2f}"
            parts.append(item)
        if self.uncertain_links:
            parts.append("unreviewed links: " + " ".join(self.uncertain_links))
        return " | ".join(parts).replace("\n", " ").replace("\r", " ")  # the separator has no line breaks
