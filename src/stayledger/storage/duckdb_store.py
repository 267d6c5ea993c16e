"""DuckDB backend: the embedded store, one file chosen by ``--db PATH``.

Every write is one transaction, so a crash or Ctrl-C leaves the ledger as it was before the call.
Driver errors become ``StorageError``.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Collection, Iterable, Iterator, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.audit.log import GENESIS, AuditRecord, SealedEntry, TreeHead, parse_entry, seal, subjects_of, utc_now
from stayledger.audit.merkle import Frontier
from stayledger.domain.events import FIELDS, Event
from stayledger.errors import ReadOnlyLedger, StorageError
from stayledger.failpoints import failpoint
from stayledger.storage.arrow_events import EVENT_SCHEMA
from stayledger.storage.arrow_stays import STAYS_SCHEMA
from stayledger.storage.base import (
    AppendOutcome,
    CorrectionCase,
    ErasurePlan,
    EventIdsKnown,
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
    RESOLVED_EVENT_FIELDS,
    conflict_entry,
    tables_by_person,
)
from stayledger.storage.migrations import MIGRATIONS, document_key_sql

_EVENT_COLUMNS = ", ".join(FIELDS)
# Up to this many keys, a lookup lists them as values, so DuckDB fetches the rows through the key's index (its
# default index_scan_max_count); beyond, a join scanning the table is cheaper.
_INDEX_LOOKUP_MAX = 2048
CHECKPOINT_THRESHOLD = "256MB"  # see DuckDBStore.__init__
RELEASE_MEMORY_LIMIT = "256MB"  # see DuckDBStore.release_read_memory
INDEXING_PAGE = 50_000  # audit entries read at a time when schema 11 indexes an existing log


def _keys_in(column: str, keys: Sequence[str] | Sequence[int]) -> tuple[str, list]:
    """SQL (and its parameters) for ``column IN keys``: the keys as a list of values when few, so that DuckDB fetches
    the rows through the key's index (a subquery's join scans the table: ~300 ms for 120 events of a million)."""
    if len(keys) <= _INDEX_LOOKUP_MAX:
        return f"{column} IN ({', '.join('?' * len(keys))})", list(keys)
    return f"{column} IN (SELECT unnest(?))", [list(keys)]


def _same_content(left: str, right: str) -> str:
    """SQL that is true when two rows hold the same normalised event (NULLs equal: absent on both sides).

    Compared field by field only when an id is seen again, so the common append computes nothing extra.
    """
    return "(" + " AND ".join(f"{left}.{f} IS NOT DISTINCT FROM {right}.{f}" for f in FIELDS) + ")"


def _first(rows: list) -> tuple | None:
    """First row of a fully fetched result (DuckDB keeps a half-read result open, blocking the connection)."""
    return rows[0] if rows else None


def _naive_utc(moment: datetime) -> datetime:
    """TIMESTAMP columns hold UTC without a zone."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


_SIDE_FILES = (".wal", ".wal.checkpoint", ".wal.recovery")  # files DuckDB 2.0 keeps beside a database
_COMPACTION_PENDING = "compaction_pending"


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# DuckDB's file header carries this magic at bytes 8..12.
_DUCKDB_MAGIC = b"DUCK"


def _refuse_non_duckdb_file(path: str) -> None:
    """DuckDB opens a .csv/.parquet/.json path as an in-memory database with a view over the file, so an
    ingest would report success and keep nothing: only a DuckDB file (or a new path) is a ledger."""
    if path == ":memory:":
        return
    target = Path(path)
    try:
        if target.is_dir():
            raise StorageError(f"--db {path} is a directory; name a DuckDB file (e.g. {target / 'stayledger.duckdb'})")
        if not target.exists() or target.stat().st_size == 0:
            return
        with target.open("rb") as file:
            header = file.read(12)
    except OSError as exc:
        raise StorageError(f"cannot open the database {path}: {exc.strerror or exc}") from None
    if header[8:12] != _DUCKDB_MAGIC:
        raise StorageError(f"--db {path} is not a DuckDB database (an existing file of another kind); "
                           "name a DuckDB ledger file or a new path")


def _interrupted(exc: BaseException) -> bool:
    """DuckDB's Python client turns Ctrl-C during a query into ``RuntimeError("Query interrupted")``."""
    return isinstance(exc, RuntimeError) and not isinstance(exc, duckdb.Error) and str(exc) == "Query interrupted"


def _refuse_read_only_file(path: str) -> None:
    """Every command writes to the ledger, reads of personal data too (their audit entry), so a read-only copy
    cannot serve one: say so up front instead of failing inside a write (or, worse, answering unaudited).

    A file with no write permission at all counts as read-only even for root, who could write it: someone made it
    read-only on purpose. DuckDB also writes a ``.wal`` file beside the ledger, so the directory must be writable.
    """
    if path == ":memory:":
        return
    target = Path(path)
    if not target.exists():
        return
    folder = target.parent if str(target.parent) else Path(".")
    no_write_bits = not target.stat().st_mode & 0o222
    if no_write_bits or not os.access(target, os.W_OK) or not os.access(folder, os.W_OK):
        where = f"--db {path}" if no_write_bits or not os.access(target, os.W_OK) else f"the directory of --db {path}"
        raise ReadOnlyLedger(
            f"{where} is read-only: the audit entry of this command (reads are audited too) cannot be recorded "
            "in it; copy the ledger to a writable place or use a writable one"
        )


class _AuditChain:
    """The audit log's end, shared by this process's connections that append to it (the store and its audit twin):
    one appends at a time, holding ``lock`` from reading the end until its transaction ends (DuckDB's file lock keeps
    other processes out)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tail: tuple[int, str, Frontier] | None = None  # as committed, or as this lock's holder appended it


class DuckDBStore(EventStore):
    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = utc_now,
        duckdb_config: dict[str, str] | None = None,
    ) -> None:
        """``duckdb_config``: DuckDB settings, e.g. ``force_compression`` for tests that read the file's bytes."""
        self.path = str(path)
        self.read_only = read_only
        self.clock = clock
        self._depth = 0  # units of work open: the outermost one and those that joined it
        self._chain = _AuditChain()  # the audit log's end (this process is the only writer of the file)
        self._holds_chain = False  # this connection appended audit entries in its open transaction
        self._tail_before: tuple[int, str, Frontier] | None = None  # the end when it took the chain: put back on rollback
        # Checkpoint after 256 MB of write-ahead log, not DuckDB's 16 MB: each checkpoint rewrites the events'
        # primary-key index, so at ten million events frequent checkpoints made a bulk ingest's commits its cost.
        self._config = {"checkpoint_threshold": CHECKPOINT_THRESHOLD, **(duckdb_config or {})}
        self._con = self._connect()
        if not read_only:
            self._remove_stale_compaction()
            self._migrate()
            if self._compaction_pending():
                self.compact()  # an erasure whose rewrite was interrupted: finish it before anything else

    def _connect(self) -> duckdb.DuckDBPyConnection:
        _refuse_non_duckdb_file(self.path)
        if not self.read_only:
            _refuse_read_only_file(self.path)
        try:
            return duckdb.connect(self.path, read_only=self.read_only, config=self._config)
        except duckdb.Error as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc

    # --- plumbing --------------------------------------------------------------------------
    def _migrate(self) -> None:
        self._con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        row = _first(self._con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall())
        current = int(row[0]) if row else 0
        for version, statements in sorted(MIGRATIONS.items()):
            if version <= current:
                continue
            with self.unit_of_work():
                for statement in statements:
                    self._con.execute(statement)
                if version == 4:
                    self._move_lookup_log_onto_audit_log()
                if version == 11:
                    self._index_audit_subjects()
                self._con.execute("INSERT INTO schema_version VALUES (?, now())", [version])

    def _move_lookup_log_onto_audit_log(self) -> None:
        """Schema 4: the ledger gets its id, and the old lookup log's rows become the first audit entries."""
        self._con.execute("INSERT INTO ledger_meta VALUES ('ledger_id', ?)", [uuid.uuid4().hex])
        rows = self._con.execute(
            "SELECT looked_up_at, actor, purpose, subject FROM lookup_log ORDER BY looked_up_at"
        ).fetchall()
        for looked_up_at, actor, purpose, subject in rows:
            kind, _, ids = subject.partition(" ")
            action, objects = (("person.view", {"person_id": ids}) if kind == "person"
                               else ("pair.explain", {"event_ids": ids.split()}))
            record = AuditRecord(action, actor or "unrecorded", "unrecorded", "unrecorded (lookup log before schema 4)",
                                 purpose=purpose or None, objects=objects)
            last_seq, last_hash, frontier = self._audit_tail()
            sealed, head = seal([record], last_seq=last_seq, last_hash=last_hash, frontier=frontier,
                                at=looked_up_at.replace(tzinfo=timezone.utc))
            self._write_audit(sealed, head)
        self._con.execute("DROP TABLE lookup_log")

    @property
    def schema_version(self) -> int:
        row = _first(self._con.execute("SELECT max(version) FROM schema_version").fetchall())
        return int(row[0]) if row and row[0] is not None else 0

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        if self._depth:  # joins the outer unit: one commit for the whole operation
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self._con.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            raise StorageError(f"cannot start a transaction on {self.path}: {exc}") from exc
        self._depth = 1
        try:
            yield
        except BaseException as exc:  # KeyboardInterrupt too: nothing half-written survives
            self._depth = 0
            try:
                self._con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the transaction is already gone (e.g. the write failed): nothing to undo
            finally:
                self._release_chain(committed=False)  # an audit append may have been rolled back
            if isinstance(exc, duckdb.Error):
                raise StorageError(f"{self.path}: {exc}") from exc
            if _interrupted(exc):
                raise KeyboardInterrupt from None
            raise
        self._depth = 0
        committed = False
        try:
            self._con.execute("COMMIT")
            committed = True
        except duckdb.Error as exc:
            raise StorageError(f"{self.path}: could not commit: {exc}") from exc
        except RuntimeError as exc:
            if _interrupted(exc):
                raise KeyboardInterrupt from None
            raise
        finally:
            self._release_chain(committed=committed)

    def _release_chain(self, *, committed: bool) -> None:
        """The transaction ended: let the next appender have the audit log's end (as it was, if nothing committed)."""
        if not self._holds_chain:
            return
        if not committed:
            self._chain.tail = self._tail_before
        self._holds_chain = False
        self._chain.lock.release()

    def close(self) -> None:
        self._con.close()

    def reader(self) -> "DuckDBStore":
        """Another connection to the same database, for reads beside this store's writes (threads of this process).

        It sees what was committed when its transaction began. It must not write: the event sequence is appended
        by this store alone, the audit chain by this store and its ``audit_appender``, taking turns at its end.
        """
        return self._twin(read_only=True)

    def audit_appender(self) -> "DuckDBStore":
        """Another connection that appends audit entries beside this store's writes (and nothing else): the chain's
        end is shared, and each appender holds it from reading the end until its commit."""
        return self._twin(read_only=False)

    def _twin(self, *, read_only: bool) -> "DuckDBStore":
        twin = object.__new__(DuckDBStore)
        twin.path, twin.read_only, twin.clock, twin._config = self.path, read_only, self.clock, self._config
        twin._depth, twin._chain, twin._holds_chain, twin._tail_before = 0, self._chain, False, None
        twin._con = self._con.cursor()
        return twin

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for read-only analytics (reports) that are DuckDB-specific by design."""
        return self._con

    # --- event log -------------------------------------------------------------------------
    def append_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        outcome = AppendOutcome()
        to_quarantine = list(quarantine)
        with self.unit_of_work():
            if batch.num_rows and self._append_new_only(batch):
                outcome.added = batch.num_rows
            elif batch.num_rows:
                self._con.register("incoming_batch", batch)
                try:
                    self._con.execute(
                        f"""CREATE OR REPLACE TEMP TABLE staged AS
                            SELECT row_number() OVER () AS position, {_EVENT_COLUMNS}, origin, location, raw
                            FROM incoming_batch"""
                    )
                finally:
                    self._con.unregister("incoming_batch")
                # The ledger's events under the batch's ids: through the key's index when the ids are few (joined
                # with the whole table, a re-sent group of posts scanned every event's id twice).
                ids = list(dict.fromkeys(batch.column("event_id").to_pylist()))
                if len(ids) <= _INDEX_LOOKUP_MAX:
                    where, params = _keys_in("event_id", ids)
                    self._con.execute(f"CREATE OR REPLACE TEMP TABLE known AS SELECT {_EVENT_COLUMNS} FROM events "
                                      f"WHERE {where}", params)
                    known = "known"
                else:
                    known = "events"
                # Later copies of an id inside the batch: identical ones are duplicates, others conflicts.
                repeats = self._con.execute(
                    f"""SELECT s.event_id, s.origin, s.location, s.raw, {_same_content('s', 'f')}
                        FROM staged s JOIN (SELECT * FROM staged
                                            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY position) = 1) f
                        USING (event_id) WHERE s.position <> f.position ORDER BY s.position"""
                ).fetchall()
                clashes = self._con.execute(
                    f"""SELECT s.event_id, s.origin, s.location, s.raw, {_same_content('s', 'e')}
                        FROM staged s JOIN {known} e USING (event_id) ORDER BY s.position"""
                ).fetchall()
                for rows, hint in ((repeats, "earlier in the same input"), (clashes, "in the ledger")):
                    for event_id, origin, location, raw, identical in rows:
                        if identical:
                            outcome.duplicates += 1
                        else:
                            entry = conflict_entry(event_id, origin, location, raw, hint)
                            outcome.conflicts.append(entry)
                            to_quarantine.append(entry)
                # seq = append order. The file lock makes this connection the only writer, so max(seq) is safe.
                inserted = _first(self._con.execute(
                    f"""INSERT INTO events (seq, {_EVENT_COLUMNS}, ingested_at, document_key)
                        SELECT (SELECT coalesce(max(seq), 0) FROM events) + s.position,
                               {', '.join('s.' + f for f in FIELDS)}, now(), {document_key_sql('s.document_number')}
                        FROM (SELECT * FROM staged
                              QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY position) = 1) s
                        ANTI JOIN {known} e USING (event_id)
                        ORDER BY s.position"""
                ).fetchall())
                outcome.added = int(inserted[0]) if inserted else 0
                self._con.execute("DROP TABLE staged")
                if known == "known":
                    self._con.execute("DROP TABLE known")
            if to_quarantine:
                outcome.quarantined = self._insert_quarantine(to_quarantine)
        return outcome

    def append_new_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome | None:
        with self.unit_of_work():  # the check and the insert: two statements
            if not batch.num_rows or not self._append_new_only(batch):
                return None
            quarantined = self._insert_quarantine(quarantine) if quarantine else 0
        return AppendOutcome(added=batch.num_rows, quarantined=quarantined)

    def append_events_optimistically(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        # Only directly in the outermost unit of work: a refused insert aborts the whole transaction, so the caller
        # must be the one that rolls it back and redoes it.
        if not batch.num_rows or self._depth != 1:
            return self.append_events(batch, quarantine)
        if pc.count_distinct(batch.column("event_id")).as_py() != batch.num_rows:
            raise EventIdsKnown("the batch repeats an event_id")
        try:
            self._insert_new(batch)  # the primary key refuses a known id
        except duckdb.ConstraintException as exc:
            raise EventIdsKnown(str(exc)) from None
        return AppendOutcome(added=batch.num_rows, quarantined=self._insert_quarantine(quarantine) if quarantine else 0)

    def _append_new_only(self, batch: pa.Table) -> bool:
        """The common case, done in one statement: every id in the batch is new and appears once.

        Returns False (having written nothing) when the batch needs the careful path.
        """
        if pc.count_distinct(batch.column("event_id")).as_py() != batch.num_rows:
            return False
        where, params = _keys_in("event_id", batch.column("event_id").to_pylist())  # through the key's index
        known = _first(self._con.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchall())
        if known and known[0]:
            return False
        self._insert_new(batch)
        return True

    def _insert_new(self, batch: pa.Table) -> None:
        self._con.register("incoming_batch", batch)
        try:
            self._con.execute(
                f"""INSERT INTO events (seq, {_EVENT_COLUMNS}, ingested_at, document_key)
                    SELECT (SELECT coalesce(max(seq), 0) FROM events) + row_number() OVER (),
                           {_EVENT_COLUMNS}, now(), {document_key_sql('document_number')}
                    FROM incoming_batch"""
            )
        finally:
            # A refused insert aborts the transaction, and then unregistering fails too (the next batch's
            # register replaces the view): the refusal is what the caller must see.
            with suppress(duckdb.TransactionException):
                self._con.unregister("incoming_batch")

    def _insert_quarantine(self, entries: Sequence[QuarantineEntry]) -> int:
        unique = {e.quarantine_id: e for e in entries}
        table = pa.table(
            {
                "quarantine_id": list(unique),
                "origin": [e.origin for e in unique.values()],
                "location": [e.location for e in unique.values()],
                "event_id": [e.event_id for e in unique.values()],
                "raw": [e.raw.encode("utf-8", "backslashreplace").decode("utf-8") for e in unique.values()],
                "reasons": [e.reasons for e in unique.values()],
            }
        )
        self._con.register("incoming_quarantine", table)
        try:
            row = _first(self._con.execute(
                """INSERT INTO quarantine (seq, quarantine_id, origin, location, event_id, raw, reasons, quarantined_at)
                   SELECT nextval('quarantine_seq'), q.quarantine_id, q.origin, q.location, q.event_id, q.raw, q.reasons, ?
                   FROM incoming_quarantine q ANTI JOIN quarantine x USING (quarantine_id)""",
                [_naive_utc(self.clock())],
            ).fetchall())
        finally:
            self._con.unregister("incoming_quarantine")
        return int(row[0]) if row else 0

    def event_count(self) -> int:
        row = _first(self._con.execute("SELECT count(*) FROM events").fetchall())
        return int(row[0]) if row else 0

    def events_table(self) -> pa.Table:
        table = self._con.sql(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq").to_arrow_table()
        return table.cast(EVENT_SCHEMA)

    def release_read_memory(self) -> None:
        """DuckDB keeps the blocks a query read (and its sort's) cached up to its memory limit, 80% of the machine by
        default: after reading ten million events about 2.5 GB beyond the Arrow table the caller holds. Lowering the
        limit for a moment evicts them (the database's limit is global: only batch jobs call this). On a connection
        of its own: a limit DuckDB cannot reach now fails there, not in the caller's transaction (which it aborts)."""
        configured = self._config.get("memory_limit")
        settings = self._con.cursor()
        try:
            settings.execute(f"SET memory_limit = '{RELEASE_MEMORY_LIMIT}'")
            settings.execute(f"SET memory_limit = '{configured}'" if configured else "RESET memory_limit")
        except duckdb.Error:  # memory in use beyond the moment's limit: nothing to give back now
            pass
        finally:
            settings.close()

    def event_position(self) -> int:
        row = _first(self._con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall())
        return int(row[0]) if row else 0

    def events_after(self, position: int) -> tuple[pa.Table, int]:
        newest = self.event_position()
        table = self._con.sql(f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                              params=[position, newest]).to_arrow_table()
        return table.cast(EVENT_SCHEMA), max(newest, position)

    def events_by_id(self, event_ids: Iterable[str]) -> list[Event]:
        ids = list(event_ids)
        if not ids:
            return []
        where, params = _keys_in("event_id", ids)
        rows = self._con.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY seq", params).fetchall()
        return [Event(**dict(zip(FIELDS, row))) for row in rows]

    def events_by_document(self, key: str) -> list[Event]:
        rows = self._con.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE document_key = ? ORDER BY seq", [key]
        ).fetchall()
        return [Event(**dict(zip(FIELDS, row))) for row in rows]

    def quarantine_entries(self, limit: int | None = None) -> list[StoredQuarantine]:
        sql = "SELECT origin, location, raw, reasons, event_id, quarantined_at FROM quarantine ORDER BY seq"
        rows = self._con.execute(sql + (f" LIMIT {int(limit)}" if limit is not None else "")).fetchall()
        return [StoredQuarantine(QuarantineEntry(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows]

    def quarantine_count(self) -> int:
        row = _first(self._con.execute("SELECT count(*) FROM quarantine").fetchall())
        return int(row[0]) if row else 0

    # --- identities ------------------------------------------------------------------------
    def identity_assignments(self) -> dict[str, IdentityAssignment]:
        rows = self._con.execute("SELECT event_id, person_id, link_probability FROM identities").fetchall()
        return {r[0]: IdentityAssignment(r[0], r[1], r[2]) for r in rows}

    def identity_count(self) -> int:
        row = _first(self._con.execute("SELECT count(*) FROM identities").fetchall())
        return int(row[0]) if row else 0

    def resolved_events_by_person(self, rows_per_table: int = 250_000) -> Iterator[pa.Table]:
        columns = ", ".join(f"e.{name}" for name in FIELDS)
        table = self._con.sql(
            f"SELECT {columns}, i.person_id, i.link_probability FROM events e JOIN identities i USING (event_id) "
            "ORDER BY i.person_id, e.seq"
        ).to_arrow_table()
        yield from tables_by_person(table.cast(pa.schema([*EVENT_SCHEMA, *RESOLVED_EVENT_FIELDS])), rows_per_table)

    def replace_identities(
        self, assignments: Sequence[IdentityAssignment], changes: Sequence[IdentityChange], run: ResolutionRun
    ) -> int:
        table = pa.table(
            {
                "event_id": [a.event_id for a in assignments],
                "person_id": [a.person_id for a in assignments],
                "link_probability": pa.array([a.link_probability for a in assignments], pa.float64()),
            }
        )
        with self.unit_of_work():
            row = _first(self._con.execute(
                """INSERT INTO resolution_runs (run_id, method, model_version, events, persons, merges, splits, finished_at)
                   VALUES (nextval('run_seq'), ?, ?, ?, ?, ?, ?, now()) RETURNING run_id""",
                [run.method, run.model_version, run.events, run.persons, run.merges, run.splits],
            ).fetchall())
            run_id = int(row[0]) if row else 0
            self._con.execute("DELETE FROM identities")
            self._con.register("incoming_identities", table)
            try:
                self._con.execute(
                    "INSERT INTO identities SELECT event_id, person_id, link_probability, ? FROM incoming_identities", [run_id]
                )
            finally:
                self._con.unregister("incoming_identities")
            if changes:
                self._con.executemany(
                    "INSERT INTO identity_changes VALUES (?, ?, ?, ?, ?, ?, now())",
                    [[run_id, c.change, c.person_id, c.other_person_id, c.events_moved, c.reason] for c in changes],
                )
        return run_id

    def assignments_for(self, event_ids: Iterable[str]) -> dict[str, IdentityAssignment]:
        ids = list(event_ids)
        if not ids:
            return {}
        where, params = _keys_in("event_id", ids)
        rows = self._con.execute(f"SELECT event_id, person_id, link_probability FROM identities WHERE {where}",
                                 params).fetchall()
        return {r[0]: IdentityAssignment(r[0], r[1], r[2]) for r in rows}

    def add_identities(self, assignments: Sequence[IdentityAssignment]) -> None:
        if not assignments:
            return
        first = list({a.event_id: a for a in reversed(assignments)}.values())  # an id given twice: its first
        # One statement for the group (a statement per row cost ~2 ms each). OR IGNORE keeps what a run assigned by
        # the key's index; a NOT EXISTS anti-join scanned every identity (~10 ms at 200k, growing with the ledger).
        with self.unit_of_work():
            self._con.execute(
                """INSERT OR IGNORE INTO identities
                   SELECT n.event_id, n.person_id, n.link_probability,
                          coalesce((SELECT max(run_id) FROM resolution_runs), 0)
                   FROM (SELECT unnest($1::VARCHAR[]) AS event_id, unnest($2::VARCHAR[]) AS person_id,
                                unnest($3::DOUBLE[]) AS link_probability) n""",
                [[a.event_id for a in first], [a.person_id for a in first], [a.link_probability for a in first]],
            )

    def latest_run(self) -> int:
        row = _first(self._con.execute("SELECT coalesce(max(run_id), 0) FROM resolution_runs").fetchall())
        return int(row[0]) if row else 0

    def run_and_position(self) -> tuple[int, int]:
        row = _first(self._con.execute("""SELECT (SELECT coalesce(max(run_id), 0) FROM resolution_runs),
                                                 (SELECT coalesce(max(seq), 0) FROM events)""").fetchall())
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def identity_changes(self) -> list[IdentityChange]:
        rows = self._con.execute(
            "SELECT change, person_id, other_person_id, events_moved, reason FROM identity_changes ORDER BY run_id"
        ).fetchall()
        return [IdentityChange(*r) for r in rows]

    def person_event_ids(self, person_id: str) -> list[str]:
        return self.events_of_persons([person_id])[person_id]

    def _links_of_persons(self, persons: list[str]) -> list[tuple[str, str, float | None]]:
        """(event id, person id, link probability) of the persons' events, through the person id's index."""
        where, params = _keys_in("person_id", persons)
        return self._con.execute(f"SELECT event_id, person_id, link_probability FROM identities WHERE {where}",
                                 params).fetchall()

    def events_of_persons(self, person_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, list[str]] = {person: [] for person in wanted}
        links = self._links_of_persons(wanted) if wanted else []
        if links:  # two reads through the keys' indexes, not a join that scans both tables
            where, params = _keys_in("event_id", [event_id for event_id, _, _ in links])
            person_of = {event_id: person for event_id, person, _ in links}
            for event_id, in self._con.execute(f"SELECT event_id FROM events WHERE {where} ORDER BY seq", params).fetchall():
                found[person_of[event_id]].append(event_id)
        return found

    def persons_events(self, person_ids: Iterable[str]) -> dict[str, list[tuple[Event, float | None]]]:
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, list[tuple[Event, float | None]]] = {person: [] for person in wanted}
        if not wanted:
            return found
        # Two reads, not a join: joined, DuckDB scans every event's every column (~300 ms at a million events);
        # the links are read through the person id's index, the events then through the event id's (``_keys_in``).
        links = self._links_of_persons(wanted)
        if not links:
            return found
        where, params = _keys_in("event_id", [event_id for event_id, _, _ in links])
        rows = self._con.execute(f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE {where}", params).fetchall()
        of = {event_id: (person, probability) for event_id, person, probability in links}
        for _, *fields in sorted(rows, key=lambda row: row[0]):  # append order
            person, probability = of[fields[0]]
            found[person].append((Event(**dict(zip(FIELDS, fields))), probability))
        return found

    # --- stays snapshot -----------------------------------------------------------------------
    def replace_stays(self, run: StaysRun, stays: pa.Table) -> int:
        columns = ", ".join(STAYS_SCHEMA.names)
        with self.unit_of_work():
            row = _first(self._con.execute(
                "INSERT INTO stays_runs VALUES (nextval('stays_seq'), ?, ?, ?, ?, ?) RETURNING run_id",
                [run.as_of, run.rule_pack, run.engine, stays.num_rows, _naive_utc(self.clock())],
            ).fetchall())
            run_id = int(row[0]) if row else 0
            self._con.execute("DELETE FROM stays")
            self._con.register("incoming_stays", stays.select(STAYS_SCHEMA.names).cast(STAYS_SCHEMA))
            try:
                self._con.execute(f"INSERT INTO stays (run_id, {columns}) SELECT ?, {columns} FROM incoming_stays",
                                  [run_id])
            finally:
                self._con.unregister("incoming_stays")
        return run_id

    def stays_snapshot(self) -> tuple[StaysRun, pa.Table] | None:
        row = _first(self._con.execute(
            "SELECT run_id, as_of, rule_pack, engine, stays, determined_at FROM stays_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchall())
        if row is None:
            return None
        run = StaysRun(row[1], row[2], row[3], int(row[4]), int(row[0]), row[5].replace(tzinfo=timezone.utc))
        table = self._con.sql(f"SELECT {', '.join(STAYS_SCHEMA.names)} FROM stays "  # the newest run's only
                              "ORDER BY person_id, arrived_on, arrival_event_id").to_arrow_table()
        return run, table.cast(STAYS_SCHEMA)

    # --- linkage models --------------------------------------------------------------------
    def save_model(self, model_json: str, description: str) -> int:
        json.loads(model_json)  # refuse to store something that is not JSON
        with self.unit_of_work():
            row = _first(self._con.execute(
                "INSERT INTO linkage_models VALUES (nextval('model_seq'), ?, ?, now()) RETURNING version",
                [description, model_json],
            ).fetchall())
        return int(row[0]) if row else 0

    def latest_model(self) -> tuple[int, str] | None:
        row = _first(self._con.execute("SELECT version, model_json FROM linkage_models ORDER BY version DESC LIMIT 1").fetchall())
        return (int(row[0]), str(row[1])) if row else None

    # --- clerical review -------------------------------------------------------------------
    def add_review_items(self, items: Sequence[ReviewItem]) -> int:
        if not items:
            return 0
        table = pa.table(
            {
                "event_id_l": [i.event_id_l for i in items],
                "event_id_r": [i.event_id_r for i in items],
                "match_probability": pa.array([i.match_probability for i in items], pa.float64()),
            }
        )
        with self.unit_of_work():
            self._con.register("incoming_reviews", table)
            try:
                row = _first(self._con.execute(
                    """INSERT INTO review_queue
                       SELECT DISTINCT ON (event_id_l, event_id_r) event_id_l, event_id_r, match_probability,
                              'open', NULL, NULL, now(), NULL
                       FROM incoming_reviews r ANTI JOIN review_queue q USING (event_id_l, event_id_r)"""
                ).fetchall())
            finally:
                self._con.unregister("incoming_reviews")
        return int(row[0]) if row else 0

    def review_items(self, status: str | None = None) -> list[ReviewItem]:
        sql = "SELECT event_id_l, event_id_r, match_probability, status, decided_by, note FROM review_queue"
        params: list[str] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        rows = self._con.execute(sql + " ORDER BY queued_at, event_id_l, event_id_r", params).fetchall()
        return [ReviewItem(*r) for r in rows]

    def review_items_touching(self, event_ids: Iterable[str], status: str = "open") -> list[ReviewItem]:
        ids = list(event_ids)
        if not ids:
            return []
        rows = self._con.execute(
            """SELECT event_id_l, event_id_r, match_probability, status, decided_by, note FROM review_queue
               WHERE status = $2 AND (event_id_l IN (SELECT unnest($1)) OR event_id_r IN (SELECT unnest($1)))
               ORDER BY queued_at, event_id_l, event_id_r""", [ids, status]
        ).fetchall()
        return [ReviewItem(*r) for r in rows]

    def _queue_and_cases_touching(self, ids: list[str], statuses: list[str]) -> tuple[list[ReviewItem], frozenset[str]]:
        # One statement, not one per status and one for the cases: each DuckDB statement costs 0.4 ms and more even
        # on these small tables, and a found traveller's lookup waits for them. 2.3 ms a call against 5.1 ms for the
        # three statements at a million events, with list_contains and the order taken here (IN (SELECT unnest(…))
        # took 2.6 ms for the queue alone, and an ORDER BY in the statement 1.2 ms more).
        rows = self._con.execute(
            """SELECT 0 AS kind, queued_at, event_id_l, event_id_r, match_probability, status, decided_by, note,
                      NULL AS disputed
               FROM review_queue
               WHERE list_contains($2, status) AND (list_contains($1, event_id_l) OR list_contains($1, event_id_r))
               UNION ALL
               SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, event_id FROM correction_cases
               WHERE state = 'open' AND list_contains($1, event_id)""", [ids, statuses]
        ).fetchall()
        queued = sorted((r for r in rows if r[0] == 0), key=lambda r: (r[1], r[2], r[3]))
        return [ReviewItem(*r[2:8]) for r in queued], frozenset(r[8] for r in rows if r[0] == 1)

    def decide_review(self, event_id_l: str, event_id_r: str, status: str, decided_by: str, note: str | None) -> None:
        at = _naive_utc(self.clock())
        with self.unit_of_work():
            self._con.execute(
                """UPDATE review_queue SET status = ?, decided_by = ?, note = ?, decided_at = ?
                   WHERE event_id_l = ? AND event_id_r = ?""",
                [status, decided_by, note, at, event_id_l, event_id_r],
            )
            self._con.execute("INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?)",
                              [event_id_l, event_id_r, status, decided_by, note, at])

    def review_history(self, event_id_l: str, event_id_r: str) -> list[ReviewDecision]:
        rows = self._con.execute(
            """SELECT event_id_l, event_id_r, status, decided_by, note, decided_at FROM review_decisions
               WHERE event_id_l = ? AND event_id_r = ? ORDER BY decided_at, rowid""",
            [event_id_l, event_id_r],
        ).fetchall()
        return [ReviewDecision(*r) for r in rows]

    # --- service accounts --------------------------------------------------------------------
    def add_user(self, user: ServiceUser) -> None:
        with self.unit_of_work():
            if self._con.execute("SELECT 1 FROM users WHERE name = ?", [user.name]).fetchall():
                raise StorageError(f"a user named {user.name!r} exists already (names are never reused)")
            self._con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                              [user.name, user.role, user.token_id, user.token_hash, _naive_utc(user.created_at), None])

    def users(self) -> list[ServiceUser]:
        rows = self._con.execute(
            "SELECT name, role, token_id, token_hash, created_at, revoked_at FROM users ORDER BY name").fetchall()
        return [ServiceUser(*r) for r in rows]

    def user_by_token_id(self, token_id: str) -> ServiceUser | None:
        row = _first(self._con.execute(
            "SELECT name, role, token_id, token_hash, created_at, revoked_at FROM users WHERE token_id = ?",
            [token_id]).fetchall())
        return ServiceUser(*row) if row else None

    def revoke_user(self, name: str, at: datetime) -> bool:
        with self.unit_of_work():
            row = _first(self._con.execute(
                "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING name",
                [_naive_utc(at), name]).fetchall())
        return row is not None

    # --- correction cases --------------------------------------------------------------------
    _CASE_COLUMNS = ("case_id, event_id, field, claimed_value, explanation, code_hash, state, decided_by, decision_note, "
                     "created_at, decided_at")

    def open_case(self, case: CorrectionCase) -> None:
        with self.unit_of_work():
            self._con.execute(
                f"INSERT INTO correction_cases ({self._CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [case.case_id, case.event_id, case.field, case.claimed_value, case.explanation, case.code_hash,
                 case.state, None, None, _naive_utc(case.created_at or self.clock()), None])

    def cases(self, state: str | None = None) -> list[CorrectionCase]:
        sql = f"SELECT {self._CASE_COLUMNS} FROM correction_cases"
        rows = self._con.execute(sql + (" WHERE state = ?" if state else "") + " ORDER BY created_at, case_id",
                                 [state] if state else []).fetchall()
        return [CorrectionCase(*r) for r in rows]

    def decide_case(self, case_id: str, state: str, decided_by: str, note: str, at: datetime) -> None:
        with self.unit_of_work():
            self._con.execute(
                "UPDATE correction_cases SET state = ?, decided_by = ?, decision_note = ?, decided_at = ? WHERE case_id = ?",
                [state, decided_by, note, _naive_utc(at), case_id])

    # --- audit log -------------------------------------------------------------------------
    def _audit_tail(self) -> tuple[int, str, Frontier]:
        if not self._holds_chain:  # held until this transaction ends: appenders take turns, in one order
            self._chain.lock.acquire()
            self._holds_chain, self._tail_before = True, self._chain.tail
        if self._chain.tail is None:  # known once read: what the others appended since reached it with their commits
            self._chain.tail = self._read_audit_tail()
        seq, digest, frontier = self._chain.tail
        return seq, digest, frontier.copy()  # sealing extends it in place

    def _read_audit_tail(self) -> tuple[int, str, Frontier]:
        last = _first(self._con.execute(
            "SELECT seq, entry_hash FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)").fetchall())
        if last is None:
            return 0, GENESIS, Frontier()
        head = _first(self._con.execute(
            "SELECT tree_size, frontier FROM audit_tree_heads WHERE tree_size = ? ORDER BY rowid DESC LIMIT 1",
            [int(last[0])]).fetchall())
        if head is None:
            # No head for the newest entry (a head was lost): rebuild the frontier from the entries themselves.
            frontier = Frontier()
            for _, _, digest in self.audit_rows():
                frontier.append(bytes.fromhex(digest))
            return int(last[0]), str(last[1]), frontier
        return int(last[0]), str(last[1]), Frontier.from_json(head[1])

    def _write_audit(self, entries: Sequence[SealedEntry], head: TreeHead) -> None:
        if len(entries) == 1:
            self._con.execute("INSERT INTO audit_log VALUES (?, ?, ?)", [entries[0].seq, entries[0].text, entries[0].hash])
        else:
            table = pa.table({"seq": pa.array([e.seq for e in entries], pa.int64()), "entry": [e.text for e in entries],
                              "entry_hash": [e.hash for e in entries]})
            self._con.register("incoming_audit", table)
            try:
                self._con.execute("INSERT INTO audit_log SELECT seq, entry, entry_hash FROM incoming_audit")
            finally:
                self._con.unregister("incoming_audit")
        self._con.execute("INSERT INTO audit_tree_heads VALUES (?, ?, ?)", [head.tree_size, head.root_hash, head.frontier])
        self._chain.tail = (entries[-1].seq, entries[-1].hash, Frontier.from_json(head.frontier))

    def audit_rows(self, after_seq: int = 0) -> Iterator[tuple[int, str, str]]:
        # Read in batches through Arrow: a million entries stream without holding Python rows for all of them.
        reader = self._con.sql(
            "SELECT seq, entry, entry_hash FROM audit_log WHERE seq > ? ORDER BY seq", params=[after_seq]
        ).to_arrow_reader(65_536)
        for batch in reader:
            yield from zip(*(column.to_pylist() for column in batch.columns))

    def _write_audit_subjects(self, rows: Sequence[tuple[str, int]]) -> None:
        if len(rows) == 1:
            self._con.execute("INSERT INTO audit_subjects VALUES (?, ?)", list(rows[0]))
        elif rows:
            table = pa.table({"subject": [subject for subject, _ in rows],
                              "seq": pa.array([seq for _, seq in rows], pa.int64())})
            self._con.register("incoming_subjects", table)
            try:
                self._con.execute("INSERT INTO audit_subjects SELECT subject, seq FROM incoming_subjects")
            finally:
                self._con.unregister("incoming_subjects")

    def audit_entries_about(self, subjects: Collection[str]) -> list[tuple[int, str]]:
        if not subjects:
            return []
        where, params = _keys_in("subject", sorted(set(subjects)))
        seqs = [int(r[0]) for r in self._con.execute(f"SELECT DISTINCT seq FROM audit_subjects WHERE {where}",
                                                      params).fetchall()]
        if not seqs:
            return []
        where, params = _keys_in("seq", sorted(seqs))  # through the key's index: a join would read every entry
        rows = self._con.execute(f"SELECT seq, entry FROM audit_log WHERE {where} ORDER BY seq", params).fetchall()
        return [(int(seq), str(entry)) for seq, entry in rows]

    def audit_rows_with_subjects(self) -> Iterator[tuple[int, str, str, list[str]]]:
        reader = self._con.sql(
            """SELECT a.seq, a.entry, a.entry_hash, coalesce(s.subjects, []) FROM audit_log a
               LEFT JOIN (SELECT seq, list(subject) AS subjects FROM audit_subjects GROUP BY seq) s USING (seq)
               ORDER BY a.seq""").to_arrow_reader(65_536)
        for batch in reader:
            yield from zip(*(column.to_pylist() for column in batch.columns))

    def _index_audit_subjects(self) -> None:
        """Schema 11: index the subjects of the entries logged before it (later ones are indexed as appended).
        Read in pages, each drained before its rows are written (one connection holds one open result)."""
        last = 0
        while True:
            page = self._con.execute("SELECT seq, entry FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                                     [last, INDEXING_PAGE]).fetchall()
            if not page:
                return
            rows: list[tuple[str, int]] = []
            for seq, text in page:
                objects = parse_entry(text).get("objects")
                rows.extend((subject, seq) for subject in subjects_of(objects if isinstance(objects, dict) else {}))
            self._write_audit_subjects(rows)
            last = int(page[-1][0])

    def audit_heads(self) -> list[tuple[int, str]]:
        rows = self._con.execute("SELECT tree_size, root_hash FROM audit_tree_heads ORDER BY tree_size, rowid").fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def ledger_id(self) -> str:
        row = _first(self._con.execute("SELECT value FROM ledger_meta WHERE key = 'ledger_id'").fetchall())
        if row is None:
            raise StorageError(f"{self.path} has no ledger id (schema older than version 4: open it read-write once)")
        return str(row[0])

    # --- retention ---------------------------------------------------------------------------
    def erase(self, plan: ErasurePlan) -> int:
        ids = pa.table({"event_id": pa.array(list(plan.event_ids), pa.string())})
        persons = pa.table({"person_id": pa.array(list(plan.person_ids), pa.string())})
        quarantined = pa.table({"quarantine_id": pa.array(list(plan.quarantine_ids), pa.string())})
        with self.unit_of_work():
            self._con.register("erased_ids", ids)
            self._con.register("erased_persons", persons)
            self._con.register("erased_quarantine", quarantined)
            try:
                row = _first(self._con.execute("SELECT count(*) FROM events WHERE event_id IN (SELECT event_id FROM erased_ids)").fetchall())
                count = int(row[0]) if row else 0
                for statement in (
                    "DELETE FROM identities WHERE event_id IN (SELECT event_id FROM erased_ids)",
                    """DELETE FROM identity_changes WHERE person_id IN (SELECT person_id FROM erased_persons)
                       OR other_person_id IN (SELECT person_id FROM erased_persons)""",
                    """DELETE FROM quarantine WHERE event_id IN (SELECT event_id FROM erased_ids)
                       OR quarantine_id IN (SELECT quarantine_id FROM erased_quarantine)""",
                    """DELETE FROM review_queue WHERE event_id_l IN (SELECT event_id FROM erased_ids)
                       OR event_id_r IN (SELECT event_id FROM erased_ids)""",
                    """DELETE FROM review_decisions WHERE event_id_l IN (SELECT event_id FROM erased_ids)
                       OR event_id_r IN (SELECT event_id FROM erased_ids)""",
                    "DELETE FROM correction_cases WHERE event_id IN (SELECT event_id FROM erased_ids)",
                    "DELETE FROM events WHERE event_id IN (SELECT event_id FROM erased_ids)",
                ):
                    self._con.execute(statement)
                if plan.event_ids:
                    # Stays derive from events (another person's exit can be a held stay's evidence): the
                    # snapshot goes whole, and the next `stays determine` makes a new one.
                    self._con.execute("DELETE FROM stays")
                    self._con.execute("DELETE FROM stays_runs")
                    # A new run, so that every live linker (each service worker's) drops what it holds in memory.
                    self._con.execute(
                        """INSERT INTO resolution_runs (run_id, method, model_version, events, persons, merges, splits, finished_at)
                           SELECT nextval('run_seq'), 'erasure', NULL, (SELECT count(*) FROM events),
                                  (SELECT count(DISTINCT person_id) FROM identities), 0, 0, now()""")
                self._con.execute("INSERT INTO erasure_log VALUES (?, ?, ?)", [_naive_utc(self.clock()), count, plan.reason])
                self._con.execute("INSERT OR REPLACE INTO ledger_meta VALUES (?, 'true')", [_COMPACTION_PENDING])
            finally:
                for name in ("erased_ids", "erased_persons", "erased_quarantine"):
                    self._con.unregister(name)
        return count

    def erasure_log(self) -> list[tuple[datetime, int, str]]:
        rows = self._con.execute("SELECT erased_at, events, reason FROM erasure_log ORDER BY erased_at").fetchall()
        return [(r[0], int(r[1]), r[2]) for r in rows]

    def replace_models(self, model_json: str, description: str) -> int:
        json.loads(model_json)
        with self.unit_of_work():
            self._con.execute("DELETE FROM linkage_models")
            row = _first(self._con.execute(
                "INSERT INTO linkage_models VALUES (nextval('model_seq'), ?, ?, ?) RETURNING version",
                [description, model_json, _naive_utc(self.clock())],
            ).fetchall())
        return int(row[0]) if row else 0

    # --- physical erasure -------------------------------------------------------------------
    @property
    def _compaction_path(self) -> Path:
        return Path(self.path + ".compacting")

    def _remove_stale_compaction(self) -> None:
        """A rewrite killed before its swap leaves a partial copy (live personal data): the ledger is intact, the copy goes."""
        fresh = str(self._compaction_path)
        for stale in (fresh, *(fresh + side for side in _SIDE_FILES)):
            Path(stale).unlink(missing_ok=True)
        shutil.rmtree(fresh + ".spill", ignore_errors=True)

    def _compaction_pending(self) -> bool:
        row = _first(self._con.execute("SELECT 1 FROM ledger_meta WHERE key = ?", [_COMPACTION_PENDING]).fetchall())
        return row is not None

    def compact(self) -> None:
        """Rewrite the ledger into a fresh file holding only live rows and swap it in atomically.

        DuckDB leaves deleted values in the file (old blocks, column statistics, index keys, free blocks) even
        after CHECKPOINT and VACUUM; COPY FROM DATABASE into a new file carries only what is live, with keys,
        sequences at their current values and row order. The erasure marks the ledger "compaction pending" in
        its own transaction; the fresh copy is written without the mark, so a kill before the swap leaves the
        old file marked and the next open finishes the job (and removes the partial copy).
        """
        if self.read_only:
            raise StorageError(f"{self.path} is open read-only: cannot rewrite it")
        if self._depth:
            raise StorageError("cannot rewrite the ledger inside a unit of work")
        fresh = self._compaction_path
        self._remove_stale_compaction()
        self._con.execute("CHECKPOINT")
        self._con.close()  # a clean close checkpoints the log: no .wal may meet the new file
        leftovers = [side for side in _SIDE_FILES if Path(self.path + side).exists()]
        try:
            if leftovers:
                raise StorageError(f"{self.path}{leftovers[0]} is still there after a clean close")
            # The source stays attached (read-only) through the swap, so no other process can open it to write.
            copier = duckdb.connect(":memory:", config={**self._config, "temp_directory": f"{fresh}.spill"})
            try:
                copier.execute("ATTACH ? AS stayledger_source (READ_ONLY)", [self.path])
                copier.execute("ATTACH ? AS stayledger_compacted", [str(fresh)])
                copier.execute("COPY FROM DATABASE stayledger_source TO stayledger_compacted")
                copier.execute("DELETE FROM stayledger_compacted.ledger_meta WHERE key = ?", [_COMPACTION_PENDING])
                copier.execute("DETACH stayledger_compacted")
                _fsync(fresh)
                failpoint("compaction.before_swap")
                os.replace(fresh, self.path)  # atomic on POSIX: the old file or the new, never a mix
                _fsync(Path(self.path).parent)
            finally:
                copier.close()
        except duckdb.Error as exc:
            raise StorageError(f"{self.path}: could not rewrite the ledger (the erasure is committed; the next "
                               f"`retention --apply` or open finishes it): {exc}") from exc
        finally:
            self._remove_stale_compaction()
            self._con = self._connect()
