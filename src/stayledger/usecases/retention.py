"""Use case: enforce retention limits — find (and, when asked, erase) records whose retention has run out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stayledger.domain.corrections import effective_events
from stayledger.domain.retention import YEARS_AFTER_EXIT, YEARS_WITHOUT_EXIT, retention_ends
from stayledger.rules import get_pack
from stayledger.storage.base import EventStore
from stayledger.usecases.stays import person_groups


@dataclass(frozen=True)
class RetentionReport:
    as_of: date
    persons_due: int
    events_due: int
    erased: int  # 0 on a dry run


def enforce_retention(store: EventStore, as_of: date, *, apply: bool, pack: str = "us") -> RetentionReport:
    """Erase every person whose latest stay's retention ended before ``as_of`` (only counts are reported)."""
    rules = get_pack(pack)
    groups, _ = person_groups(store)
    due_events: list[str] = []
    persons = 0
    for person_id, events in groups.items():
        stays = rules.determine_person_stays(person_id, effective_events(events), as_of)
        if not stays:
            continue  # events without an arrival: kept until an arrival or a person-level rule decides
        ends = retention_ends(stays[-1], {e.event_id: e for e in events})
        if ends is not None and ends < as_of:
            persons += 1
            due_events.extend(e.event_id for e in events)
    erased = 0
    if apply and due_events:
        reason = f"retention: {YEARS_AFTER_EXIT} years after exit / {YEARS_WITHOUT_EXIT} years without exit, as of {as_of}"
        erased = store.erase_events(due_events, reason)
    return RetentionReport(as_of, persons, len(due_events), erased)
