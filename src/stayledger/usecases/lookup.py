"""Use case: look up one person — their events and stays — and log the lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stayledger.domain.corrections import effective_events, superseded_ids
from stayledger.domain.events import Event
from stayledger.domain.stays import StayDetermination
from stayledger.errors import StayledgerError
from stayledger.rules import get_pack
from stayledger.storage.base import EventStore
from stayledger.usecases.stays import uncertain_event_ids


@dataclass(frozen=True)
class PersonView:
    person_id: str
    events: list[tuple[Event, float | None]]  # each event with the link probability that joined it
    superseded: frozenset[str]  # events replaced by a correction (shown, not used)
    stays: list[StayDetermination]


def look_up_person(
    store: EventStore, person_id: str, as_of: date, *, actor: str, purpose: str, pack: str = "us"
) -> PersonView:
    """The person's timeline and stay determinations; the lookup itself is recorded first."""
    store.log_lookup(actor, purpose, f"person {person_id}")
    event_ids = store.person_event_ids(person_id)
    if not event_ids:
        raise StayledgerError(f"no person {person_id!r} (run `stayledger resolve` first, or check the id)")
    assignments = store.identity_assignments()
    events = sorted(store.events_by_id(event_ids), key=lambda e: (e.occurred_on, e.event_id))
    probabilities = {e.event_id: assignments[e.event_id].link_probability for e in events}
    stays = get_pack(pack).determine_person_stays(
        person_id,
        effective_events(events),
        as_of,
        link_probabilities={k: v for k, v in probabilities.items() if v is not None},
        uncertain_event_ids=uncertain_event_ids(store),
    )
    return PersonView(person_id, [(e, probabilities[e.event_id]) for e in events], superseded_ids(events), stays)
