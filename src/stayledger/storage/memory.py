"""In-memory store: the fake that unit tests use, passing the same contract tests as every backend."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Collection, Iterable, Iterator, Sequence

import pyarrow as pa

from stayledger.audit.log import GENESIS, SealedEntry, TreeHead, utc_now
from stayledger.audit.merkle import Frontier

from stayledger.domain.events import Event
from stayledger.storage.arrow_events import events_to_table, table_to_events
from stayledger.storage.arrow_stays import STAYS_SCHEMA, in_snapshot_order
from stayledger.storage.base import (
    AppendOutcome,
    CorrectionCase,
    ErasurePlan,
    EventStore,
    IdentityAssignment,
    IdentityChange,
    QuarantineEntry,
    ResolutionRun,
    ReviewDecision,
    ReviewItem,
    ServiceUser,
    StaysRun,
    StoredQuarantine,
    conflict_entry,
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class MemoryStore(EventStore):
    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self._ledger_id = uuid.uuid4().hex
        self._depth = 0
        self._events: dict[str, Event] = {}
        self._positions: dict[str, int] = {}  # event id -> append position
        self._appended = 0
        self._quarantine: dict[str, StoredQuarantine] = {}
        self._identities: dict[str, IdentityAssignment] = {}
        self._changes: list[IdentityChange] = []
        self._runs: list[ResolutionRun] = []
        self._models: list[str] = []
        self._reviews: dict[tuple[str, str], ReviewItem] = {}
        self._decisions: list[ReviewDecision] = []
        self._users: dict[str, ServiceUser] = {}
        self._cases: dict[str, CorrectionCase] = {}
        self._audit: list[SealedEntry] = []
        self._heads: list[TreeHead] = []
        self._audit_subjects: list[tuple[str, int]] = []
        self._erasures: list[tuple[datetime, int, str]] = []
        self._stays_runs = 0  # numbers given so far (they go on rising after an erasure)
        self._stays: tuple[StaysRun, pa.Table] | None = None

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        # Containers are copied, their immutable elements shared: a rollback puts the old containers back.
        saved = {k: copy.copy(v) for k, v in vars(self).items() if k.startswith("_") and k != "_depth"}
        self._depth += 1
        try:
            yield
        except BaseException:
            vars(self).update(saved)
            raise
        finally:
            self._depth -= 1

    def append_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        outcome = AppendOutcome()
        staged: dict[str, Event] = {}
        to_quarantine = list(quarantine)
        provenance = zip(*(batch.column(n).to_pylist() for n in ("origin", "location", "raw")))
        for event, (origin, location, raw) in zip(table_to_events(batch), provenance):
            known = self._events.get(event.event_id) or staged.get(event.event_id)
            if known is None:
                staged[event.event_id] = event
            elif known == event:
                outcome.duplicates += 1
            else:
                where = "earlier in the same input" if event.event_id in staged else "in the ledger"
                entry = conflict_entry(event.event_id, origin, location, raw, where)
                outcome.conflicts.append(entry)
                to_quarantine.append(entry)
        self._events.update(staged)
        for event_id in staged:
            self._appended += 1
            self._positions[event_id] = self._appended
        outcome.added = len(staged)
        for entry in to_quarantine:
            if entry.quarantine_id not in self._quarantine:
                self._quarantine[entry.quarantine_id] = StoredQuarantine(entry, self.clock())
                outcome.quarantined += 1
        return outcome

    def event_count(self) -> int:
        return len(self._events)

    def events_table(self) -> pa.Table:
        return events_to_table(list(self._events.values()))

    def event_position(self) -> int:
        return max(self._positions.values(), default=0)

    def events_after(self, position: int) -> tuple[pa.Table, int]:
        newer = [e for e in self._events.values() if self._positions[e.event_id] > position]
        return events_to_table(newer), max((self._positions[e.event_id] for e in newer), default=position)

    def events_by_id(self, event_ids: Iterable[str]) -> list[Event]:
        return [self._events[i] for i in event_ids if i in self._events]

    def events_by_document(self, key: str) -> list[Event]:
        from stayledger.identity.normalise import ocr_canonical

        return [e for e in self._events.values() if e.document_number and ocr_canonical(e.document_number) == key]

    def quarantine_entries(self, limit: int | None = None) -> list[StoredQuarantine]:
        entries = list(self._quarantine.values())
        return entries if limit is None else entries[:limit]

    def quarantine_count(self) -> int:
        return len(self._quarantine)

    def identity_assignments(self) -> dict[str, IdentityAssignment]:
        return dict(self._identities)

    def replace_identities(
        self, assignments: Sequence[IdentityAssignment], changes: Sequence[IdentityChange], run: ResolutionRun
    ) -> int:
        self._identities = {a.event_id: a for a in assignments}
        self._changes.extend(changes)
        self._runs.append(run)
        return len(self._runs)

    def assignments_for(self, event_ids: Iterable[str]) -> dict[str, IdentityAssignment]:
        return {e: self._identities[e] for e in event_ids if e in self._identities}

    def add_identities(self, assignments: Sequence[IdentityAssignment]) -> None:
        for assignment in assignments:
            self._identities.setdefault(assignment.event_id, assignment)

    def latest_run(self) -> int:
        return len(self._runs)

    def identity_changes(self) -> list[IdentityChange]:
        return list(self._changes)

    def person_event_ids(self, person_id: str) -> list[str]:
        return [a.event_id for a in self._identities.values() if a.person_id == person_id]

    def save_model(self, model_json: str, description: str) -> int:
        self._models.append(model_json)
        return len(self._models)

    def latest_model(self) -> tuple[int, str] | None:
        return (len(self._models), self._models[-1]) if self._models else None

    def add_review_items(self, items: Sequence[ReviewItem]) -> int:
        added = 0
        for item in items:
            key = (item.event_id_l, item.event_id_r)
            if key not in self._reviews:
                self._reviews[key] = item
                added += 1
        return added

    def review_items(self, status: str | None = None) -> list[ReviewItem]:
        return [r for r in self._reviews.values() if status is None or r.status == status]

    def decide_review(self, event_id_l: str, event_id_r: str, status: str, decided_by: str, note: str | None) -> None:
        key = (event_id_l, event_id_r)
        item = self._reviews[key]
        self._reviews[key] = ReviewItem(item.event_id_l, item.event_id_r, item.match_probability, status, decided_by, note)
        self._decisions.append(ReviewDecision(event_id_l, event_id_r, status, decided_by, note, _now()))

    def review_history(self, event_id_l: str, event_id_r: str) -> list[ReviewDecision]:
        return [d for d in self._decisions if (d.event_id_l, d.event_id_r) == (event_id_l, event_id_r)]

    def add_user(self, user: ServiceUser) -> None:
        from stayledger.errors import StorageError

        if user.name in self._users:
            raise StorageError(f"a user named {user.name!r} exists already")
        self._users[user.name] = user

    def users(self) -> list[ServiceUser]:
        return sorted(self._users.values(), key=lambda u: u.name)

    def user_by_token_id(self, token_id: str) -> ServiceUser | None:
        return next((u for u in self._users.values() if u.token_id == token_id), None)

    def revoke_user(self, name: str, at: datetime) -> bool:
        user = self._users.get(name)
        if user is None or user.revoked_at is not None:
            return False
        self._users[name] = dataclasses.replace(user, revoked_at=at)
        return True

    def open_case(self, case: CorrectionCase) -> None:
        self._cases[case.case_id] = dataclasses.replace(case, created_at=case.created_at or self.clock())

    def cases(self, state: str | None = None) -> list[CorrectionCase]:
        return [c for c in self._cases.values() if state is None or c.state == state]

    def decide_case(self, case_id: str, state: str, decided_by: str, note: str, at: datetime) -> None:
        self._cases[case_id] = dataclasses.replace(self._cases[case_id], state=state, decided_by=decided_by,
                                                   decision_note=note, decided_at=at)

    def _audit_tail(self) -> tuple[int, str, Frontier]:
        if not self._audit:
            return 0, GENESIS, Frontier()
        last = self._audit[-1]
        head = next((h for h in reversed(self._heads) if h.tree_size == last.seq), None)
        if head is None:
            return last.seq, last.hash, Frontier.from_leaf_hashes(bytes.fromhex(e.hash) for e in self._audit)
        return last.seq, last.hash, Frontier.from_json(head.frontier)

    def _write_audit(self, entries: Sequence[SealedEntry], head: TreeHead) -> None:
        self._audit.extend(entries)
        self._heads.append(head)

    def audit_rows(self, after_seq: int = 0) -> Iterator[tuple[int, str, str]]:
        return iter([(e.seq, e.text, e.hash) for e in self._audit if e.seq > after_seq])

    def _write_audit_subjects(self, rows: Sequence[tuple[str, int]]) -> None:
        self._audit_subjects.extend(rows)

    def audit_entries_about(self, subjects: Collection[str]) -> list[tuple[int, str]]:
        wanted = set(subjects)
        seqs = {seq for subject, seq in self._audit_subjects if subject in wanted}
        return [(e.seq, e.text) for e in self._audit if e.seq in seqs]

    def audit_rows_with_subjects(self) -> Iterator[tuple[int, str, str, list[str]]]:
        indexed: dict[int, list[str]] = {}
        for subject, seq in self._audit_subjects:
            indexed.setdefault(seq, []).append(subject)
        return iter([(e.seq, e.text, e.hash, indexed.get(e.seq, [])) for e in self._audit])

    def audit_heads(self) -> list[tuple[int, str]]:
        return [(h.tree_size, h.root_hash) for h in self._heads]

    def ledger_id(self) -> str:
        return self._ledger_id

    def erase(self, plan: ErasurePlan) -> int:
        gone = {e for e in plan.event_ids if e in self._events}
        persons = set(plan.person_ids)
        with self.unit_of_work():
            for event_id in gone:
                del self._events[event_id]
                del self._positions[event_id]
                self._identities.pop(event_id, None)
            dropped = set(plan.quarantine_ids)
            self._quarantine = {k: v for k, v in self._quarantine.items()
                                if v.entry.event_id not in gone and k not in dropped}
            self._reviews = {k: v for k, v in self._reviews.items() if not set(k) & gone}
            self._decisions = [d for d in self._decisions if not {d.event_id_l, d.event_id_r} & gone]
            self._cases = {k: c for k, c in self._cases.items() if c.event_id not in gone}
            self._changes = [c for c in self._changes if not {c.person_id, c.other_person_id} & persons]
            if plan.event_ids:
                self._stays = None  # stays derive from events: the snapshot goes whole (as in the SQL stores)
                # A new run, so that a live linker drops what it holds in memory (as in the SQL stores).
                persons = len({a.person_id for a in self._identities.values()})
                self._runs.append(ResolutionRun("erasure", None, len(self._events), persons, 0, 0))
            self._erasures.append((_now(), len(gone), plan.reason))
        return len(gone)

    def replace_stays(self, run: StaysRun, stays: pa.Table) -> int:
        self._stays_runs += 1
        table = in_snapshot_order(stays.select(STAYS_SCHEMA.names).cast(STAYS_SCHEMA))
        self._stays = (dataclasses.replace(run, stays=table.num_rows, run_id=self._stays_runs,
                                           determined_at=self.clock()), table)
        return self._stays_runs

    def stays_snapshot(self) -> tuple[StaysRun, pa.Table] | None:
        return self._stays

    def replace_models(self, model_json: str, description: str) -> int:
        self._models = [""] * len(self._models) + [model_json]  # earlier versions erased, numbering kept
        return len(self._models)

    def erasure_log(self) -> list[tuple[datetime, int, str]]:
        return list(self._erasures)
