"""Use cases: explain a pair's link score, and clerical review of grey-zone links.

A decision (accept = must-link, reject = cannot-link) is kept with who made it and why, and every later
resolution run respects it. A second decision on a pair is appended to its history; the latest applies.
Deciding re-links at once, in the same unit of work as the decision, so that statuses reflect it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.events import Event
from stayledger.domain.stays import HeldBecause, Status
from stayledger.errors import NotFound, StayledgerError
from stayledger.failpoints import failpoint
from stayledger.storage.base import EventStore, ReviewDecision, ReviewItem
from stayledger.usecases.accountability import operation

if TYPE_CHECKING:
    from stayledger.identity.model import LinkageModel
    from stayledger.identity.scoring import PairExplanation


@dataclass(frozen=True)
class PairView:
    left: Event
    right: Event
    item: ReviewItem | None
    explanation: PairExplanation | None  # None when no model exists yet
    same_person: bool
    history: list[ReviewDecision]  # every decision on the pair, oldest first
    # Evidence beyond the pair: how the two persons' documents follow each other in time.
    evidence: list[str] = field(default_factory=list)


def _latest_model(store: EventStore) -> LinkageModel | None:
    from stayledger.identity.model import LinkageModel

    latest = store.latest_model()
    return None if latest is None else LinkageModel.from_json(latest[1])


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def find_item(store: EventStore, a: str, b: str) -> ReviewItem | None:
    key = _pair_key(a, b)
    return next((i for i in store.review_items() if (i.event_id_l, i.event_id_r) == key), None)


def explain_pair(store: EventStore, ctx: AccessContext, a: str, b: str) -> PairView:
    """Why two events are (not) linked: both records and the model's explanation (an audited lookup)."""
    with operation(store, ctx, Action.EXPLAIN_PAIR, event_ids=[a, b]):
        return _pair_view(store, a, b)


def show_review(store: EventStore, ctx: AccessContext, a: str, b: str) -> PairView:
    """A pair for clerical review: both records, the explanation and the decision history (an audited lookup)."""
    with operation(store, ctx, Action.SHOW_REVIEW, event_ids=[a, b]):
        return _pair_view(store, a, b)


def list_review(store: EventStore, ctx: AccessContext, status: str | None = "open") -> list[ReviewItem]:
    """Review items (event ids, probabilities, decisions), strongest first."""
    with operation(store, ctx, Action.LIST_REVIEW, status=status or "all") as op:
        items = store.review_items(status)
        items.sort(key=lambda i: -(i.match_probability if i.match_probability == i.match_probability else 1.0))
        op.note(count=len(items))
        return items


@dataclass(frozen=True)
class QueuedItem:
    """An open review item and what it holds back: the stays whose status waits for its decision."""

    item: ReviewItem
    held_stays: int  # needs_review stays of either side's person that rest on this item's two persons' records


def review_queue(store: EventStore, ctx: AccessContext, as_of: date, *, pack: str = "us") -> list[QueuedItem]:
    """The open review queue, ordered by what each item holds back (stays in ``needs_review``), then strongest first.

    A stay is held by an item when its status rests on an unreviewed link (``uncertain_links``) to a record of one of
    the two persons the item asks about: deciding the item settles that stay one way or the other.
    """
    from stayledger.domain.stays import Status
    from stayledger.usecases.lookup import persons_records_and_stays

    with operation(store, ctx, Action.LIST_REVIEW, status="open", ordered_by="held_stays") as op:
        items = store.review_items("open")
        assignments = store.assignments_for({e for i in items for e in (i.event_id_l, i.event_id_r)})
        person_of = {event_id: a.person_id for event_id, a in assignments.items()}
        found = persons_records_and_stays(store, sorted(set(person_of.values())), as_of, pack)
        events_of = {p: {event.event_id for event, _ in records} for p, (records, _) in found.items()}
        stays = {p: person_stays for p, (_, person_stays) in found.items()}
        queue = []
        for item in items:
            sides = {person_of[e] for e in (item.event_id_l, item.event_id_r) if e in person_of}
            asked_about = set().union(*(events_of.get(p, set()) for p in sides))
            held = sum(1 for p in sides for s in stays.get(p, ())
                       if s.status is Status.NEEDS_REVIEW and asked_about.intersection(s.uncertain_links))
            queue.append(QueuedItem(item, held))
        strength = lambda i: i.match_probability if i.match_probability == i.match_probability else 1.0  # noqa: E731
        queue.sort(key=lambda q: (-q.held_stays, -strength(q.item), q.item.event_id_l, q.item.event_id_r))
        op.note(count=len(queue), holding=sum(1 for q in queue if q.held_stays))
        return queue


@dataclass(frozen=True)
class HeldStays:
    """How many stays are ``needs_review``, by why (each reason is settled by different work)."""

    as_of: date
    by_reason: dict[HeldBecause, int]
    open_questions: int  # the review queue's open items: answering them settles the identity_link ones

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())


def count_held_stays(store: EventStore, ctx: AccessContext, as_of: date, *, pack: str = "us") -> HeldStays:
    """Counts of ``needs_review`` stays by reason as of a day, beside the open questions (counts only, no records)."""
    from stayledger.usecases.stays import determine_stays

    with operation(store, ctx, Action.COUNT_HELD_STAYS, as_of=as_of.isoformat(), pack=pack) as op:
        counts = Counter(s.held_because for s in determine_stays(store, as_of, pack=pack)
                         if s.status is Status.NEEDS_REVIEW and s.held_because is not None)  # always set there
        by_reason = {reason: counts[reason] for reason in HeldBecause if counts[reason]}
        held = HeldStays(as_of, by_reason, len(store.review_items("open")))
        op.note(held=held.total, open_questions=held.open_questions)
        return held


def _pair_view(store: EventStore, a: str, b: str) -> PairView:
    found = {e.event_id: e for e in store.events_by_id([a, b])}
    missing = [x for x in (a, b) if x not in found]
    if missing:
        raise NotFound(f"no event {', '.join(repr(m) for m in missing)} in the ledger")
    model = _latest_model(store)
    explanation = None
    if model is not None:
        from stayledger.identity.pair_scores import explain_pair as explain_with_model
        from stayledger.usecases.lookup import same_day_holders

        context = [e.to_record() for e in same_day_holders(store, [found[a], found[b]])]
        explanation = explain_with_model(found[a].to_record(), found[b].to_record(), model, context=context)
    assignments = store.identity_assignments()
    same = a in assignments and b in assignments and assignments[a].person_id == assignments[b].person_id
    left, right = _pair_key(a, b)
    return PairView(found[a], found[b], find_item(store, a, b), explanation, same, store.review_history(left, right),
                    _document_history_evidence(store, assignments, found[a], found[b]))


def _document_history_evidence(store: EventStore, assignments: dict, a: Event, b: Event) -> list[str]:
    """Whether the documents of the persons holding ``a`` and ``b`` (or of the two events alone, when not
    yet resolved) alternate in time: one issuer's passports succeed each other, two people's alternate."""
    from stayledger.usecases.lookup import copied_number_records, document_history_of

    def person_events(event: Event) -> list[Event]:
        assigned = assignments.get(event.event_id)
        if assigned is None:
            return [event]
        ids = store.person_event_ids(assigned.person_id)
        return store.events_by_id(ids) if ids else [event]

    left, right = person_events(a), person_events(b)
    both = left + [e for e in right if e.event_id not in {x.event_id for x in left}]
    lines = document_history_of(both, copied=copied_number_records(store, both))
    return [f"the two persons together: {line}" if not _same(assignments, a, b) else line for line in lines]


def _same(assignments: dict, a: Event, b: Event) -> bool:
    return a.event_id in assignments and b.event_id in assignments and \
        assignments[a.event_id].person_id == assignments[b.event_id].person_id


def decide(store: EventStore, ctx: AccessContext, a: str, b: str, *, accept: bool, note: str | None) -> ReviewItem:
    """Record a decision on a pair (queued or not) and re-link so that it takes effect, all in one unit of work."""
    from stayledger.usecases.resolve import relink

    with operation(store, ctx, Action.DECIDE_REVIEW, event_ids=sorted((a, b)),
                   decision="accept" if accept else "reject") as op:
        if a == b:
            raise StayledgerError("a pair needs two different events")
        found = {e.event_id for e in store.events_by_id([a, b])}
        missing = [x for x in (a, b) if x not in found]
        if missing:
            raise NotFound(f"no event {', '.join(repr(m) for m in missing)} in the ledger")
        left, right = _pair_key(a, b)
        item = find_item(store, left, right)
        if item is None:
            store.add_review_items([ReviewItem(left, right, float("nan"))])
        status = "accepted" if accept else "rejected"
        previous = store.review_history(left, right)
        store.decide_review(left, right, status, ctx.actor, note)
        failpoint("review.decision_recorded")
        report = relink(store, full=True)
        failpoint("review.relinked")
        op.note(earlier_decisions=len(previous), persons=report.persons, merges=report.merges, splits=report.splits)
        decided = find_item(store, left, right)
        assert decided is not None
        return decided
