"""PostgreSQL backend: the server store, chosen by ``--db postgresql://…`` (or STAYLEDGER_DB).

Several processes may write at once. What keeps the ledger's promises under concurrent writers:

- an event id is stored once: ``INSERT … ON CONFLICT (event_id) DO NOTHING`` waits for a concurrent writer of the
  same id to commit, then the row it wrote is compared with ours (identical: a duplicate; else a conflict);
- the audit log stays one chain: an append takes a transaction-scoped advisory lock before reading the tail, so
  the next writer sees the entry just sealed (the lock is released at commit or rollback);
- rows are inserted in event-id order, so two writers of overlapping batches take their key locks in one order;
- appends take turns with each other and with linkers (the identity lock, held until commit), so event seqs
  become visible in order and a service worker that read up to seq N can catch up with ``events_after(N)``
  without missing a later-committed lower seq; and an operation that appends and then resolves (a traveller's
  report) takes the same single lock as one that locks and then appends (a post): no deadlock between them.
  Locks are taken in one order: identities, then audit.

Bulk data moves by ``COPY`` in CSV written and read by Arrow's C++ CSV codec (no Python per row).
Connections come from a pool; a unit of work holds one connection (per thread) until it commits.
"""

from __future__ import annotations

import io
import json
import threading
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Callable, Collection, ContextManager, Iterable, Iterator, Sequence, TypeVar

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg_pool import ConnectionPool

from stayledger.audit.log import GENESIS, SealedEntry, TreeHead, utc_now
from stayledger.audit.merkle import Frontier
from stayledger.domain.events import FIELDS, Event
from stayledger.errors import StorageError
from stayledger.storage.arrow_events import EVENT_SCHEMA
from stayledger.storage.arrow_stays import STAYS_SCHEMA
from stayledger.storage.base import (
    BATCH_PROVENANCE,
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
from stayledger.storage.shared_state import SharedState

_EVENT_COLUMNS = ", ".join(FIELDS)
_STAGED_COLUMNS = (*FIELDS, *BATCH_PROVENANCE)
_V = TypeVar("_V", bound="PostgresStore")
POOL_SIZE = 8  # per process, opened as needed: the CLI needs one; a service worker one per concurrent read and its writer


def migrations() -> dict[int, str]:
    """Numbered SQL files shipped with the package: ``NNNN_name.sql`` is version NNNN."""
    folder = resources.files("stayledger.storage").joinpath("postgres_migrations")
    found = {}
    for item in folder.iterdir():
        if item.name.endswith(".sql"):
            found[int(item.name.split("_", 1)[0])] = item.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


def _naive_utc(moment: datetime) -> datetime:
    """TIMESTAMP columns hold UTC without a zone."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _same_content(left: str, right: str) -> str:
    """SQL true when two rows hold the same normalised event (NULLs equal: absent on both sides)."""
    return "(" + " AND ".join(f"{left}.{f} IS NOT DISTINCT FROM {right}.{f}" for f in FIELDS) + ")"


def _text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """PostgreSQL text cannot hold NUL: a raw record's NUL is kept visibly as ``\\x00``."""
    return pc.replace_substring(values, "\x00", "\\x00")


def _csv(table: pa.Table) -> bytes:
    """CSV the way PostgreSQL's COPY reads it: every value quoted, a NULL an empty unquoted field."""
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getvalue()


def _lock_key(name: str) -> str:
    """SQL for an advisory-lock key private to this ledger (its schema), so two ledgers in one database never wait."""
    return f"hashtext(current_schema() || ':{name}')"


class PostgresStore(EventStore):
    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.clock = clock
        self._local = threading.local()
        timeout = {} if "connect_timeout" in url else {"connect_timeout": 10}
        try:  # one plain connection first: a wrong URL fails at once with the server's reason, not a pool timeout
            psycopg.connect(url, **timeout).close()  # type: ignore[arg-type]
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(f"cannot connect to {self._where}: {reason}") from None
        self._timeout = timeout
        self._reader: _PostgresReader | None = None
        self._appender: _PostgresAuditAppender | None = None
        self._reader_lock = threading.Lock()
        self._pool = self._open_pool(max(1, pool_size), "stayledger")
        self._migrate()

    def _open_pool(self, size: int, name: str, configure: Callable[[psycopg.Connection[Any]], None] | None = None
                   ) -> ConnectionPool:
        pool: ConnectionPool = ConnectionPool(self.url, min_size=1, max_size=size, open=False, name=name,
                                              kwargs={"autocommit": True, **self._timeout}, configure=configure)
        try:
            pool.open(wait=True, timeout=30)
        except Exception as exc:  # the pool's own timeout: the server went away just now
            raise StorageError(f"cannot connect to {self._where}: {exc}") from None
        return pool

    def _view(self, kind: type[_V], pool: ConnectionPool) -> _V:
        """This store as ``kind`` (the reader, the audit appender) on ``pool``, with units of work of its own."""
        view = object.__new__(kind)
        view.__dict__.update(self.__dict__)
        view._pool, view._local = pool, threading.local()
        view._reader, view._appender, view._reader_lock = None, None, threading.Lock()
        return view

    @property
    def _where(self) -> str:
        """The URL without a password, for messages."""
        from stayledger.bootstrap import shown_location

        return shown_location(self.url)

    # --- plumbing --------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute(f"SELECT pg_advisory_xact_lock({_lock_key('migrate')})")  # concurrent first opens wait here
            cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            if not self._one(cur)[0]:  # an application role without DDL rights opens a ledger the owner made
                cur.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
            cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
            current = int(self._one(cur)[0])
            for version, sql in migrations().items():
                if version > current:
                    cur.execute(sql)  # type: ignore[arg-type]  # the shipped files are trusted SQL
                    cur.execute("INSERT INTO schema_version VALUES (%s, timezone('UTC', now()))", [version])

    @property
    def schema_version(self) -> int:
        with self._cursor() as cur:
            cur.execute("SELECT max(version) FROM schema_version")
            row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @staticmethod
    def _one(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
        row = cur.fetchone()
        if row is None:
            raise StorageError("the database returned no row where one was expected")
        return tuple(row)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:  # joins the outer unit: one commit for the operation
            yield
            return
        try:
            with self._pool.connection() as conn, self._transaction(conn):
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None
        except psycopg.Error as exc:
            raise StorageError(f"{self._where}: {exc}".strip()) from exc

    def _transaction(self, conn: psycopg.Connection[Any]) -> ContextManager[Any]:
        """What a unit of work wraps its statements in (the reader and the audit appender have their own)."""
        return conn.transaction()

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor on the unit of work's connection, or on a pooled one for a single statement."""
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                with conn.cursor() as cur:
                    yield cur
                return
            with self._pool.connection() as pooled, pooled.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise StorageError(f"{self._where}: {exc}".strip()) from exc

    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            cur.execute(sql, params)  # type: ignore[arg-type]
            return [tuple(r) for r in cur.fetchall()]

    def _copy_in(self, cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], data: pa.Table) -> None:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:  # type: ignore[arg-type]
            copy.write(_csv(data.select(list(columns))))

    def _copy_out(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Rows of a query as Arrow, by COPY … TO STDOUT in CSV parsed by Arrow (unquoted empty = NULL)."""
        buffer = io.BytesIO()
        with self._cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[arg-type]
                for chunk in copy:
                    buffer.write(chunk)
        if not buffer.tell():
            return schema.empty_table()
        buffer.seek(0)
        types = {f.name: (pa.string() if pa.types.is_date(f.type) else f.type) for f in schema}
        table = pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                                 quoted_strings_can_be_null=False, null_values=[""],
                                                 true_values=["t"], false_values=["f"]),
        )
        return table.cast(schema)

    def audit_appender(self) -> "PostgresStore | None":
        """A store for the audit thread, on this store's pool: its units of work are pipelined (one round trip for
        BEGIN, the audit lock and the newest entry, one for the entries and COMMIT; the store's own takes five, and
        took eight before the tree head's read and the inserts were merged)."""
        with self._reader_lock:
            if self._appender is None:
                self._appender = self._view(_PostgresAuditAppender, self._pool)
            return self._appender

    def close(self) -> None:
        self._pool.close()
        if self._reader is not None:
            self._reader.close()

    def shared_state(self) -> "SharedState":
        """Rate-limit counters and console sessions in this database: shared by every worker serving the ledger."""
        from stayledger.storage.postgres_state import PostgresState

        return PostgresState(self._pool)

    concurrent_writers = True  # each thread's unit of work has its own connection; the locks order the writers

    def reader(self) -> "PostgresStore":
        """A store for reads beside the writes (one per store, made on first use; closed with it).

        Its statements run on connections that refuse writes, with no BEGIN and COMMIT around a unit of work: at
        READ COMMITTED each statement reads a snapshot of its own either way, so a read's transaction only added two
        round trips, and under load each round trip waits for the scheduler (about 2 ms each, measured)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = self._view(_PostgresReader, self._open_pool(POOL_SIZE, "stayledger-reader",
                                                                            configure=_refusing_writes))
            return self._reader

    # --- event log -------------------------------------------------------------------------
    def append_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome:
        outcome = AppendOutcome()
        to_quarantine = list(quarantine)
        with self.unit_of_work():
            if batch.num_rows:
                self.lock_identities()  # appends and links in turn until commit: seqs become visible in order
                unique_ids = pc.count_distinct(batch.column("event_id")).as_py() == batch.num_rows
                firsts = "staged" if unique_ids else "(SELECT DISTINCT ON (event_id) * FROM staged ORDER BY event_id, seq)"
                with self._cursor() as cur:
                    self._stage(cur, batch)
                    repeats: list[tuple[Any, ...]] = []
                    if not unique_ids:
                        # Later copies of an id inside the batch: identical ones are duplicates, others conflicts.
                        cur.execute(
                            f"""SELECT s.event_id, s.origin, s.location, s.raw, {_same_content('s', 'f')}
                                FROM staged s JOIN {firsts} f USING (event_id) WHERE s.seq <> f.seq ORDER BY s.seq"""
                        )
                        repeats = cur.fetchall()
                    # Key order, so overlapping writers lock keys alike; seq (taken at staging) keeps append order.
                    cur.execute(
                        f"""INSERT INTO events (seq, {_EVENT_COLUMNS}) SELECT seq, {_EVENT_COLUMNS} FROM {firsts} f
                            ORDER BY event_id ON CONFLICT (event_id) DO NOTHING"""
                    )
                    outcome.added = cur.rowcount
                    clashes: list[tuple[Any, ...]] = []
                    if outcome.added < pc.count_distinct(batch.column("event_id")).as_py():
                        # Ids stored before, or by a writer that committed while we waited (another seq): compare.
                        cur.execute(
                            f"""SELECT f.event_id, f.origin, f.location, f.raw, {_same_content('f', 'e')}
                                FROM {firsts} f JOIN events e USING (event_id) WHERE e.seq <> f.seq ORDER BY f.seq"""
                        )
                        clashes = cur.fetchall()
                    cur.execute("DROP TABLE staged")
                for rows, hint in ((repeats, "earlier in the same input"), (clashes, "in the ledger")):
                    for event_id, origin, location, raw, identical in rows:
                        if identical:
                            outcome.duplicates += 1
                        else:
                            entry = conflict_entry(event_id, origin, location, raw, hint)
                            outcome.conflicts.append(entry)
                            to_quarantine.append(entry)
            if to_quarantine:
                outcome.quarantined = self._insert_quarantine(to_quarantine)
        return outcome

    def append_new_events(self, batch: pa.Table, quarantine: Sequence[QuarantineEntry]) -> AppendOutcome | None:
        """The common case of a group of posts: every id new and given once. The rows are copied straight into the
        events table, each taking its seq from the sequence in input order (as staging gives them), without the
        staging table's three statements of DDL; None (nothing written) when the batch needs ``append_events``."""
        ids = batch.column("event_id").to_pylist()
        if not ids or len(set(ids)) != len(ids):
            return None
        with self.unit_of_work():
            self.lock_identities()  # every append holds it: none of these ids can be appended before our commit
            with self._cursor() as cur:
                cur.execute("SELECT 1 FROM events WHERE event_id = ANY(%s) LIMIT 1", [ids])
                if cur.fetchone() is not None:
                    return None
                self._copy_in(cur, "events", FIELDS, batch)
            quarantined = self._insert_quarantine(list(quarantine)) if quarantine else 0
        return AppendOutcome(added=len(ids), quarantined=quarantined)

    def _stage(self, cur: psycopg.Cursor[Any], batch: pa.Table) -> None:
        """COPY the batch into a temporary table; each row takes its seq from the events' sequence, in input order."""
        cur.execute(
            f"""CREATE TEMP TABLE staged ON COMMIT DROP AS SELECT {_EVENT_COLUMNS}, ''::text AS origin,
                    ''::text AS location, ''::text AS raw FROM events WITH NO DATA"""
        )
        cur.execute("ALTER TABLE staged ADD COLUMN seq BIGINT NOT NULL DEFAULT nextval('event_seq')")
        data = batch.select(list(_STAGED_COLUMNS))
        for name in ("raw", "origin", "location"):
            data = data.set_column(data.schema.get_field_index(name), name, _text(data.column(name)))
        self._copy_in(cur, "staged", _STAGED_COLUMNS, data)

    def _insert_quarantine(self, entries: Sequence[QuarantineEntry]) -> int:
        unique = {e.quarantine_id: e for e in entries}
        # In key order (lock order for concurrent writers); seq is taken at staging, in input order.
        table = pa.table({
            "quarantine_id": list(unique),
            "origin": _text(pa.array([e.origin for e in unique.values()], pa.string())),
            "location": _text(pa.array([e.location for e in unique.values()], pa.string())),
            "event_id": pa.array([e.event_id for e in unique.values()], pa.string()),
            "raw": _text(pa.array([e.raw.encode("utf-8", "backslashreplace").decode("utf-8") for e in unique.values()],
                                  pa.string())),
            "reasons": _text(pa.array([e.reasons for e in unique.values()], pa.string())),
        })
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute("""CREATE TEMP TABLE staged_quarantine ON COMMIT DROP AS
                           SELECT quarantine_id, origin, location, event_id, raw, reasons FROM quarantine WITH NO DATA""")
            cur.execute("ALTER TABLE staged_quarantine ADD COLUMN seq BIGINT NOT NULL DEFAULT nextval('quarantine_seq')")
            self._copy_in(cur, "staged_quarantine", table.column_names, table)
            cur.execute(
                """INSERT INTO quarantine (seq, quarantine_id, origin, location, event_id, raw, reasons, quarantined_at)
                   SELECT seq, quarantine_id, origin, location, event_id, raw, reasons, %s FROM staged_quarantine
                   ORDER BY quarantine_id ON CONFLICT (quarantine_id) DO NOTHING""",
                [_naive_utc(self.clock())],
            )
            added = cur.rowcount
            cur.execute("DROP TABLE staged_quarantine")
        return added

    def event_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM events")[0][0])

    def events_table(self) -> pa.Table:
        return self._copy_out(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq", EVENT_SCHEMA)

    def event_position(self) -> int:
        return int(self._rows("SELECT coalesce(max(seq), 0) FROM events")[0][0])  # the seq index: no scan

    def events_after(self, position: int) -> tuple[pa.Table, int]:
        # Up to the newest seq seen first: appends commit in seq order (``append_events``), so none below it is missing.
        newest = self.event_position()
        table = self._copy_out(f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > {int(position)} AND seq <= {newest} "
                               "ORDER BY seq", EVENT_SCHEMA)
        return table, max(newest, position)

    def _events(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = self._rows(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY seq", params)
        return [Event(**dict(zip(FIELDS, row))) for row in rows]

    def events_by_id(self, event_ids: Iterable[str]) -> list[Event]:
        ids = list(event_ids)
        return self._events("event_id = ANY(%s)", [ids]) if ids else []

    def events_by_document(self, key: str) -> list[Event]:
        from stayledger.storage.migrations import document_key_sql

        # The expression of the index of migration 0002, constants inlined: PostgreSQL then uses the index.
        return self._events(f"{document_key_sql('document_number')} = %s", [key])

    def document_records(self, key: str, date_of_birth: str) -> list[tuple[Event, IdentityAssignment | None]]:
        from stayledger.storage.migrations import document_key_sql

        rows = self._rows(f"""SELECT i.person_id, i.link_probability, {', '.join('e.' + f for f in FIELDS)}
                              FROM events e LEFT JOIN identities i USING (event_id)
                              WHERE {document_key_sql('e.document_number')} = %s AND e.date_of_birth = %s
                              ORDER BY e.seq""", [key, date_of_birth])
        found = []
        for person, probability, *fields in rows:
            event = Event(**dict(zip(FIELDS, fields)))
            found.append((event, IdentityAssignment(event.event_id, person, probability) if person else None))
        return found

    def quarantine_entries(self, limit: int | None = None) -> list[StoredQuarantine]:
        sql = "SELECT origin, location, raw, reasons, event_id, quarantined_at FROM quarantine ORDER BY seq"
        rows = self._rows(sql + (f" LIMIT {int(limit)}" if limit is not None else ""))
        return [StoredQuarantine(QuarantineEntry(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows]

    def quarantine_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM quarantine")[0][0])

    # --- identities ------------------------------------------------------------------------
    def lock_identities(self) -> None:
        """A transaction-scoped advisory lock: released when the caller's unit of work commits or rolls back."""
        if getattr(self._local, "conn", None) is None:
            return  # outside a unit of work the lock would end with the statement: nothing to serialise
        with self._cursor() as cur:
            cur.execute(f"SELECT pg_advisory_xact_lock({_lock_key('identities')})")

    def identity_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM identities")[0][0])

    def identity_assignments(self) -> dict[str, IdentityAssignment]:
        table = self._copy_out("SELECT event_id, person_id, link_probability FROM identities", _IDENTITY_SCHEMA)
        return {e: IdentityAssignment(e, p, q) for e, p, q in zip(*(c.to_pylist() for c in table.columns))}

    def replace_identities(
        self, assignments: Sequence[IdentityAssignment], changes: Sequence[IdentityChange], run: ResolutionRun
    ) -> int:
        table = pa.table({
            "event_id": pa.array([a.event_id for a in assignments], pa.string()),
            "person_id": pa.array([a.person_id for a in assignments], pa.string()),
            "link_probability": pa.array([a.link_probability for a in assignments], pa.float64()),
        })
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute(
                """INSERT INTO resolution_runs VALUES (nextval('run_seq'), %s, %s, %s, %s, %s, %s, timezone('UTC', now()))
                   RETURNING run_id""",
                [run.method, run.model_version, run.events, run.persons, run.merges, run.splits],
            )
            run_id = int(self._one(cur)[0])
            cur.execute("DELETE FROM identities")
            table = table.append_column("run_id", pa.array([run_id] * table.num_rows, pa.int32()))
            self._copy_in(cur, "identities", table.column_names, table)
            if changes:
                cur.executemany(
                    """INSERT INTO identity_changes (run_id, change, person_id, other_person_id, events_moved, reason,
                       recorded_at) VALUES (%s, %s, %s, %s, %s, %s, timezone('UTC', now()))""",
                    [[run_id, c.change, c.person_id, c.other_person_id, c.events_moved, c.reason] for c in changes],
                )
        return run_id

    def assignments_for(self, event_ids: Iterable[str]) -> dict[str, IdentityAssignment]:
        ids = list(event_ids)
        if not ids:
            return {}
        rows = self._rows("SELECT event_id, person_id, link_probability FROM identities WHERE event_id = ANY(%s)", [ids])
        return {r[0]: IdentityAssignment(r[0], r[1], r[2]) for r in rows}

    def add_identities(self, assignments: Sequence[IdentityAssignment]) -> None:
        if not assignments:
            return
        with self.unit_of_work(), self._cursor() as cur:
            cur.executemany(
                """INSERT INTO identities SELECT %s, %s, %s, coalesce((SELECT max(run_id) FROM resolution_runs), 0)
                   ON CONFLICT (event_id) DO NOTHING""",
                [[a.event_id, a.person_id, a.link_probability] for a in sorted(assignments, key=lambda a: a.event_id)],
            )

    def latest_run(self) -> int:
        return int(self._rows("SELECT coalesce(max(run_id), 0) FROM resolution_runs")[0][0])

    def run_and_position(self) -> tuple[int, int]:
        run, position = self._rows("""SELECT (SELECT coalesce(max(run_id), 0) FROM resolution_runs),
                                             (SELECT coalesce(max(seq), 0) FROM events)""")[0]
        return int(run), int(position)

    def identity_changes(self) -> list[IdentityChange]:
        rows = self._rows("SELECT change, person_id, other_person_id, events_moved, reason FROM identity_changes "
                          "ORDER BY run_id, id")
        return [IdentityChange(*r) for r in rows]

    def person_event_ids(self, person_id: str) -> list[str]:
        rows = self._rows("SELECT i.event_id FROM identities i JOIN events e USING (event_id) WHERE person_id = %s "
                          "ORDER BY e.seq", [person_id])
        return [r[0] for r in rows]

    def events_of_persons(self, person_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, list[str]] = {person: [] for person in wanted}
        if wanted:
            for person, event_id in self._rows("""SELECT i.person_id, i.event_id FROM identities i JOIN events e
                                                  USING (event_id) WHERE i.person_id = ANY(%s) ORDER BY e.seq""", [wanted]):
                found[person].append(event_id)
        return found

    def persons_events(self, person_ids: Iterable[str]) -> dict[str, list[tuple[Event, float | None]]]:
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, list[tuple[Event, float | None]]] = {person: [] for person in wanted}
        if wanted:
            rows = self._rows(f"""SELECT i.person_id, i.link_probability, {', '.join('e.' + f for f in FIELDS)}
                                  FROM identities i JOIN events e USING (event_id)
                                  WHERE i.person_id = ANY(%s) ORDER BY e.seq""", [wanted])
            for person, probability, *fields in rows:
                found[person].append((Event(**dict(zip(FIELDS, fields))), probability))
        return found

    # --- stays snapshot -----------------------------------------------------------------------
    def replace_stays(self, run: StaysRun, stays: pa.Table) -> int:
        table = stays.select(STAYS_SCHEMA.names).cast(STAYS_SCHEMA)
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute("INSERT INTO stays_runs VALUES (nextval('stays_seq'), %s, %s, %s, %s, %s) RETURNING run_id",
                        [run.as_of, run.rule_pack, run.engine, table.num_rows, _naive_utc(self.clock())])
            run_id = int(self._one(cur)[0])
            cur.execute("DELETE FROM stays")
            table = table.add_column(0, "run_id", pa.array([run_id] * table.num_rows, pa.int32()))
            if table.num_rows:
                self._copy_in(cur, "stays", table.column_names, table)
        return run_id

    def stays_snapshot(self) -> tuple[StaysRun, pa.Table] | None:
        rows = self._rows("SELECT run_id, as_of, rule_pack, engine, stays, determined_at FROM stays_runs "
                          "ORDER BY run_id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        run = StaysRun(r[1], r[2], r[3], int(r[4]), int(r[0]), r[5].replace(tzinfo=timezone.utc))
        table = self._copy_out(f"SELECT {', '.join(STAYS_SCHEMA.names)} FROM stays "  # the newest run's only
                               "ORDER BY person_id, arrived_on, arrival_event_id", STAYS_SCHEMA)
        return run, table

    # --- linkage models --------------------------------------------------------------------
    def save_model(self, model_json: str, description: str) -> int:
        json.loads(model_json)  # refuse to store something that is not JSON
        with self.unit_of_work():
            rows = self._rows("""INSERT INTO linkage_models VALUES (nextval('model_seq'), %s, %s, timezone('UTC', now()))
                                 RETURNING version""", [description, model_json])
        return int(rows[0][0])

    def latest_model(self) -> tuple[int, str] | None:
        rows = self._rows("SELECT version, model_json FROM linkage_models ORDER BY version DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    # --- clerical review -------------------------------------------------------------------
    def add_review_items(self, items: Sequence[ReviewItem]) -> int:
        if not items:
            return 0
        unique = {(i.event_id_l, i.event_id_r): i for i in reversed(items)}  # the first of a repeated pair wins
        with self.unit_of_work(), self._cursor() as cur:
            added = 0
            for (left, right), item in sorted(unique.items()):
                cur.execute("""INSERT INTO review_queue VALUES (%s, %s, %s, 'open', NULL, NULL, timezone('UTC', now()),
                               NULL) ON CONFLICT DO NOTHING""", [left, right, item.match_probability])
                added += cur.rowcount
        return added

    def review_items(self, status: str | None = None) -> list[ReviewItem]:
        sql = "SELECT event_id_l, event_id_r, match_probability, status, decided_by, note FROM review_queue"
        where, params = (" WHERE status = %s", [status]) if status is not None else ("", [])
        return [ReviewItem(*r) for r in self._rows(sql + where + " ORDER BY queued_at, event_id_l, event_id_r", params)]

    def review_items_touching(self, event_ids: Iterable[str], status: str = "open") -> list[ReviewItem]:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return []
        rows = self._rows("""SELECT event_id_l, event_id_r, match_probability, status, decided_by, note FROM review_queue
                             WHERE status = %s AND (event_id_l = ANY(%s) OR event_id_r = ANY(%s))
                             ORDER BY queued_at, event_id_l, event_id_r""", [status, ids, ids])
        return [ReviewItem(*r) for r in rows]

    def _queue_and_cases_touching(self, ids: list[str], statuses: list[str]) -> tuple[list[ReviewItem], frozenset[str]]:
        rows = self._rows("""SELECT * FROM (
                                 SELECT 0 AS kind, queued_at, event_id_l, event_id_r, match_probability, status,
                                        decided_by, note, NULL AS disputed
                                 FROM review_queue
                                 WHERE status = ANY(%s) AND (event_id_l = ANY(%s) OR event_id_r = ANY(%s))
                                 UNION ALL
                                 SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, event_id FROM correction_cases
                                 WHERE state = 'open' AND event_id = ANY(%s)
                             ) AS touching ORDER BY kind, queued_at, event_id_l, event_id_r""",
                          [statuses, ids, ids, ids])
        items = [ReviewItem(*r[2:8]) for r in rows if r[0] == 0]
        return items, frozenset(r[8] for r in rows if r[0] == 1)

    def decide_review(self, event_id_l: str, event_id_r: str, status: str, decided_by: str, note: str | None) -> None:
        at = _naive_utc(self.clock())
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute("""UPDATE review_queue SET status = %s, decided_by = %s, note = %s, decided_at = %s
                           WHERE event_id_l = %s AND event_id_r = %s""",
                        [status, decided_by, note, at, event_id_l, event_id_r])
            cur.execute("""INSERT INTO review_decisions (event_id_l, event_id_r, status, decided_by, note, decided_at)
                           VALUES (%s, %s, %s, %s, %s, %s)""", [event_id_l, event_id_r, status, decided_by, note, at])

    def review_history(self, event_id_l: str, event_id_r: str) -> list[ReviewDecision]:
        rows = self._rows("""SELECT event_id_l, event_id_r, status, decided_by, note, decided_at FROM review_decisions
                             WHERE event_id_l = %s AND event_id_r = %s ORDER BY decided_at, id""", [event_id_l, event_id_r])
        return [ReviewDecision(*r) for r in rows]

    # --- service accounts --------------------------------------------------------------------
    _USER_COLUMNS = "name, role, token_id, token_hash, created_at, revoked_at"

    def add_user(self, user: ServiceUser) -> None:
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute(f"INSERT INTO users ({self._USER_COLUMNS}) VALUES (%s, %s, %s, %s, %s, NULL) "
                        "ON CONFLICT (name) DO NOTHING",
                        [user.name, user.role, user.token_id, user.token_hash, _naive_utc(user.created_at)])
            if cur.rowcount == 0:
                raise StorageError(f"a user named {user.name!r} exists already (names are never reused)")

    def users(self) -> list[ServiceUser]:
        return [ServiceUser(*r) for r in self._rows(f"SELECT {self._USER_COLUMNS} FROM users ORDER BY name")]

    def user_by_token_id(self, token_id: str) -> ServiceUser | None:
        rows = self._rows(f"SELECT {self._USER_COLUMNS} FROM users WHERE token_id = %s", [token_id])
        return ServiceUser(*rows[0]) if rows else None

    def revoke_user(self, name: str, at: datetime) -> bool:
        with self.unit_of_work():
            rows = self._rows("UPDATE users SET revoked_at = %s WHERE name = %s AND revoked_at IS NULL RETURNING name",
                              [_naive_utc(at), name])
        return bool(rows)

    # --- correction cases --------------------------------------------------------------------
    _CASE_COLUMNS = ("case_id, event_id, field, claimed_value, explanation, code_hash, state, decided_by, decision_note, "
                     "created_at, decided_at")

    def open_case(self, case: CorrectionCase) -> None:
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute(f"INSERT INTO correction_cases ({self._CASE_COLUMNS}) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, NULL, NULL, %s, NULL)",
                        [case.case_id, case.event_id, case.field, case.claimed_value, case.explanation, case.code_hash,
                         case.state, _naive_utc(case.created_at or self.clock())])

    def cases(self, state: str | None = None) -> list[CorrectionCase]:
        where, params = (" WHERE state = %s", [state]) if state else ("", [])
        rows = self._rows(f"SELECT {self._CASE_COLUMNS} FROM correction_cases{where} ORDER BY created_at, case_id", params)
        return [CorrectionCase(*r) for r in rows]

    def decide_case(self, case_id: str, state: str, decided_by: str, note: str, at: datetime) -> None:
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute("UPDATE correction_cases SET state = %s, decided_by = %s, decision_note = %s, decided_at = %s "
                        "WHERE case_id = %s", [state, decided_by, note, _naive_utc(at), case_id])

    # --- audit log -------------------------------------------------------------------------
    def _audit_tail(self) -> tuple[int, str, Frontier]:
        """Called by ``append_audit`` inside its unit of work: the lock serialises writers until this one commits."""
        with self._cursor() as cur:
            # The lock first, on its own: a statement reads what was committed when it began, so the newest entry
            # is read by the next statement, once the lock is held.
            cur.execute(f"SELECT pg_advisory_xact_lock({_lock_key('audit')})")
            cur.execute("""SELECT last.seq, last.entry_hash, (SELECT frontier FROM audit_tree_heads
                                                               WHERE tree_size = last.seq ORDER BY id DESC LIMIT 1)
                           FROM (SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last""")
            last = cur.fetchone()
        if last is None:
            return 0, GENESIS, Frontier()
        if last[2] is None:  # no head for the newest entry (a head was lost): rebuild the frontier from the entries
            return int(last[0]), str(last[1]), Frontier.from_leaf_hashes(bytes.fromhex(h) for _, _, h in self.audit_rows())
        return int(last[0]), str(last[1]), Frontier.from_json(last[2])

    def _write_sealed(self, entries: Sequence[SealedEntry], head: TreeHead, subjects: Sequence[tuple[str, int]]) -> None:
        """The entries, their tree head and their subject rows in one statement: one round trip, not three."""
        with self._cursor() as cur:
            cur.execute("""WITH entries AS (INSERT INTO audit_log (seq, entry, entry_hash)
                                            SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])),
                                head AS (INSERT INTO audit_tree_heads (tree_size, root_hash, frontier)
                                         VALUES (%s, %s, %s))
                           INSERT INTO audit_subjects (subject, seq) SELECT * FROM unnest(%s::text[], %s::bigint[])""",
                        [[e.seq for e in entries], [e.text for e in entries], [e.hash for e in entries],
                         head.tree_size, head.root_hash, head.frontier,
                         [subject for subject, _ in subjects], [seq for _, seq in subjects]])

    def audit_rows(self, after_seq: int = 0) -> Iterator[tuple[int, str, str]]:
        # Read in pages by seq: a million entries stream without holding Python rows for all of them.
        last = after_seq
        while True:
            rows = self._rows("SELECT seq, entry, entry_hash FROM audit_log WHERE seq > %s ORDER BY seq LIMIT 50000",
                              [last])
            if not rows:
                return
            for seq, entry, digest in rows:
                yield int(seq), str(entry), str(digest)
            last = int(rows[-1][0])

    def audit_entries_about(self, subjects: Collection[str]) -> list[tuple[int, str]]:
        if not subjects:
            return []
        rows = self._rows("SELECT seq, entry FROM audit_log WHERE seq IN "
                          "(SELECT seq FROM audit_subjects WHERE subject = ANY(%s)) ORDER BY seq", [sorted(set(subjects))])
        return [(int(seq), str(entry)) for seq, entry in rows]

    def audit_rows_with_subjects(self) -> Iterator[tuple[int, str, str, list[str]]]:
        last = 0
        while True:  # in pages, as audit_rows
            rows = self._rows("SELECT a.seq, a.entry, a.entry_hash, coalesce((SELECT array_agg(s.subject) FROM "
                              "audit_subjects s WHERE s.seq = a.seq), '{}') FROM audit_log a WHERE a.seq > %s "
                              "ORDER BY a.seq LIMIT 50000", [last])
            if not rows:
                return
            for seq, entry, digest, subjects in rows:
                yield int(seq), str(entry), str(digest), [str(x) for x in subjects]
            last = int(rows[-1][0])

    def audit_heads(self) -> list[tuple[int, str]]:
        return [(int(r[0]), str(r[1])) for r in self._rows("SELECT tree_size, root_hash FROM audit_tree_heads "
                                                           "ORDER BY tree_size, id")]

    def ledger_id(self) -> str:
        rows = self._rows("SELECT value FROM ledger_meta WHERE key = 'ledger_id'")
        if not rows:
            raise StorageError(f"{self._where} has no ledger id")
        return str(rows[0][0])

    # --- retention ---------------------------------------------------------------------------
    def erase(self, plan: ErasurePlan) -> int:
        ids, persons, quarantined = list(plan.event_ids), list(plan.person_ids), list(plan.quarantine_ids)
        with self.unit_of_work(), self._cursor() as cur:
            cur.execute("SELECT count(*) FROM events WHERE event_id = ANY(%s)", [ids])
            count = int(self._one(cur)[0])
            cur.execute("DELETE FROM identities WHERE event_id = ANY(%s)", [ids])
            cur.execute("DELETE FROM identity_changes WHERE person_id = ANY(%s) OR other_person_id = ANY(%s)",
                        [persons, persons])
            cur.execute("DELETE FROM quarantine WHERE event_id = ANY(%s) OR quarantine_id = ANY(%s)", [ids, quarantined])
            for table in ("review_queue", "review_decisions"):
                cur.execute(f"DELETE FROM {table} WHERE event_id_l = ANY(%s) OR event_id_r = ANY(%s)",  # type: ignore[arg-type]
                            [ids, ids])
            cur.execute("DELETE FROM correction_cases WHERE event_id = ANY(%s)", [ids])
            cur.execute("DELETE FROM events WHERE event_id = ANY(%s)", [ids])
            if ids:  # stays derive from events (another person's exit can be a held stay's evidence): all go
                cur.execute("DELETE FROM stays")
                cur.execute("DELETE FROM stays_runs")
                # A new run, so that every live linker (each service worker's) drops what it holds in memory.
                cur.execute("""INSERT INTO resolution_runs
                               SELECT nextval('run_seq'), 'erasure', NULL, (SELECT count(*) FROM events),
                                      (SELECT count(DISTINCT person_id) FROM identities), 0, 0, timezone('UTC', now())""")
            cur.execute("INSERT INTO erasure_log VALUES (%s, %s, %s)", [_naive_utc(self.clock()), count, plan.reason])
        return count

    def erasure_log(self) -> list[tuple[datetime, int, str]]:
        return [(r[0], int(r[1]), r[2]) for r in self._rows("SELECT erased_at, events, reason FROM erasure_log "
                                                            "ORDER BY erased_at")]

    def replace_models(self, model_json: str, description: str) -> int:
        json.loads(model_json)
        with self.unit_of_work():
            self._rows("DELETE FROM linkage_models RETURNING version")
            rows = self._rows("INSERT INTO linkage_models VALUES (nextval('model_seq'), %s, %s, %s) RETURNING version",
                              [description, model_json, _naive_utc(self.clock())])
        return int(rows[0][0])

    _ERASED_TABLES = ("events", "identities", "identity_changes", "quarantine", "review_queue", "review_decisions",
                      "correction_cases", "linkage_models", "stays", "stays_runs")

    def compact(self) -> None:
        """VACUUM the tables an erasure touches, so the dead row versions' space is reclaimed and reused.

        What VACUUM cannot reach: WAL segments and base backups taken before it, until they age out (see the docs).
        """
        if getattr(self._local, "conn", None) is not None:
            raise StorageError("cannot VACUUM inside a unit of work")
        with self._pool.connection() as conn:  # autocommit: VACUUM cannot run in a transaction
            # VACUUM only warns and skips a table the role may not vacuum: refuse instead of leaving rows behind.
            others = conn.execute(
                """SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s)
                   AND NOT pg_has_role(tableowner, 'USAGE')
                   AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) ORDER BY tablename""",
                [list(self._ERASED_TABLES)]).fetchall()
            if others:
                raise StorageError(f"{self._where}: the erasure is committed, but this role may not VACUUM "
                                   f"{others[0][0]} (only its owner may): run `retention --apply` as the owner role "
                                   "to rewrite the tables without the erased rows")
            try:
                for table in self._ERASED_TABLES:
                    conn.execute(f"VACUUM (FULL, ANALYZE) {table}")  # type: ignore[arg-type]
            except psycopg.Error as exc:
                raise StorageError(f"{self._where}: VACUUM after the erasure failed (the erasure is committed): "
                                   f"{exc}") from exc


_IDENTITY_SCHEMA = pa.schema([("event_id", pa.string()), ("person_id", pa.string()),
                              ("link_probability", pa.float64())])


class _PostgresReader(PostgresStore):
    """``PostgresStore.reader()``: the same ledger, read on a pool of its own whose connections refuse writes
    (``default_transaction_read_only``: a write reaching a reader fails loudly instead of committing on its own), and
    whose unit of work holds one connection without opening a transaction."""

    def _transaction(self, conn: psycopg.Connection[Any]) -> ContextManager[Any]:
        return nullcontext()  # each statement on its own (read-only: nothing to commit)

    def reader(self) -> "PostgresStore":
        return self

    def audit_appender(self) -> "PostgresStore | None":
        return None  # its connections refuse writes: a read's entries go to the store's own appender


class _PostgresAuditAppender(PostgresStore):
    """``PostgresStore.audit_appender()``: the same ledger and pool; a unit of work sends its statements in pipeline
    mode, so that a statement whose result is not read waits for nothing (each round trip waits for the scheduler
    under load, on both sides). Only audit appends run here: their one read, the newest entry, follows the lock."""

    @contextmanager
    def _transaction(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        # BEGIN goes with the lock and the read of the newest entry; the entries with COMMIT. (psycopg's own
        # transaction block waits for BEGIN's answer, and for COMMIT's apart from the entries'.)
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                yield
                conn.execute("COMMIT")
        except BaseException:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")  # whatever reached the server is undone
            raise

    def audit_appender(self) -> "PostgresStore | None":
        return self

    def close(self) -> None:  # the pool is its owner's
        pass


def _refusing_writes(conn: psycopg.Connection[Any]) -> None:
    """A reader's connection, once when made: every transaction on it, the implicit ones included, is read-only."""
    conn.execute("SET default_transaction_read_only = on")
