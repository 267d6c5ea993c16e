"""Copying a whole ledger between the SQL backends (DuckDB ⇄ PostgreSQL), table by table, as Arrow.

Every table is copied as stored (sequence numbers, run ids, model versions, the audit log's entries and tree
heads, the ledger id), so the copy's audit log verifies against the same checkpoints as the original.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.errors import StorageError
from stayledger.storage.arrow_events import EVENT_SCHEMA
from stayledger.storage.arrow_stays import STAYS_SCHEMA
from stayledger.storage.base import EventStore

_S, _TS, _I32, _I64, _F64 = pa.string(), pa.timestamp("us"), pa.int32(), pa.int64(), pa.float64()


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    schema: pa.Schema
    order: str  # ORDER BY that gives the stored order; "@row" = insertion order (DuckDB rowid, PostgreSQL id)


def _spec(name: str, columns: list[tuple[str, pa.DataType]], order: str) -> TableSpec:
    return TableSpec(name, pa.schema(columns), order)


TABLES: tuple[TableSpec, ...] = (
    _spec("events", [("seq", _I64), *((f.name, f.type) for f in EVENT_SCHEMA), ("ingested_at", _TS)], "seq"),
    _spec("quarantine", [("seq", _I64), ("quarantine_id", _S), ("origin", _S), ("location", _S), ("event_id", _S),
                         ("raw", _S), ("reasons", _S), ("quarantined_at", _TS)], "seq"),
    _spec("resolution_runs", [("run_id", _I32), ("method", _S), ("model_version", _S), ("events", _I64),
                              ("persons", _I64), ("merges", _I32), ("splits", _I32), ("finished_at", _TS)], "run_id"),
    _spec("identities", [("event_id", _S), ("person_id", _S), ("link_probability", _F64), ("run_id", _I32)], "event_id"),
    _spec("identity_changes", [("run_id", _I32), ("change", _S), ("person_id", _S), ("other_person_id", _S),
                               ("events_moved", _I32), ("reason", _S), ("recorded_at", _TS)], "@row"),
    _spec("linkage_models", [("version", _I32), ("description", _S), ("model_json", _S), ("created_at", _TS)], "version"),
    _spec("review_queue", [("event_id_l", _S), ("event_id_r", _S), ("match_probability", _F64), ("status", _S),
                           ("decided_by", _S), ("note", _S), ("queued_at", _TS), ("decided_at", _TS)],
          "event_id_l, event_id_r"),
    _spec("review_decisions", [("event_id_l", _S), ("event_id_r", _S), ("status", _S), ("decided_by", _S),
                               ("note", _S), ("decided_at", _TS)], "@row"),
    _spec("erasure_log", [("erased_at", _TS), ("events", _I64), ("reason", _S)], "erased_at"),
    _spec("ledger_meta", [("key", _S), ("value", _S)], "key"),
    _spec("audit_log", [("seq", _I64), ("entry", _S), ("entry_hash", _S)], "seq"),
    _spec("audit_tree_heads", [("tree_size", _I64), ("root_hash", _S), ("frontier", _S)], "@row"),
    _spec("audit_subjects", [("subject", _S), ("seq", _I64)], "seq, subject"),
    _spec("users", [("name", _S), ("role", _S), ("token_id", _S), ("token_hash", _S), ("created_at", _TS),
                    ("revoked_at", _TS)], "name"),
    _spec("correction_cases", [("case_id", _S), ("event_id", _S), ("field", _S), ("claimed_value", _S),
                               ("explanation", _S), ("code_hash", _S), ("state", _S), ("decided_by", _S),
                               ("decision_note", _S), ("created_at", _TS), ("decided_at", _TS)], "case_id"),
    _spec("stays_runs", [("run_id", _I32), ("as_of", pa.date32()), ("rule_pack", _S), ("engine", _S), ("stays", _I64),
                         ("determined_at", _TS)], "run_id"),
    _spec("stays", [("run_id", _I32), *((f.name, f.type) for f in STAYS_SCHEMA)],
          "person_id, arrived_on, arrival_event_id"),
)
# Sequences a backend draws numbers from, and the column whose maximum they must continue after.
_SEQUENCES = {"quarantine_seq": ("quarantine", "seq"), "run_seq": ("resolution_runs", "run_id"),
              "model_seq": ("linkage_models", "version"), "stays_seq": ("stays_runs", "run_id")}
_NOT_COPIED_META = ("compaction_pending",)  # a DuckDB rewrite in progress is the source's own business


def backend_name(store: EventStore) -> str:
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.storage.postgres import PostgresStore

    if isinstance(store, DuckDBStore):
        return "duckdb"
    if isinstance(store, PostgresStore):
        return "postgresql"
    raise StorageError(f"a ledger can be copied only between DuckDB and PostgreSQL, not from {type(store).__name__}")


def read_table(store: EventStore, spec: TableSpec) -> pa.Table:
    columns = ", ".join(spec.schema.names)
    if backend_name(store) == "duckdb":
        order = "rowid" if spec.order == "@row" else spec.order
        return store.connection.sql(  # type: ignore[attr-defined]
            f"SELECT {columns} FROM {spec.name} ORDER BY {order}").to_arrow_table().cast(spec.schema)
    order = "id" if spec.order == "@row" else spec.order
    return store._copy_out(f"SELECT {columns} FROM {spec.name} ORDER BY {order}", spec.schema)  # type: ignore[attr-defined]


def row_counts(store: EventStore) -> dict[str, int]:
    counts = {}
    for spec in TABLES:
        sql = f"SELECT count(*) FROM {spec.name}"
        if spec.name == "ledger_meta":
            sql += " WHERE key NOT IN (" + ", ".join(f"'{k}'" for k in _NOT_COPIED_META) + ")"
        if backend_name(store) == "duckdb":
            row = store.connection.execute(sql).fetchall()  # type: ignore[attr-defined]
        else:
            row = store._rows(sql)  # type: ignore[attr-defined]
        counts[spec.name] = int(row[0][0])
    return counts


@contextmanager
def snapshot(store: EventStore) -> Iterator[None]:
    """One consistent view of the source while it is read (writers may go on; they are not copied)."""
    with store.unit_of_work():
        if backend_name(store) == "postgresql":
            with store._cursor() as cur:  # type: ignore[attr-defined]
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def write_tables(target: EventStore, tables: dict[str, pa.Table]) -> None:
    """Load a whole ledger into an empty target, in one transaction."""
    kind = backend_name(target)
    with target.unit_of_work():
        if kind == "duckdb":
            con = target.connection  # type: ignore[attr-defined]
            con.execute("DELETE FROM ledger_meta")  # the target's fresh ledger id gives way to the source's
            for spec in TABLES:
                con.register("incoming_rows", tables[spec.name])
                try:
                    columns = ", ".join(spec.schema.names)
                    con.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM incoming_rows")
                finally:
                    con.unregister("incoming_rows")
            for sequence, (table, column) in _SEQUENCES.items():
                row = con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()
                con.execute(f"CREATE OR REPLACE SEQUENCE {sequence} START {int(row[0][0])}")
            target._chain.tail = None  # type: ignore[attr-defined]  # its cached audit tail was of the empty log
        else:
            with target._cursor() as cur:  # type: ignore[attr-defined]
                cur.execute("DELETE FROM ledger_meta")
                for spec in TABLES:
                    if tables[spec.name].num_rows:
                        target._copy_in(cur, spec.name, spec.schema.names, tables[spec.name])  # type: ignore[attr-defined]
                for sequence, (table, column) in {**_SEQUENCES, "event_seq": ("events", "seq")}.items():
                    cur.execute(f"SELECT setval('{sequence}', coalesce(max({column}), 0) + 1, false) FROM {table}")
                for spec in TABLES:  # statistics now, not when autovacuum gets round to it: plans need them
                    cur.execute(f"ANALYZE {spec.name}")


def copy_ledger(source: EventStore, target: EventStore) -> dict[str, int]:
    """Copy every table of ``source`` into the empty ``target`` and check the copy; returns the rows per table."""
    kind = backend_name(target)
    if any(count for name, count in row_counts(target).items() if name != "ledger_meta"):
        raise StorageError(f"the target {kind} ledger is not empty: copy only into a new database (or schema)")
    with snapshot(source):
        tables = {spec.name: read_table(source, spec) for spec in TABLES}
    tables["ledger_meta"] = tables["ledger_meta"].filter(
        pc.invert(pc.is_in(tables["ledger_meta"].column("key"), pa.array(_NOT_COPIED_META))))
    write_tables(target, tables)
    expected = {name: table.num_rows for name, table in tables.items()}
    verify_copy(target, tables, expected)
    return expected


def verify_copy(target: EventStore, tables: dict[str, pa.Table], expected: dict[str, int]) -> None:
    """Counts per table, the events in order, and the audit log entry for entry, then its own verification."""
    from stayledger.audit.log import verify_entries

    counts = row_counts(target)
    wrong = {name: (expected[name], counts[name]) for name in expected if counts[name] != expected[name]}
    if wrong:
        name, (want, got) = next(iter(wrong.items()))
        raise StorageError(f"copy check failed: table {name} has {got} rows, the source {want}")
    events = read_table(target, TABLES[0])
    if not events.equals(tables["events"]):
        raise StorageError("copy check failed: the events differ from the source's")
    rows = list(target.audit_rows())
    source_rows = list(zip(*(tables["audit_log"].column(c).to_pylist() for c in ("seq", "entry", "entry_hash"))))
    if rows != source_rows:
        raise StorageError("copy check failed: the audit log differs from the source's")
    verification = verify_entries(rows, target.audit_heads())
    if not verification.ok:
        raise StorageError(f"copy check failed: the copied audit log does not verify at entry {verification.failed_seq}: {verification.problem}")
