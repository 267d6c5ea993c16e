"""Use case: look up one person — their events and stays — as an audited operation (who, why, whom)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.corrections import superseded_ids
from stayledger.domain.events import Event
from stayledger.domain.stays import Status, StayDetermination
from stayledger.errors import NotFound
from stayledger.rules import get_pack
from stayledger.storage.base import EventStore, ReviewItem
from stayledger.usecases.accountability import operation
from stayledger.usecases.stays import determine_person, unsettled_links


@dataclass(frozen=True)
class PersonView:
    person_id: str
    events: list[tuple[Event, float | None]]  # each event with the link probability that joined it
    superseded: frozenset[str]  # events replaced by a correction (shown, not used)
    stays: list[StayDetermination]
    near_misses: dict[str, list["NearMiss"]]  # arrival event id -> unlinked exits closest to it (overstays only)
    # Per issuer with two or more numbers: the numbers in order of use, renewals or alternating.
    document_history: list[str] = field(default_factory=list)


def look_up_person(store: EventStore, ctx: AccessContext, person_id: str, as_of: date, *, pack: str = "us") -> PersonView:
    """The person's timeline and stay determinations; nothing is returned before the lookup's entry is committed."""
    with operation(store, ctx, Action.VIEW_PERSON, person_id=person_id) as op:
        view = _person_view(store, person_id, as_of, pack)
        op.note(event_ids=[event.event_id for event, _ in view.events],
                near_misses=[m.event_id for misses in view.near_misses.values() for m in misses])
        return view


def find_persons_by_document(
    store: EventStore, ctx: AccessContext, document_number: str, document_issuer: str | None = None
) -> list[str]:
    """Persons holding records of this document (number compared OCR-folded: O/0, I/1; issuer exact when given).

    The audit entry names the persons found, not the document number.
    """
    from stayledger.identity.normalise import ocr_canonical

    with operation(store, ctx, Action.VIEW_PERSON, by="document") as op:
        found = [e for e in store.events_by_document(ocr_canonical(document_number))
                 if not document_issuer or (e.document_issuer or e.nationality) == document_issuer.upper()]
        assignments = store.assignments_for(e.event_id for e in found)
        persons = sorted({a.person_id for a in assignments.values()})
        op.note(person_ids=persons)
        return persons


def person_stays(store: EventStore, person_id: str, as_of: date, pack: str = "us") -> list[StayDetermination]:
    """One person's stay determinations (a step of other operations; no near-miss search)."""
    return _person_stays(store, person_id, as_of, pack)[1]


def persons_stays(store: EventStore, person_ids: list[str], as_of: date, pack: str = "us") -> dict[str, list[StayDetermination]]:
    """Several persons' stay determinations, read together (a step of other operations)."""
    return {person: stays for person, (_, stays) in persons_records_and_stays(store, person_ids, as_of, pack).items()}


def _person_stays(
    store: EventStore, person_id: str, as_of: date, pack: str
) -> tuple[list[tuple[Event, float | None]], list[StayDetermination]]:
    return persons_records_and_stays(store, [person_id], as_of, pack)[person_id]


def persons_records_and_stays(
    store: EventStore, person_ids: list[str], as_of: date, pack: str
) -> dict[str, tuple[list[tuple[Event, float | None]], list[StayDetermination]]]:
    """Each person's events (with the probability of the link that joined each) and stays; one read for all
    (a step of other operations)."""
    persons = list(dict.fromkeys(person_ids))
    records_of = store.persons_events(persons)  # one read: events, their links' probabilities
    missing = [person for person in persons if not records_of.get(person)]
    if missing:
        raise NotFound(f"no person {missing[0]!r} (run `stayledger resolve` first, or check the id)")
    return stays_of_records(store, records_of, as_of, pack)


def stays_of_records(
    store: EventStore, records_of: dict[str, list[tuple[Event, float | None]]], as_of: date, pack: str,
    touching: tuple[list[ReviewItem], frozenset[str]] | None = None,
) -> dict[str, tuple[list[tuple[Event, float | None]], list[StayDetermination]]]:
    """``persons_records_and_stays`` from the persons' records read already (``store.persons_events``) and, if read
    with them, the review items and disputed events touching them (``store.review_and_cases_touching``)."""
    persons = list(records_of)
    events_of = {person: [e.event_id for e, _ in records_of[person]] for person in persons}
    events_by_id = {e.event_id: e for person in persons for e, _ in records_of[person]}
    unsettled = unsettled_links(store, persons=persons, events_of=events_of, touching=touching)
    candidates = [eid for person in persons for eid, _ in unsettled.exits_elsewhere.get(person, [])]
    events_by_id.update((e.event_id, e) for e in store.events_by_id(c for c in candidates if c not in events_by_id))
    rules = get_pack(pack)
    found = {}
    for person in persons:
        events = sorted((e for e, _ in records_of[person]), key=lambda e: (e.occurred_on, e.event_id))
        probabilities = {e.event_id: p for e, p in records_of[person]}
        stays = determine_person(
            rules, person, events, as_of,
            probabilities={k: v for k, v in probabilities.items() if v is not None},
            unsettled=unsettled,
            events_by_id=events_by_id,
        )
        found[person] = ([(e, probabilities[e.event_id]) for e in events], stays)
    return found


def _person_view(store: EventStore, person_id: str, as_of: date, pack: str) -> PersonView:
    events, stays = _person_stays(store, person_id, as_of, pack)
    near = {s.arrival_event_id: nearest_unlinked_exits(store, person_id, s) for s in stays if s.status in NEAR_MISS_STATUSES}
    own = [e for e, _ in events]
    return PersonView(person_id, events, superseded_ids(own), stays, near,
                      document_history_of(own, copied=copied_number_records(store, own)))


def same_day_holders(store: EventStore, events: Iterable[Event]) -> list[Event]:
    """Other records of the day and kind of one of ``events`` that carry its document number: what shows that
    a booking copied a number onto several travellers (the number then weighs nothing, ``placeholders``)."""
    from stayledger.identity.deterministic import document_key

    events = list(events)
    shown = {e.event_id for e in events}
    wanted = {(document_key(e.document_number), e.occurred_on, e.kind) for e in events if e.document_number}
    found: dict[str, Event] = {}
    for key in sorted({k for k, _, _ in wanted if k}):
        for other in store.events_by_document(key):
            if other.event_id not in shown and (key, other.occurred_on, other.kind) in wanted:
                found.setdefault(other.event_id, other)
    return list(found.values())


def copied_number_records(store: EventStore, events: Iterable[Event]) -> frozenset[str]:
    """The ids of ``events`` whose number a booking copied onto several travellers' records of one day."""
    from stayledger.identity.placeholders import copied_document_records, first_given_key

    events = list(events)
    everyone = events + same_day_holders(store, events)
    copied = copied_document_records(
        (e.event_id, e.document_number, e.kind, e.occurred_on, first_given_key(e.given_names), e.date_of_birth)
        for e in everyone
    )
    return copied & {e.event_id for e in events}


def document_history_of(events: Iterable[Event], *, copied: frozenset[str] = frozenset()) -> list[str]:
    """How a person's documents of each issuer follow each other (see ``clustering.describe_document_history``);
    ``copied``: records whose number a booking copied (left out, as the linkage leaves them out)."""
    from stayledger.identity.clustering import IdentityKeys, describe_document_history, document_format
    from stayledger.identity.placeholders import discounted_document_reason
    from stayledger.identity.normalise import normalise_document_number, ocr_canonical

    return describe_document_history(
        IdentityKeys(ocr_canonical(e.document_number), e.date_of_birth, e.surname, e.document_issuer or e.nationality,
                     e.occurred_on.isoformat(), document_format(normalise_document_number(e.document_number)))
        for e in events
        if e.document_number and e.event_id not in copied and discounted_document_reason(e.document_number) is None
    )


@dataclass(frozen=True)
class NearMiss:
    """An exit record of someone else that might be this traveller's departure, and why it was not linked."""

    event_id: str
    kind: str
    occurred_on: date
    probability: float
    against: tuple[str, ...]  # the comparisons that spoke against the link, e.g. "nationality: different (-6.5)"


NEAR_MISS_LIMIT = 3
NEAR_MISS_STATUSES = frozenset({Status.OVERSTAY, Status.NEEDS_REVIEW})
NEAR_MISS_FLOOR = 1e-6  # candidates scored below this are noise, not near misses


def nearest_unlinked_exits(
    store: EventStore, person_id: str, stay: StayDetermination, *, limit: int = NEAR_MISS_LIMIT
) -> list[NearMiss]:
    """Exit records after the arrival, held by other persons, that the linkage model finds closest.

    A near miss is the most common cause of a wrongful overstay flag, so it is shown beside every
    overstay. Candidates share the birth year or the OCR-normalised document number with the arrival.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from stayledger.identity.deterministic import document_key
    from stayledger.identity.model import LinkageModel
    from stayledger.identity.pair_scores import explain_pair, score_candidates
    from stayledger.storage.arrow_events import events_to_table

    latest = store.latest_model()
    arrival = store.events_by_id([stay.arrival_event_id])
    if latest is None or not arrival:
        return []
    model = LinkageModel.from_json(latest[1])
    arrival_event = arrival[0]
    events = store.events_table()
    own = set(store.person_event_ids(person_id))
    exits = events.filter(
        pc.and_(
            pc.is_in(events.column("kind"), pa.array(["departure", "departure_report"])),
            pc.greater_equal(events.column("occurred_on"), pa.scalar(arrival_event.occurred_on)),
        )
    )
    same_year = pc.starts_with(exits.column("date_of_birth"), arrival_event.date_of_birth[:4])
    mask = same_year
    if arrival_event.document_number:
        wanted = document_key(arrival_event.document_number)
        doc_keys = pa.array([document_key(d) if d else "" for d in exits.column("document_number").to_pylist()])
        mask = pc.or_(mask, pc.equal(doc_keys, wanted))
    candidates = exits.filter(mask)
    candidates = candidates.filter(pc.invert(pc.is_in(candidates.column("event_id"), pa.array(sorted(own), pa.string()))))
    if candidates.num_rows == 0:
        return []
    scored = score_candidates(events_to_table([arrival_event]), candidates, model)[:limit]
    by_id = {e.event_id: e for e in store.events_by_id([eid for eid, _ in scored])}
    misses = []
    for event_id, probability in scored:
        if probability < NEAR_MISS_FLOOR:
            continue
        other = by_id[event_id]
        explanation = explain_pair(arrival_event.to_record(), other.to_record(), model)
        against = tuple(
            f"{c.name}: {c.level} ({c.match_weight:+.1f})" for c in explanation.comparisons if c.match_weight < 0
        )
        misses.append(NearMiss(event_id, other.kind, other.occurred_on, probability, against))
    return misses
