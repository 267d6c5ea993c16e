"""Use case: determine every stay's status as of a date, with the identity links it relies on."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Iterator

from stayledger.domain.corrections import effective_events
from stayledger.domain.events import Event
from stayledger.domain.stays import StayDetermination
from stayledger.rules import get_pack
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore


def person_groups(store: EventStore) -> tuple[dict[str, list[Event]], dict[str, float]]:
    """Events grouped by resolved person, and each event's joining link probability (where scored)."""
    assignments = store.identity_assignments()
    groups: dict[str, list[Event]] = defaultdict(list)
    probabilities: dict[str, float] = {}
    for event in table_to_events(store.events_table()):
        assignment = assignments.get(event.event_id)
        if assignment is None:
            continue  # not resolved yet: the caller resolves first
        groups[assignment.person_id].append(event)
        if assignment.link_probability is not None:
            probabilities[event.event_id] = assignment.link_probability
    return groups, probabilities


def uncertain_event_ids(store: EventStore) -> frozenset[str]:
    """Events joined to their person only through a grey-zone link nobody has reviewed yet."""
    open_items = store.review_items(status="open")
    assignments = store.identity_assignments()
    uncertain: set[str] = set()
    for item in open_items:
        left, right = assignments.get(item.event_id_l), assignments.get(item.event_id_r)
        if left is not None and right is not None and left.person_id == right.person_id:
            uncertain.update((item.event_id_l, item.event_id_r))
    return frozenset(uncertain)


def determine_stays(store: EventStore, as_of: date, *, pack: str = "us") -> Iterator[StayDetermination]:
    """Stays of every resolved person as of ``as_of``, ordered by person then arrival."""
    rules = get_pack(pack)
    groups, probabilities = person_groups(store)
    uncertain = uncertain_event_ids(store)
    for person_id in sorted(groups):
        yield from rules.determine_person_stays(
            person_id,
            effective_events(groups[person_id]),
            as_of,
            link_probabilities=probabilities,
            uncertain_event_ids=uncertain,
        )
