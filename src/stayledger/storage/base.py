"""The narrow storage interface every backend implements (DuckDB now, PostgreSQL later, a fake for tests).

The event log is append-only: there is no verb that changes or removes an event. Corrections are new
events. Derived data (identities, stays) is replaced wholesale by the use cases that compute it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Sequence

import pyarrow as pa

from stayledger.domain.events import Event
from stayledger.storage.arrow_events import events_to_table


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A record that could not be accepted, kept with its raw text and the reasons."""

    origin: str  # file name or feed the record came from
    location: str  # e.g. "line 17" or "row 4"
    raw: str
    reasons: str
    event_id: str | None = None

    @property
    def quarantine_id(self) -> str:
        """Deterministic key, so that re-running the same ingest quarantines nothing twice."""
        digest = hashlib.blake2b(
            "\x1f".join((self.origin, self.location, self.raw, self.reasons)).encode("utf-8", "surrogateescape"),
            digest_size=12,
        )
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredQuarantine:
    entry: QuarantineEntry
    quarantined_at: datetime


@dataclass(slots=True)
class AppendOutcome:
    """What one atomic append did."""

    added: int = 0
    duplicates: int = 0  # identical to an event already in the ledger: a no-op
    conflicts: list[QuarantineEntry] = field(default_factory=list)  # same event_id, different content
    quarantined: int = 0  # entries newly written to quarantine (conflicts included)


# Columns an append batch carries beside EVENT_SCHEMA: where each record came from, kept for conflicts.
BATCH_PROVENANCE = ("origin", "location", "raw")


def make_batch(events: Sequence[Event], origins: Sequence[str], locations: Sequence[str], raws: Sequence[str]) -> pa.Table:
    """An append batch: validated events in EVENT_SCHEMA plus their provenance columns."""
    table = events_to_table(events)
    for name, values in zip(BATCH_PROVENANCE, (origins, locations, raws)):
        table = table.append_column(name, pa.array(values, pa.string()))
    return table


@dataclass(frozen=True, slots=True)
class IdentityAssignment:
    event_id: str
    person_id: str
    link_probability: float | None  # probability of the link that joined the event; None when alone or by key


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """A merge or split of persons between two resolution runs, with its reason."""

    change: str  # "merge" | "split"
    person_id: str  # the id that survives (merge) or the id that was split
    other_person_id: str  # the id merged away (merge) or the new id split off (split)
    events_moved: int
    reason: str


@dataclass(frozen=True, slots=True)
class ResolutionRun:
    method: str  # e.g. "deterministic-keys" or "splink"
    model_version: str | None
    events: int
    persons: int
    merges: int
    splits: int


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A grey-zone link awaiting (or having had) a human decision."""

    event_id_l: str
    event_id_r: str
    match_probability: float
    status: str = "open"  # open | accepted | rejected
    decided_by: str | None = None
    note: str | None = None


def conflict_entry(event_id: str, origin: str, location: str, raw: str, existing_hint: str) -> QuarantineEntry:
    return QuarantineEntry(
        origin=origin,
        location=location,
        raw=raw,
        reasons=f"event_id: conflict: {event_id!r} is already {existing_hint} with different content",
        event_id=event_id,
    )


class EventStore(ABC):
    """Verbs the use cases need; nothing more."""

    # --- event log -------------------------------------------------------------------------
    @abstractmethod
    def append_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        """Atomically append a batch (see ``make_batch``) and quarantine entries.

        An event whose event_id is known with identical content is a duplicate (no-op); with different content
        it is quarantined as a conflict. Either everything in the call is stored or nothing is.
        """

    @abstractmethod
    def event_count(self) -> int: ...

    @abstractmethod
    def events_table(self) -> pa.Table:
        """All events in append order, in ``EVENT_SCHEMA``."""

    @abstractmethod
    def events_by_id(self, event_ids: Iterable[str]) -> list[Event]: ...

    @abstractmethod
    def quarantine_entries(self, limit: int | None = None) -> list[StoredQuarantine]: ...

    @abstractmethod
    def quarantine_count(self) -> int: ...

    # --- identities ------------------------------------------------------------------------
    @abstractmethod
    def identity_assignments(self) -> dict[str, IdentityAssignment]: ...

    @abstractmethod
    def replace_identities(
        self, assignments: Sequence[IdentityAssignment], changes: Sequence[IdentityChange], run: ResolutionRun
    ) -> int:
        """Store a resolution run's result atomically; returns the run number."""

    @abstractmethod
    def identity_changes(self) -> list[IdentityChange]: ...

    @abstractmethod
    def person_event_ids(self, person_id: str) -> list[str]: ...

    # --- linkage models --------------------------------------------------------------------
    @abstractmethod
    def save_model(self, model_json: str, description: str) -> int:
        """Store a trained linkage model; returns its version number."""

    @abstractmethod
    def latest_model(self) -> tuple[int, str] | None:
        """(version, model_json) of the newest model, or None."""

    # --- clerical review -------------------------------------------------------------------
    @abstractmethod
    def add_review_items(self, items: Sequence[ReviewItem]) -> int:
        """Queue grey-zone links not already queued or decided; returns how many were new."""

    @abstractmethod
    def review_items(self, status: str | None = None) -> list[ReviewItem]: ...

    @abstractmethod
    def decide_review(self, event_id_l: str, event_id_r: str, status: str, decided_by: str, note: str | None) -> None: ...

    # --- accountability --------------------------------------------------------------------
    @abstractmethod
    def log_lookup(self, actor: str, purpose: str, subject: str) -> None:
        """Record an individual lookup (who, why, what) — every per-person view is logged."""

    @abstractmethod
    def lookup_log(self) -> list[tuple[datetime, str, str, str]]: ...

    # --- retention ---------------------------------------------------------------------------
    @abstractmethod
    def erase_events(self, event_ids: Sequence[str], reason: str) -> int:
        """Erase events past their retention period, with what derives from them; log only the count.

        The one deletion the ledger allows: retention limits are law, and erasure is recorded (when, how
        many, why) without keeping anything about the persons erased.
        """

    @abstractmethod
    def erasure_log(self) -> list[tuple[datetime, int, str]]: ...

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release resources."""
