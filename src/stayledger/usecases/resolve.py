"""Use case: resolve identities — which events are the same person — and keep person ids stable."""

from __future__ import annotations

from dataclasses import dataclass, field

from stayledger.identity.deterministic import cluster_by_keys
from stayledger.identity.person_ids import assign_person_ids
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore, IdentityAssignment, ResolutionRun


@dataclass
class ResolveReport:
    method: str
    events: int
    persons: int
    merges: int
    splits: int
    run_id: int
    notes: list[str] = field(default_factory=list)


def unresolved_count(store: EventStore) -> int:
    """Events in the ledger that no resolution run has assigned to a person yet."""
    return store.event_count() - len(store.identity_assignments())


def resolve_identities(store: EventStore, *, full: bool = False) -> ResolveReport:
    """Cluster all events into persons and store the assignment with stable person ids."""
    notes: list[str] = []
    table = store.events_table()
    events = list(table_to_events(table))
    cluster_of = cluster_by_keys(events)
    link_probability: dict[str, float | None] = {}
    method = "deterministic-keys"
    notes.append("linked by exact document-number + nationality keys (provisional resolver)")
    # Ids survive every run, --full included: the previous assignment is what stability is measured against.
    previous = {a.event_id: a.person_id for a in store.identity_assignments().values()}
    assignment = assign_person_ids(cluster_of, previous, reason=f"{method} run")
    assignments = [
        IdentityAssignment(event_id, person_id, link_probability.get(event_id))
        for event_id, person_id in assignment.person_of.items()
    ]
    merges = sum(1 for c in assignment.changes if c.change == "merge")
    splits = len(assignment.changes) - merges
    persons = len(set(assignment.person_of.values()))
    run = ResolutionRun(method, None, len(events), persons, merges, splits)
    run_id = store.replace_identities(assignments, assignment.changes, run)
    return ResolveReport(method, len(events), persons, merges, splits, run_id, notes)
