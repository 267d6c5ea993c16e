"""Use cases: explain a pair's link score, and clerical review of grey-zone links.

A decision (accept = must-link, reject = cannot-link) is kept with who made it and why, and every later
resolution run respects it. Deciding re-links at once so that statuses reflect the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stayledger.domain.events import Event
from stayledger.errors import StayledgerError
from stayledger.storage.base import EventStore, ReviewItem

if TYPE_CHECKING:
    from stayledger.identity.splink_linker import LinkageModel, PairExplanation


@dataclass(frozen=True)
class PairView:
    left: Event
    right: Event
    item: ReviewItem | None
    explanation: PairExplanation | None  # None when no model exists yet
    same_person: bool


def _latest_model(store: EventStore) -> LinkageModel | None:
    from stayledger.identity.splink_linker import LinkageModel

    latest = store.latest_model()
    return None if latest is None else LinkageModel.from_json(latest[1])


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def find_item(store: EventStore, a: str, b: str) -> ReviewItem | None:
    key = _pair_key(a, b)
    return next((i for i in store.review_items() if (i.event_id_l, i.event_id_r) == key), None)


def view_pair(store: EventStore, a: str, b: str, *, actor: str, purpose: str) -> PairView:
    """Both events, the review item if queued, and the model's explanation. The lookup is logged."""
    store.log_lookup(actor, purpose, f"pair {a} {b}")
    found = {e.event_id: e for e in store.events_by_id([a, b])}
    missing = [x for x in (a, b) if x not in found]
    if missing:
        raise StayledgerError(f"no event {', '.join(repr(m) for m in missing)} in the ledger")
    model = _latest_model(store)
    explanation = None
    if model is not None:
        from stayledger.identity.splink_linker import explain_pair

        explanation = explain_pair(found[a].to_record(), found[b].to_record(), model)
    assignments = store.identity_assignments()
    same = a in assignments and b in assignments and assignments[a].person_id == assignments[b].person_id
    return PairView(found[a], found[b], find_item(store, a, b), explanation, same)


def decide(store: EventStore, a: str, b: str, *, accept: bool, actor: str, note: str | None) -> ReviewItem:
    """Record a decision on a pair (queued or not) and re-link so that it takes effect."""
    from stayledger.usecases.resolve import resolve_identities

    if a == b:
        raise StayledgerError("a pair needs two different events")
    found = {e.event_id for e in store.events_by_id([a, b])}
    missing = [x for x in (a, b) if x not in found]
    if missing:
        raise StayledgerError(f"no event {', '.join(repr(m) for m in missing)} in the ledger")
    left, right = _pair_key(a, b)
    item = find_item(store, left, right)
    if item is None:
        store.add_review_items([ReviewItem(left, right, float("nan"))])
    status = "accepted" if accept else "rejected"
    store.decide_review(left, right, status, actor, note)
    resolve_identities(store, full=True)
    decided = find_item(store, left, right)
    assert decided is not None
    return decided
