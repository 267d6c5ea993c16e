"""Use case: determine every stay's status as of a date, with the identity links it relies on.

Uncertain identity links never yield a verdict against a person: an overstay for which an unlinked
departure record sits in the review queue (a grey-zone link nobody has decided) becomes ``needs_review``,
with that candidate named in the evidence.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date
from typing import Collection, Iterator, Mapping

from stayledger.domain.corrections import effective_events
from stayledger.domain.events import Event
from stayledger.domain.stays import EvidenceEvent, HeldBecause, Status, StayDetermination
from stayledger.rules import RulePack, get_pack
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore

EXIT_KINDS = frozenset({"departure", "departure_report"})


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


@dataclasses.dataclass(frozen=True)
class UnsettledLinks:
    """What the open review queue and the open correction cases leave uncertain."""

    within_person: frozenset[str]  # events joined to their person only through an unreviewed grey link
    # person -> (exit event of a person the queue asks about, probability of the strongest open link between them)
    exits_elsewhere: dict[str, list[tuple[str, float]]]
    disputed: frozenset[str] = frozenset()  # events a traveller has asked to correct (case open)


def unsettled_links(
    store: EventStore, kind_of: dict[str, str] | None = None, *, persons: Collection[str] | None = None,
    events_of: Mapping[str, list[str]] | None = None,
) -> UnsettledLinks:
    """Read the open review queue against the current identities (for these ``persons`` only, when given;
    ``events_of``: their event ids, when the caller has read them already).

    An open item asks whether two persons are one (the queue holds one question per pair of
    persons), so every exit record of the other person is a possible departure until it is answered.
    """
    if persons is None:
        open_items = store.review_items(status="open")
    else:
        own = events_of if events_of is not None else store.events_of_persons(persons)
        open_items = store.review_items_touching(e for person in persons for e in own.get(person, ()))
    assignments = store.assignments_for({e for item in open_items for e in (item.event_id_l, item.event_id_r)})
    within: set[str] = set()
    questions: dict[str, dict[str, float]] = defaultdict(dict)  # person -> other person -> strongest open link
    for item in open_items:
        left, right = assignments.get(item.event_id_l), assignments.get(item.event_id_r)
        if left is None or right is None:
            continue
        if left.person_id == right.person_id:
            within.update((item.event_id_l, item.event_id_r))
            continue
        for this, other in ((left.person_id, right.person_id), (right.person_id, left.person_id)):
            questions[this][other] = max(questions[this].get(other, 0.0), item.match_probability)
    if persons is not None:
        questions = defaultdict(dict, {person: questions[person] for person in persons if person in questions})
    others = {other for asked in questions.values() for other in asked}
    events_of = store.events_of_persons(sorted(others))  # one query, not one per person
    if kind_of is None:
        wanted = [e for person in others for e in events_of[person]]
        kind_of = {e.event_id: e.kind for e in store.events_by_id(wanted)}
    elsewhere: dict[str, list[tuple[str, float]]] = {}
    for person, asked in questions.items():
        exits = [
            (event_id, probability)
            for other, probability in asked.items()
            for event_id in events_of[other]
            if kind_of.get(event_id) in EXIT_KINDS
        ]
        if exits:
            elsewhere[person] = exits
    disputed = frozenset(c.event_id for c in store.cases("open") if c.event_id)
    return UnsettledLinks(frozenset(within), elsewhere, disputed)


def hold_for_dispute(stay: StayDetermination, disputed: frozenset[str]) -> StayDetermination:
    """While a traveller's correction request about a record of the stay is open, it is not called an overstay."""
    involved = {stay.arrival_event_id, *(e.event_id for e in stay.evidence)} & disputed
    if stay.status is not Status.OVERSTAY or not involved:
        return stay
    step = f"the traveller disputes {', '.join(sorted(involved))} (correction case open) → needs_review instead of overstay"
    return dataclasses.replace(stay, status=Status.NEEDS_REVIEW, overstay_days=0, steps=stay.steps + (step,),
                               held_because=HeldBecause.DISPUTED)


def hold_for_review(
    stay: StayDetermination, candidates: list[tuple[str, float]], events_by_id: dict[str, Event], arrival_on: date
) -> StayDetermination:
    """An overstay with a possible (unreviewed) departure of 'another person' after the arrival needs review."""
    if stay.status is not Status.OVERSTAY:
        return stay
    later = [(eid, p) for eid, p in candidates if eid in events_by_id and events_by_id[eid].occurred_on >= arrival_on]
    if not later:
        return stay
    later.sort(key=lambda item: -item[1])
    steps = stay.steps + tuple(
        f"possible departure {eid} on {events_by_id[eid].occurred_on}: whether its traveller is this one awaits clerical "
        f"review (strongest link {p:.2f}) → needs_review instead of overstay"
        for eid, p in later
    )
    evidence = stay.evidence + tuple(
        EvidenceEvent(eid, events_by_id[eid].kind, events_by_id[eid].source, events_by_id[eid].occurred_on, p) for eid, p in later
    )
    return dataclasses.replace(
        stay,
        status=Status.NEEDS_REVIEW,
        overstay_days=0,
        steps=steps,
        evidence=evidence,
        uncertain_links=stay.uncertain_links + tuple(eid for eid, _ in later),
        held_because=HeldBecause.IDENTITY_LINK,
    )


def determine_person(
    rules: RulePack,
    person_id: str,
    events: list[Event],
    as_of: date,
    *,
    probabilities: Mapping[str, float],
    unsettled: UnsettledLinks,
    events_by_id: Mapping[str, Event],
) -> list[StayDetermination]:
    """One person's stays: the rule pack on the events in effect, then the hold for unreviewed departures.

    ``events_by_id`` must hold the person's events and the exit events named in ``unsettled`` for them.
    """
    stays = rules.determine_person_stays(
        person_id,
        effective_events(events),
        as_of,
        link_probabilities=probabilities,
        uncertain_event_ids=unsettled.within_person,
    )
    if unsettled.disputed:
        stays = [hold_for_dispute(s, unsettled.disputed) for s in stays]
    candidates = unsettled.exits_elsewhere.get(person_id)
    if not candidates:
        return stays
    return [hold_for_review(s, candidates, events_by_id, events_by_id[s.arrival_event_id].occurred_on) for s in stays]


def determine_stays(store: EventStore, as_of: date, *, pack: str = "us") -> Iterator[StayDetermination]:
    """Stays of every resolved person as of ``as_of``, ordered by person then arrival.

    Persons are read a table of a few hundred thousand events at a time (``resolved_events_by_person``): Python
    objects for ten million events would not fit in memory; the open review queue's exits are read once.
    """
    rules = get_pack(pack)
    unsettled = unsettled_links(store)
    named = {event_id for exits in unsettled.exits_elsewhere.values() for event_id, _ in exits}
    exits_named = {e.event_id: e for e in store.events_by_id(sorted(named))}
    for table in store.resolved_events_by_person():
        persons = table.column("person_id").to_pylist()
        linked = table.column("link_probability").to_pylist()
        groups: dict[str, list[Event]] = defaultdict(list)
        probabilities: dict[str, float] = {}
        for event, person, probability in zip(table_to_events(table), persons, linked):
            groups[person].append(event)
            if probability is not None:
                probabilities[event.event_id] = probability
        events_by_id = {**exits_named, **{e.event_id: e for events in groups.values() for e in events}}
        for person_id in groups:  # in ascending order, as the store gives them
            yield from determine_person(
                rules, person_id, groups[person_id], as_of,
                probabilities=probabilities, unsettled=unsettled, events_by_id=events_by_id,
            )
