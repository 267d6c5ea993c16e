"""The narrow storage interface every backend implements (DuckDB now, PostgreSQL later, a fake for tests).

The event log is append-only: there is no verb that changes or removes an event. Corrections are new
events. Derived data (identities, stays) is replaced wholesale by the use cases that compute it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Iterator, Sequence

import pyarrow as pa

from stayledger.audit.log import AuditRecord, SealedEntry, TreeHead, seal, subjects_of, utc_now
from stayledger.audit.merkle import Frontier
from stayledger.domain.events import Event
from stayledger.storage.arrow_events import EVENT_SCHEMA, event_columns

if TYPE_CHECKING:
    from stayledger.storage.shared_state import SharedState


RESOLVED_EVENT_FIELDS = (pa.field("person_id", pa.string()), pa.field("link_probability", pa.float64()))


def tables_by_person(table: pa.Table, rows_per_table: int) -> Iterator[pa.Table]:
    """Slices of a table sorted by ``person_id`` of about ``rows_per_table`` rows, cut between two persons."""
    persons = table.column("person_id")
    start, n = 0, table.num_rows
    while start < n:
        end = min(start + rows_per_table, n)
        if end < n:
            last = persons[end - 1]
            while end < n and persons[end] == last:  # a person's events stay together (a person has few)
                end += 1
        yield table.slice(start, end - start)
        start = end


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


class EventIdsKnown(Exception):
    """``append_events_optimistically`` met an id the ledger already holds (or a repeat inside the batch). What the
    call wrote is unusable: the caller's unit of work must roll back and be redone with ``append_events``."""


# Columns an append batch carries beside EVENT_SCHEMA: where each record came from, kept for conflicts.
BATCH_PROVENANCE = ("origin", "location", "raw")
BATCH_SCHEMA = pa.schema([*EVENT_SCHEMA, *(pa.field(name, pa.string()) for name in BATCH_PROVENANCE)])


def make_batch(events: Sequence[Event], origins: Sequence[str], locations: Sequence[str], raws: Sequence[str]) -> pa.Table:
    """An append batch: validated events in EVENT_SCHEMA plus their provenance columns (BATCH_SCHEMA).

    Built in one step, not a table with columns appended: for a posted event's few rows Arrow's cost per call is
    most of the work."""
    if not events:
        return BATCH_SCHEMA.empty_table()
    columns: dict[str, Sequence[Any]] = {**event_columns(events)}
    columns.update(zip(BATCH_PROVENANCE, (origins, locations, raws)))
    return pa.Table.from_pydict(columns, schema=BATCH_SCHEMA)


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


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """One decision on a pair; a later decision on the same pair is appended, and the latest applies."""

    event_id_l: str
    event_id_r: str
    status: str  # accepted | rejected
    decided_by: str
    note: str | None
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class ErasurePlan:
    """What one retention run erases: events, what derives from them, and expired quarantine entries."""

    event_ids: Sequence[str]
    person_ids: Sequence[str]  # persons wholly erased: their identity history goes too
    quarantine_ids: Sequence[str]
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """A staff or system account of the HTTP service (the token's secret is stored only as an Argon2 hash)."""

    name: str
    role: str
    token_id: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CorrectionCase:
    """A traveller's request to correct a field of their record, and the officer's reasoned decision."""

    case_id: str
    event_id: str | None  # the record disputed; None when the identity given matched no record
    field: str
    claimed_value: str
    explanation: str
    code_hash: str
    state: str = "open"  # open | accepted | rejected
    decided_by: str | None = None
    decision_note: str | None = None
    created_at: datetime | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StaysRun:
    """One determination of every stay as of a day: the ledger keeps the newest as its stays snapshot."""

    as_of: date
    rule_pack: str
    engine: str  # what computed it: "inprocess" or "spark"
    stays: int
    run_id: int = 0  # numbered by the store
    determined_at: datetime | None = None  # from the store's clock


def conflict_entry(event_id: str, origin: str, location: str, raw: str, existing_hint: str) -> QuarantineEntry:
    return QuarantineEntry(
        origin=origin,
        location=location,
        raw=raw,
        reasons=f"event_id: conflict: {event_id!r} is already {existing_hint} with different content",
        event_id=event_id,
    )


class EventStore(ABC):
    """Verbs the use cases need; nothing more.

    ``clock`` is the application's clock (UTC); audit entries take their time from it, never from the database.
    """

    clock: Callable[[], datetime] = staticmethod(utc_now)

    # --- unit of work ----------------------------------------------------------------------
    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager[None]:
        """Every write inside commits together or not at all; nested units join the outermost one."""

    # --- event log -------------------------------------------------------------------------
    @abstractmethod
    def append_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        """Atomically append a batch (see ``make_batch``) and quarantine entries.

        An event whose event_id is known with identical content is a duplicate (no-op); with different content
        it is quarantined as a conflict. Either everything in the call is stored or nothing is.
        """

    def append_new_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome | None:
        """``append_events`` in the common case only: when every event of the batch is new and given once (else
        nothing is written and the answer is None). A backend may do it in fewer statements."""
        ids = batch.column("event_id").to_pylist()
        if len(set(ids)) != len(ids) or self.events_by_id(ids):
            return None
        return self.append_events(batch, quarantine)

    def append_events_optimistically(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        """``append_events`` for a caller that can redo its unit of work: a backend may skip looking for the batch's
        ids in the ledger and let the key refuse a known one, raising ``EventIdsKnown``. At millions of events that
        lookup scans every stored id for each chunk of a file, though a re-sent id is rare.

        Call it as the first write of a unit of work you own; on ``EventIdsKnown`` leave that unit (it rolls back)
        and redo it with ``append_events``. This default checks first and never raises."""
        outcome = self.append_new_events(batch, quarantine)
        return outcome if outcome is not None else self.append_events(batch, quarantine)

    @abstractmethod
    def event_count(self) -> int: ...

    @abstractmethod
    def events_table(self) -> pa.Table:
        """All events in append order, in ``EVENT_SCHEMA``."""

    @abstractmethod
    def event_position(self) -> int:
        """The append position of the newest event (0 when empty): a cheap way to see that events were appended.

        Positions become visible in order (a backend with several writers serialises appends until commit), so a
        reader that has seen every event up to a position misses none below it later.
        """

    @abstractmethod
    def events_after(self, position: int) -> tuple[pa.Table, int]:
        """Events appended after ``position``, in append order (``EVENT_SCHEMA``), and the position of the newest."""

    @abstractmethod
    def events_by_id(self, event_ids: Iterable[str]) -> list[Event]: ...

    @abstractmethod
    def events_by_document(self, key: str) -> list[Event]:
        """Events whose document number has this OCR-folded key (``identity.normalise.ocr_canonical``)."""

    def document_records(self, key: str, date_of_birth: str) -> list[tuple[Event, IdentityAssignment | None]]:
        """Events of this document key (as ``events_by_document``) whose date of birth is this one, each with its
        assignment to a person (None before linking): what a traveller's own lookup starts from (PostgreSQL: one
        query, which reads no record of another birth date; here, the document's records filtered in turn)."""
        events = [e for e in self.events_by_document(key) if e.date_of_birth == date_of_birth]
        assignments = self.assignments_for(e.event_id for e in events)
        return [(e, assignments.get(e.event_id)) for e in events]

    @abstractmethod
    def quarantine_entries(self, limit: int | None = None) -> list[StoredQuarantine]: ...

    @abstractmethod
    def quarantine_count(self) -> int: ...

    def release_read_memory(self) -> None:  # noqa: B027 - a backend that caches nothing in process needs nothing
        """Give back what the backend keeps in this process from a whole-ledger read the caller now holds itself
        (a batch job calls it after ``events_table``; a service, whose other requests read on, does not)."""

    # --- identities ------------------------------------------------------------------------
    def lock_identities(self) -> None:  # noqa: B027 - a backend with one writer at a time needs nothing
        """Serialise linking: hold off other writers of identities (and, on a backend with several writers, of
        events) until this unit of work ends.

        Called before reading the ledger to link it, so that two workers linking the same traveller at the
        same time make one person, not two (the second sees what the first linked).
        """

    @abstractmethod
    def identity_assignments(self) -> dict[str, IdentityAssignment]: ...

    def identity_count(self) -> int:
        """How many events are assigned to a person (a SQL backend counts without reading them)."""
        return len(self.identity_assignments())

    def resolved_events_by_person(self, rows_per_table: int = 250_000) -> Iterator[pa.Table]:
        """The assigned events grouped by person, in tables of about ``rows_per_table`` rows: ``EVENT_SCHEMA``
        plus ``person_id`` and ``link_probability``; persons in ascending order, each person's events in append
        order and never split between two tables. Lets a use case go through millions of persons holding Python
        objects for one table at a time (a SQL backend sorts in the database)."""
        import pyarrow.compute as pc

        assignments = self.identity_assignments()
        events = self.events_table()
        found = [assignments.get(e) for e in events.column("event_id").to_pylist()]
        table = events.append_column(
            RESOLVED_EVENT_FIELDS[0], pa.array([a.person_id if a else None for a in found], pa.string())
        ).append_column(RESOLVED_EVENT_FIELDS[1], pa.array([a.link_probability if a else None for a in found], pa.float64()))
        table = table.filter(pc.is_valid(table.column("person_id")))
        table = table.take(pc.sort_indices(table, [("person_id", "ascending")]))  # a stable sort: append order kept
        yield from tables_by_person(table, rows_per_table)

    @abstractmethod
    def replace_identities(
        self, assignments: Sequence[IdentityAssignment], changes: Sequence[IdentityChange], run: ResolutionRun
    ) -> int:
        """Store a resolution run's result atomically; returns the run number."""

    @abstractmethod
    def assignments_for(self, event_ids: Iterable[str]) -> dict[str, IdentityAssignment]:
        """The assignments of these events only (a scoped read: one person's lookup must not read the whole table)."""

    @abstractmethod
    def add_identities(self, assignments: Sequence[IdentityAssignment]) -> None:
        """Assign events no run has assigned yet (near-real-time linking); the last run's assignments stay."""

    @abstractmethod
    def latest_run(self) -> int:
        """The newest resolution run's number (0 before the first): changes whenever identities are replaced."""

    def run_and_position(self) -> tuple[int, int]:
        """``latest_run()`` and ``event_position()`` together (a SQL backend: one statement), what the service's
        live linker checks before each use."""
        return self.latest_run(), self.event_position()

    @abstractmethod
    def identity_changes(self) -> list[IdentityChange]: ...

    @abstractmethod
    def person_event_ids(self, person_id: str) -> list[str]: ...

    def events_of_persons(self, person_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each person's event ids, for several persons at once (a SQL backend answers in one query)."""
        return {person: self.person_event_ids(person) for person in dict.fromkeys(person_ids)}

    def persons_events(self, person_ids: Iterable[str]) -> dict[str, list[tuple[Event, float | None]]]:
        """Each person's events in append order, each with the probability of the link that joined it: what
        ``events_of_persons``, ``assignments_for`` and ``events_by_id`` give together (a SQL backend: one query)."""
        events_of = self.events_of_persons(person_ids)
        wanted = [event_id for ids in events_of.values() for event_id in ids]
        assignments = self.assignments_for(wanted)
        by_id = {e.event_id: e for e in self.events_by_id(wanted)}
        return {person: [(by_id[e], assignments[e].link_probability) for e in ids if e in by_id]
                for person, ids in events_of.items()}

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

    def review_items_touching(self, event_ids: Iterable[str], status: str = "open") -> list[ReviewItem]:
        """Review items in ``status`` with one of these events on either side (a scoped read of the queue)."""
        wanted = set(event_ids)
        return [i for i in self.review_items(status) if i.event_id_l in wanted or i.event_id_r in wanted]

    def review_and_cases_touching(
        self, event_ids: Iterable[str], statuses: Sequence[str] = ("open",)
    ) -> tuple[list[ReviewItem], frozenset[str]]:
        """Review items in one of ``statuses`` with one of these events on either side, and those of these events
        that an open correction case disputes: what a person's stays wait on (a SQL backend: one query)."""
        wanted = list(dict.fromkeys(event_ids))
        return self._queue_and_cases_touching(wanted, list(statuses)) if wanted else ([], frozenset())

    def _queue_and_cases_touching(self, ids: list[str], statuses: list[str]) -> tuple[list[ReviewItem], frozenset[str]]:
        """``review_and_cases_touching`` for distinct, non-empty ``ids`` (a backend reads them in one statement)."""
        items = [i for status in statuses for i in self.review_items_touching(ids, status)]
        return items, frozenset(ids) & {c.event_id for c in self.cases("open") if c.event_id}

    @abstractmethod
    def decide_review(self, event_id_l: str, event_id_r: str, status: str, decided_by: str, note: str | None) -> None: ...

    @abstractmethod
    def review_history(self, event_id_l: str, event_id_r: str) -> list[ReviewDecision]:
        """Every decision on the pair, oldest first."""

    # --- stays snapshot -----------------------------------------------------------------------
    @abstractmethod
    def replace_stays(self, run: StaysRun, stays: pa.Table) -> int:
        """Make these stays (``storage.arrow_stays.STAYS_SCHEMA``) the ledger's snapshot, replacing the last one
        wholesale, and record the run; returns its number (numbers go on rising)."""

    @abstractmethod
    def stays_snapshot(self) -> tuple[StaysRun, pa.Table] | None:
        """The newest run and its stays (STAYS_SCHEMA, by person then arrival); None when there is none (none
        determined yet, or an erasure removed it: stays derive from events, so an erasure drops the snapshot)."""

    # --- service accounts --------------------------------------------------------------------
    @abstractmethod
    def add_user(self, user: ServiceUser) -> None:
        """Add an account; a name in use (revoked or not) is refused with ``StorageError``."""

    @abstractmethod
    def users(self) -> list[ServiceUser]: ...

    @abstractmethod
    def user_by_token_id(self, token_id: str) -> ServiceUser | None: ...

    @abstractmethod
    def revoke_user(self, name: str, at: datetime) -> bool:
        """Revoke the account's token; False when there is no such active account."""

    # --- correction cases --------------------------------------------------------------------
    @abstractmethod
    def open_case(self, case: CorrectionCase) -> None: ...

    @abstractmethod
    def cases(self, state: str | None = None) -> list[CorrectionCase]: ...

    @abstractmethod
    def decide_case(self, case_id: str, state: str, decided_by: str, note: str, at: datetime) -> None: ...

    # --- audit log -------------------------------------------------------------------------
    def append_audit(self, records: Sequence[AuditRecord]) -> list[SealedEntry]:
        """Seal and append audit entries (joins the caller's unit of work, so they commit with its writes)."""
        if not records:
            return []
        with self.unit_of_work():
            last_seq, last_hash, frontier = self._audit_tail()
            sealed, head = seal(records, last_seq=last_seq, last_hash=last_hash, frontier=frontier, at=self.clock())
            self._write_sealed(sealed, head, [(subject, entry.seq) for record, entry in zip(records, sealed)
                                              for subject in subjects_of(record.objects)])
        return sealed

    def _write_sealed(self, entries: Sequence[SealedEntry], head: TreeHead, subjects: Sequence[tuple[str, int]]) -> None:
        """Store sealed entries, their tree head and their subject index rows (a backend may do it in one statement)."""
        self._write_audit(entries, head)
        self._write_audit_subjects(subjects)

    @abstractmethod
    def _audit_tail(self) -> tuple[int, str, Frontier]:
        """(last seq, its hash, the Merkle frontier after it); (0, GENESIS, empty) for an empty log."""

    def _write_audit(self, entries: Sequence[SealedEntry], head: TreeHead) -> None:
        """Store sealed entries and their tree head (used by ``_write_sealed``, unless a backend overrides that)."""
        raise NotImplementedError

    @abstractmethod
    def audit_rows(self, after_seq: int = 0) -> Iterator[tuple[int, str, str]]:
        """Stored (seq, canonical JSON, hash) rows in seq order, as stored (verification reads them raw)."""

    def _write_audit_subjects(self, rows: Sequence[tuple[str, int]]) -> None:
        """Index (subject, seq) rows: the persons and events each new entry names (``subjects_of``); used by
        ``_write_sealed``, unless a backend overrides that."""
        raise NotImplementedError

    @abstractmethod
    def audit_entries_about(self, subjects: Collection[str]) -> list[tuple[int, str]]:
        """(seq, canonical JSON) of the entries naming any of ``subjects``, in seq order, through the subject index
        (a traveller's access log: as fast for a long log as for a short one)."""

    @abstractmethod
    def audit_rows_with_subjects(self) -> Iterator[tuple[int, str, str, list[str]]]:
        """``audit_rows`` with what the subject index holds for each entry, read together (verification checks it)."""

    @abstractmethod
    def audit_heads(self) -> list[tuple[int, str]]:
        """Stored tree heads (size, hex root)."""

    @abstractmethod
    def ledger_id(self) -> str:
        """A random id given to the ledger when it was created; names the audit log in checkpoints."""

    # --- retention ---------------------------------------------------------------------------
    @abstractmethod
    def erase(self, plan: ErasurePlan) -> int:
        """Erase events past their retention period, with what derives from them; log only the count.

        The one deletion the ledger allows: retention limits are law, and erasure is recorded (when, how
        many, why) without keeping anything about the persons erased. Returns the number of events erased.
        """

    @abstractmethod
    def erasure_log(self) -> list[tuple[datetime, int, str]]: ...

    @abstractmethod
    def replace_models(self, model_json: str, description: str) -> int:
        """Keep only this model (e.g. rebuilt without erased persons' name frequencies); returns its version."""

    def compact(self) -> None:  # noqa: B027 - backends that keep no deleted bytes need nothing
        """Rewrite storage so that erased values no longer exist anywhere in its files."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release resources."""

    def shared_state(self) -> "SharedState":
        """Where the service keeps rate-limit counters and console sessions: in memory, when one process owns the
        ledger; a backend that several service processes share keeps them where all of them see them."""
        from stayledger.storage.shared_state import ProcessState

        return ProcessState()

    # Whether units of work on several threads may write beside each other, the database serialising what must be
    # (PostgreSQL: its locks order the audit chain, as for several service processes). An embedded store has one
    # writer: every write goes through it.
    concurrent_writers: bool = False

    def reader(self) -> "EventStore | None":
        """A store for reads that may run beside this one's writes in other threads; None when the backend has none
        (then every call goes through this store, one at a time)."""
        return None

    def audit_appender(self) -> "EventStore | None":
        """A store that appends audit entries (and nothing else) beside this one's writes, from another thread: itself
        where writers may run side by side (``concurrent_writers``); None when the backend has no such thing."""
        return self if self.concurrent_writers else None
