"""Use case: determine every stay's status as of a date, with the identity links it relies on.

Uncertain identity links never yield a verdict against a person: an overstay for which an unlinked
departure record sits in the review queue (a grey-zone link nobody has decided) becomes ``needs_review``,
with that candidate named in the evidence.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict, deque
from concurrent.futures import Future
from datetime import date
from typing import Callable, Collection, Iterator, Mapping, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.bulk_objects import cycle_collector_paused
from stayledger.domain.events import Event
from stayledger.domain.stays import StayDetermination
from stayledger.rules import get_pack
from stayledger.rules.determination import (  # noqa: F401 - re-exported: the per-person part lives in the pure core
    UnsettledLinks,
    determine_person,
    hold_for_dispute,
    hold_for_review,
)
from stayledger.storage.arrow_events import EVENT_SCHEMA, table_to_events
from stayledger.storage.arrow_stays import stays_to_table
from stayledger.storage.base import EventStore, ReviewItem
from stayledger.worker_processes import worker_pool

T = TypeVar("T")
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


def unsettled_links(
    store: EventStore, kind_of: dict[str, str] | None = None, *, persons: Collection[str] | None = None,
    events_of: Mapping[str, list[str]] | None = None,
    touching: tuple[list[ReviewItem], frozenset[str]] | None = None,
) -> UnsettledLinks:
    """Read the open review queue against the current identities (for these ``persons`` only, when given;
    ``events_of``: their event ids, when the caller has read them already; ``touching``: the review items and
    disputed events touching them, when the caller has read those too, ``review_and_cases_touching``).

    An open item asks whether two persons are one (the queue holds one question per pair of
    persons), so every exit record of the other person is a possible departure until it is answered.
    """
    if persons is None:
        open_items = store.review_items(status="open")
        disputed = frozenset(c.event_id for c in store.cases("open") if c.event_id)
    else:
        if touching is None:
            own = events_of if events_of is not None else store.events_of_persons(persons)
            touching = store.review_and_cases_touching(e for person in persons for e in own.get(person, ()))
        open_items = [item for item in touching[0] if item.status == "open"]
        disputed = touching[1]  # a stay rests on its person's events only (determination.hold_for_dispute)
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
    return UnsettledLinks(frozenset(within), elsewhere, disputed)


def determine_stays(store: EventStore, as_of: date, *, pack: str = "us") -> Iterator[StayDetermination]:
    """Stays of every resolved person as of ``as_of``, ordered by person then arrival.

    Persons are read a table of a few hundred thousand events at a time (``resolved_events_by_person``): Python
    objects for ten million events would not fit in memory; the open review queue's exits are read once.
    """
    unsettled, exits_named = _review_context(store)
    for table in store.resolved_events_by_person():
        yield from _stays_of_table(table, as_of, pack, unsettled, exits_named)


def map_stays(
    store: EventStore, as_of: date, render: Callable[[list[StayDetermination]], T], *, pack: str = "us",
    workers: int | None = None, rows_per_table: int = 250_000,
) -> Iterator[T]:
    """``render`` of each table's worth of ``determine_stays``, in the same order, determined in ``workers`` worker
    processes when the ledger is large (a module-level ``render`` whose result is cheap to send back: text, Arrow;
    sending the determinations themselves would cost more than making them)."""
    unsettled, exits_named = _review_context(store)
    tables = store.resolved_events_by_person(rows_per_table)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    head = list(itertools.islice(tables, 2))
    if workers < 2 or len(head) < 2:  # one table: worker processes would only add their start-up
        yield from (_render_stays_of_table(t, as_of, pack, unsettled, exits_named, render) for t in itertools.chain(head, tables))
        return
    pending: deque[Future[T]] = deque()
    # The review context goes to each worker once, not with each table: it grows with the review queue (at 10M
    # events, 77,606 open items: tens of MB, pickled and unpickled some 40 times).
    with worker_pool(workers, _keep_review_context, (unsettled, exits_named)) as pool:
        try:
            for table in itertools.chain(head, tables):
                pending.append(pool.submit(_render_stays_of_table_in_worker, table, as_of, pack, render))
                if len(pending) > workers * 2:  # bounded: each waiting table holds its events
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _review_context(store: EventStore) -> tuple[UnsettledLinks, dict[str, Event]]:
    """The open review queue's unsettled links, and the exits it names as possible departures of other persons."""
    unsettled = unsettled_links(store)
    named = {event_id for exits in unsettled.exits_elsewhere.values() for event_id, _ in exits}
    return unsettled, {e.event_id: e for e in store.events_by_id(sorted(named))}


# In a worker process of map_stays: the open review queue's context, sent once (see _keep_review_context).
_worker_review_context: tuple[UnsettledLinks, dict[str, Event]] | None = None


def _keep_review_context(unsettled: UnsettledLinks, exits_named: dict[str, Event]) -> None:
    global _worker_review_context
    _worker_review_context = (unsettled, exits_named)


def _render_stays_of_table_in_worker(
    table: pa.Table, as_of: date, pack: str, render: Callable[[list[StayDetermination]], T]
) -> T:
    assert _worker_review_context is not None, "a map_stays worker starts with _keep_review_context"
    return _render_stays_of_table(table, as_of, pack, *_worker_review_context, render)


def _render_stays_of_table(
    table: pa.Table, as_of: date, pack: str, unsettled: UnsettledLinks, exits_named: dict[str, Event],
    render: Callable[[list[StayDetermination]], T],
) -> T:
    with cycle_collector_paused():  # rendering makes as many objects again
        return render(_stays_of_table(table, as_of, pack, unsettled, exits_named))


def _stays_of_table(
    table: pa.Table, as_of: date, pack: str, unsettled: UnsettledLinks, exits_named: Mapping[str, Event]
) -> list[StayDetermination]:
    """The stays of the persons whose resolved events (all of them, grouped by person) this table holds."""
    with cycle_collector_paused():
        return _determine_table(table, as_of, pack, unsettled, exits_named)[0]


def _determine_table(
    table: pa.Table, as_of: date, pack: str, unsettled: UnsettledLinks, exits_named: Mapping[str, Event]
) -> tuple[list[StayDetermination], dict[str, Event]]:
    """``_stays_of_table``, and the events (the persons' own and ``exits_named``) by id.

    Called with the garbage collector paused: a table's events and stays are hundreds of thousands of objects and
    no cycles, and each full collection walks all of them (half the CPU time for 1M events in one table)."""
    rules = get_pack(pack)
    events = list(table_to_events(table))
    event_ids = [event.event_id for event in events]
    scored = table.select(["event_id", "link_probability"])
    scored = scored.filter(pc.is_valid(scored.column("link_probability")))
    probabilities = dict(zip(scored.column("event_id").to_pylist(), scored.column("link_probability").to_pylist()))
    events_by_id = dict(exits_named)
    events_by_id.update(zip(event_ids, events))
    persons, starts = _person_runs(table.column("person_id"))
    stays: list[StayDetermination] = []
    for person_id, start, end in zip(persons, starts, starts[1:]):  # in ascending order, as the store gives them
        stays += determine_person(
            rules, person_id, events[start:end], as_of,
            probabilities=probabilities, unsettled=unsettled, events_by_id=events_by_id,
        )
    return stays, events_by_id


def _person_runs(persons: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    """The persons of a column in which each person's rows are together, and where each one's rows start (then the
    column's length)."""
    n = len(persons)
    if not n:
        return [], [0]
    column = persons.combine_chunks()
    changes = pc.indices_nonzero(pc.not_equal(column.slice(1), column.slice(0, n - 1)))
    starts = [0, *(pc.add(changes, 1).to_pylist())]
    return column.take(pa.array(starts)).to_pylist(), [*starts, n]


def _stays_table_of_table(
    table: pa.Table, as_of: date, pack: str, unsettled: UnsettledLinks, exits_named: Mapping[str, Event]
) -> pa.Table:
    with cycle_collector_paused():
        stays, events_by_id = _determine_table(table, as_of, pack, unsettled, exits_named)
        return stays_to_table(stays, {s.arrival_event_id: events_by_id[s.arrival_event_id].occurred_on for s in stays})


def determine_stays_table(store: EventStore, as_of: date, *, pack: str = "us") -> pa.Table:
    """``determine_stays`` as a table in STAYS_SCHEMA (snapshot order), with each stay's arrival date."""
    unsettled, exits_named = _review_context(store)
    parts = [_stays_table_of_table(table, as_of, pack, unsettled, exits_named) for table in store.resolved_events_by_person()]
    return pa.concat_tables(parts) if parts else stays_to_table([], {})


# --- stays elsewhere (Spark): each person's inputs as rows, determined by the same determine_person ---------------

# Columns of the stay inputs beside the event's own (EVENT_SCHEMA). A row is either one of the person's events
# (candidate_rank null) or an exit of another person that the open review queue makes a possible departure of
# this one (candidate_rank: its place in the person's candidate list, whose order the hold's wording follows).
STAY_INPUT_COLUMNS = pa.schema([
    pa.field("person_id", pa.string(), nullable=False),
    pa.field("position", pa.int64(), nullable=False),  # append order in the ledger
    pa.field("link_probability", pa.float64()),  # of the link that joined the event to the person
    pa.field("uncertain", pa.bool_(), nullable=False),  # joined only through an unreviewed grey-zone link
    pa.field("disputed", pa.bool_(), nullable=False),  # a traveller's correction case about it is open
    pa.field("candidate_rank", pa.int32()),
    pa.field("candidate_probability", pa.float64()),  # strongest open link between the two persons
])
STAY_INPUT_SCHEMA = pa.schema([*EVENT_SCHEMA, *STAY_INPUT_COLUMNS])


def stay_inputs(store: EventStore) -> pa.Table:
    """Everything ``determine_person`` needs for every resolved person, as rows (STAY_INPUT_SCHEMA): the
    person's events with their link probability, unreviewed-link and dispute marks, and the possible departures
    the open review queue names for them. Columnar: no event becomes a Python object here."""
    events = store.events_table()
    assignments = store.identity_assignments()
    found = [assignments.get(event_id) for event_id in events.column("event_id").to_pylist()]
    unsettled = unsettled_links(store)
    event_ids = events.column("event_id")
    own = events.append_column(STAY_INPUT_COLUMNS.field("person_id").with_nullable(True),
                               pa.array([a.person_id if a else None for a in found], pa.string()))
    own = own.append_column(STAY_INPUT_COLUMNS.field("position"), pa.array(range(events.num_rows), pa.int64()))
    own = own.append_column(STAY_INPUT_COLUMNS.field("link_probability"),
                            pa.array([a.link_probability if a else None for a in found], pa.float64()))
    own = own.append_column(STAY_INPUT_COLUMNS.field("uncertain"),
                            pc.is_in(event_ids, pa.array(sorted(unsettled.within_person), pa.string())))
    own = own.append_column(STAY_INPUT_COLUMNS.field("disputed"),
                            pc.is_in(event_ids, pa.array(sorted(unsettled.disputed), pa.string())))
    own = own.append_column(STAY_INPUT_COLUMNS.field("candidate_rank"), pa.nulls(own.num_rows, pa.int32()))
    own = own.append_column(STAY_INPUT_COLUMNS.field("candidate_probability"), pa.nulls(own.num_rows, pa.float64()))
    own = own.filter(pc.is_valid(own.column("person_id")))  # not resolved yet: the caller resolves first

    asking = [(person, event_id, rank, p) for person, exits in unsettled.exits_elsewhere.items()
              for rank, (event_id, p) in enumerate(exits)]
    rows = pc.index_in(pa.array([event_id for _, event_id, _, _ in asking], pa.string()), value_set=event_ids)
    candidates = events.take(rows)
    for name, values in (("person_id", [person for person, *_ in asking]),
                         ("position", pc.cast(rows, pa.int64())),
                         ("link_probability", pa.nulls(len(asking), pa.float64())),
                         ("uncertain", [False] * len(asking)),
                         ("disputed", [False] * len(asking)),
                         ("candidate_rank", [rank for _, _, rank, _ in asking]),
                         ("candidate_probability", [p for *_, p in asking])):
        field = STAY_INPUT_COLUMNS.field(name)
        candidates = candidates.append_column(field, pa.array(values, field.type) if isinstance(values, list) else values)
    return pa.concat_tables([own.cast(STAY_INPUT_SCHEMA), candidates.cast(STAY_INPUT_SCHEMA)])


def determine_from_inputs(inputs: pa.Table, as_of: date, *, pack: str = "us") -> pa.Table:
    """The stays (STAYS_SCHEMA, snapshot order) of the persons whose stay inputs these rows are; every row of a
    person must be here. Each person is determined by ``determine_person``, exactly as ``determine_stays`` does."""
    return stays_to_table(*_determine_rows(inputs, as_of, pack))


def _determine_rows(inputs: pa.Table, as_of: date, pack: str) -> tuple[list[StayDetermination], dict[str, date]]:
    rules = get_pack(pack)
    ordered = inputs.sort_by([("person_id", "ascending"), ("candidate_rank", "ascending"), ("position", "ascending")])
    persons = ordered.column("person_id").to_pylist()
    probability = ordered.column("link_probability").to_pylist()
    uncertain = ordered.column("uncertain").to_pylist()
    disputed = ordered.column("disputed").to_pylist()
    rank = ordered.column("candidate_rank").to_pylist()
    candidate_p = ordered.column("candidate_probability").to_pylist()
    events = list(table_to_events(ordered))
    stays: list[StayDetermination] = []
    arrived_on: dict[str, date] = {}
    start = 0
    while start < len(events):
        person_id = persons[start]
        end = start
        while end < len(events) and persons[end] == person_id:
            end += 1
        # Candidates by rank, then the person's own events (no rank; Arrow sorts nulls last) in append order.
        own = [i for i in range(start, end) if rank[i] is None]
        asked = [i for i in range(start, end) if rank[i] is not None]
        own_events = [events[i] for i in own]
        unsettled = UnsettledLinks(
            within_person=frozenset(events[i].event_id for i in own if uncertain[i]),
            exits_elsewhere={person_id: [(events[i].event_id, candidate_p[i]) for i in asked]} if asked else {},
            disputed=frozenset(events[i].event_id for i in own if disputed[i]),
        )
        by_id = {events[i].event_id: events[i] for i in range(start, end)}
        person_stays = determine_person(
            rules, person_id, own_events, as_of,
            probabilities={events[i].event_id: probability[i] for i in own if probability[i] is not None},
            unsettled=unsettled, events_by_id=by_id,
        )
        for stay in person_stays:
            arrived_on[stay.arrival_event_id] = by_id[stay.arrival_event_id].occurred_on
        stays.extend(person_stays)
        start = end
    return stays, arrived_on
