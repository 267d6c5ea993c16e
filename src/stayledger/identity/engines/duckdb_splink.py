"""``DuckDBSplinkEngine``: the ``LinkageEngine`` that runs Splink 5 on an in-process DuckDB connection.

Each batch operation (train, predict, blocking counts) opens its own in-memory connection and closes it;
the near-real-time parts (pair comparison, candidate index) keep one connection each for their lifetime,
since a new connection per event would cost more than the lookup. Splink is imported only when it runs.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from stayledger.errors import StayledgerError
from stayledger.identity.engine import LINK_SCHEMA, CandidateIndex, LinkageEngine
from stayledger.identity.features import PAIR_COLUMNS, discount_documents
from stayledger.identity.model import LinkageError, LinkageModel, ModelTrainingError
from stayledger.identity.engines.splink_steps import estimate_parameters
from stayledger.identity.model_spec import BLOCKING_RULES, ELSE_LEVEL, TF_COLUMNS
from stayledger.identity.scoring import ComparedPair

DUCKDB_THREADS: Final = 2
DUCKDB_MEMORY_LIMIT: Final = "2500MB"


# Batch prediction scores the blocked pairs of this many events' worth of left-hand records at a time (Splink's
# chunks): unchunked, ten million events' pairs joined to their features spilled tens of gigabytes to disk.
PREDICT_EVENTS_PER_CHUNK: Final = 2_000_000


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection within the linkage's thread and memory budget; what does not fit spills
    to the system's temporary directory (DuckDB's default, ``.tmp`` in whatever directory the process runs in,
    may be read-only or the user's own folder)."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET temp_directory = ?", [os.path.join(tempfile.gettempdir(), f"stayledger-linkage-{os.getpid()}")])
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # the command's own progress is shown, not a query's
    return con


class _ArrowInput:
    """A table that a prepared query reads by name and that is swapped for each call: DuckDB reads whichever table
    is set when the query runs (through the Arrow stream interface), so the query is parsed, bound and planned once,
    not per call as it would be after registering each new table (10-15 ms for the pair comparison, most of a call
    on a handful of pairs)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.table = schema.empty_table()

    def __arrow_c_schema__(self) -> Any:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.table.__arrow_c_stream__(requested_schema)


class _PreparedQueries:
    """Named queries prepared once on a connection of their own, over named Arrow inputs of any number of rows.

    Each input is registered once per schema: a table of another schema (not seen in practice; DuckDB would refuse
    to read it through a plan bound to the first) registers it anew and prepares the queries again.
    The connection runs without the optimizer, which saves little on these plain scans and, when on, made DuckDB
    bind and optimise the prepared query again at each run; and on one thread, as starting threads for a few
    hundred rows costs more than it saves."""

    def __init__(self, con: duckdb.DuckDBPyConnection, queries: dict[str, str]) -> None:
        self._con = con
        self._con.execute("SET threads = 1")
        self._con.execute("PRAGMA disable_optimizer")
        self._queries = queries
        self._inputs: dict[str, _ArrowInput] = {}
        self._prepared: set[str] = set()

    def run(self, name: str, tables: dict[str, pa.Table]) -> list[tuple[Any, ...]]:
        """Rows of query ``name`` on ``tables`` (input name → table); the caller holds the connection's lock."""
        for input_name, table in tables.items():
            current = self._inputs.get(input_name)
            if current is None or current.schema != table.schema:
                current = self._inputs[input_name] = _ArrowInput(table.schema)
                self._con.register(input_name, current)
                self._prepared.clear()
        if name not in self._prepared:
            self._con.execute(f"PREPARE {name} AS {self._queries[name]}")
            self._prepared.add(name)
        try:
            for input_name, table in tables.items():
                self._inputs[input_name].table = table
            return self._con.execute(f"EXECUTE {name}").fetchall()
        finally:
            for input_name in tables:  # do not keep the caller's tables alive until the next call
                current = self._inputs[input_name]
                current.table = current.schema.empty_table()


def _linker(features: pa.Table, settings: dict[str, Any], con: duckdb.DuckDBPyConnection) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(con)
    frame = db_api.register(features, table_name="stayledger_linkage_features")
    return Linker(frame, settings, log_level=None)


class DuckDBSplinkEngine:
    """Splink on DuckDB in this process: the default engine, and the one that serves single events."""

    name = "duckdb"

    def __init__(self) -> None:
        # One pair comparer per model, for as long as the model is in use (it holds a connection).
        self._comparers: weakref.WeakKeyDictionary[LinkageModel, _PairComparer] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def train(self, features: pa.Table, settings: dict[str, Any], *, seed: int, max_pairs: int) -> dict[str, Any]:
        con = connect()
        try:
            return estimate_parameters(_linker(features, settings, con), seed=seed, max_pairs=max_pairs)
        except StayledgerError:
            raise
        except Exception as exc:  # Splink and DuckDB errors must not leak to users
            raise ModelTrainingError(f"training failed: {type(exc).__name__}: {exc}") from exc
        finally:
            con.close()

    def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
        con = connect()
        try:
            settings = dict(model.settings, retain_matching_columns=False, retain_intermediate_calculation_columns=False)
            linker = _linker(features, settings, con)
            chunks = -(-features.num_rows // PREDICT_EVENTS_PER_CHUNK)
            predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never",
                                                   **({"num_chunks_left": chunks, "num_chunks_right": 1} if chunks > 1 else {}))
            table = con.sql(
                "SELECT unique_id_l AS event_id_l, unique_id_r AS event_id_r, "
                "CAST(match_probability AS DOUBLE) AS match_probability, CAST(match_weight AS DOUBLE) AS match_weight "
                f"FROM {predictions.physical_name} ORDER BY event_id_l, event_id_r"
            ).to_arrow_table()
        except Exception as exc:
            raise LinkageError(f"prediction failed: {type(exc).__name__}: {exc}") from exc
        finally:
            con.close()
        return table.cast(LINK_SCHEMA)

    def compare(self, left: pa.Table, right: pa.Table, model: LinkageModel) -> list[ComparedPair]:
        with self._lock:
            comparer = self._comparers.get(model)
            if comparer is None:
                comparer = self._comparers[model] = _PairComparer(model)
        return comparer.score(left, right)

    def candidate_index(self, features: pa.Table, model: LinkageModel) -> DuckDBCandidateIndex:
        return DuckDBCandidateIndex(features, model)


class _PairComparer:
    """Evaluates the model's level conditions in DuckDB on a small cross join of features."""

    def __init__(self, model: LinkageModel) -> None:
        self._levels = model.compiled()
        self._con = connect()
        self._lock = threading.Lock()
        select = [f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS]
        select += [f"l.tf_{c} AS tf_{c}_l, r.tf_{c} AS tf_{c}_r" for c in TF_COLUMNS]
        gammas = []
        for i, (_, levels) in enumerate(self._levels):
            whens = " ".join(f"WHEN {lv.sql} THEN {j}" for j, lv in enumerate(levels) if lv.sql.strip().upper() != ELSE_LEVEL)
            gammas.append(f"CASE {whens} ELSE {len(levels) - 1} END AS g{i}")
        tf = ", ".join(f"tf_{c}_l, tf_{c}_r" for c in TF_COLUMNS)
        # A subquery, not a CTE: without the optimizer a CTE is materialised (every column copied once more).
        self._sql = (
            f"SELECT unique_id_r, unique_id_l, {', '.join(gammas)}, {tf} "
            f"FROM (SELECT {', '.join(select)} FROM new_features l CROSS JOIN candidate_features r) pairs"
        )
        self._queries = _PreparedQueries(self._con, {"compare_pairs": self._sql})

    def score(self, new_features: pa.Table, candidate_features: pa.Table) -> list[ComparedPair]:
        with self._lock:
            rows = self._queries.run("compare_pairs", {"new_features": new_features,
                                                       "candidate_features": candidate_features})
        n = len(self._levels)
        out = []
        for row in rows:
            tf_values = row[2 + n :]
            tf: dict[str, float | None] = {}
            for k, c in enumerate(TF_COLUMNS):
                tf[f"{c}_l"], tf[f"{c}_r"] = tf_values[2 * k], tf_values[2 * k + 1]
            out.append(ComparedPair(row[0], list(row[2 : 2 + n]), tf, row[1]))
        return out


def _rule_columns(rule: str) -> list[tuple[str, str]]:
    """(left column, right column) of each ``l.X = r.Y`` term of a conjunctive equi-join rule."""
    pairs = []
    for term in rule.split(" AND "):
        left, right = (side.strip() for side in term.split("="))
        if not (left.startswith("l.") and right.startswith("r.")):
            raise LinkageError(f"blocking rule term {term!r} is not of the form l.column = r.column")
        pairs.append((left[2:], right[2:]))
    return pairs


def _key_sql(columns: list[str]) -> str:
    """A 64-bit hash of the columns, NULL when any is NULL (SQL equality never matches NULL)."""
    any_null = " OR ".join(f"{c} IS NULL" for c in columns)
    return f"CASE WHEN {any_null} THEN NULL ELSE hash({', '.join(columns)}) END"


class DuckDBCandidateIndex:
    """Resolved events' features with one hashed key per blocking rule, for near-real-time lookup.

    Finds the candidates ``score_candidates`` should score for a new event: exactly the events
    that batch prediction's blocking rules would pair with it (hash collisions only add
    candidates, which scoring then rejects). Each rule's keys are kept sorted, so a lookup is a
    binary search (O(log n)), not a scan of every resolved event: at a million events the scan
    cost milliseconds per rule per posted event.
    """

    def __init__(self, features: pa.Table, model: LinkageModel) -> None:
        rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in model.settings["blocking_rules_to_generate_predictions"]]
        self._rules = [_rule_columns(rule) for rule in rules]
        self._features = discount_documents(features.select(list(PAIR_COLUMNS)), model.shared_documents).combine_chunks()
        self._lock = threading.Lock()
        self._con = connect()
        keys = ", ".join(f"{_key_sql([r for _, r in rule])} AS k{i}" for i, rule in enumerate(self._rules))
        self._con.register("resolved", self._features)
        table = self._con.sql(f"SELECT {keys} FROM resolved").to_arrow_table().combine_chunks()
        self._con.unregister("resolved")
        self._sorted: list[tuple[np.ndarray, np.ndarray]] = []  # per rule: (sorted keys, their row numbers)
        for column in table.columns:
            rows = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
            values = column.drop_null().to_numpy()
            order = np.argsort(values, kind="stable")
            self._sorted.append((values[order], rows[order]))
        probe_keys = ", ".join(f"{_key_sql([l for l, _ in rule])} AS k{i}" for i, rule in enumerate(self._rules))
        resolved_keys = ", ".join(f"{_key_sql([r for _, r in rule])} AS r{i}" for i, rule in enumerate(self._rules))
        # one row per input row, in order (no ORDER BY needed: a scan)
        self._queries = _PreparedQueries(self._con, {"probe_keys": f"SELECT {probe_keys} FROM probe",
                                                     "resolved_keys": f"SELECT {keys} FROM probe",
                                                     "both_keys": f"SELECT {probe_keys}, {resolved_keys} FROM probe"})
        # A group's new events are asked for both kinds of keys, one after the other: both come from one query (a
        # query costs milliseconds whatever its size), the second answer kept for the second question.
        self._resolved_of: tuple[pa.Table, list[tuple[Any, ...]]] | None = None

    def _keys_of(self, query: str, features: pa.Table) -> list[tuple[Any, ...]]:
        with self._lock:
            rows = self._queries.run(query, {"probe": features.select(list(PAIR_COLUMNS))})
        return [tuple(row) for row in rows]

    def probe_keys(self, new_features: pa.Table) -> tuple[Any, ...]:
        """The (one-row) new event's blocking keys, one per rule, on the side of a new event."""
        found = self._keys_of("probe_keys", new_features)
        return found[0] if found else ()

    def resolved_keys(self, features: pa.Table) -> tuple[Any, ...]:
        """A (one-row) event's blocking keys on the side of the resolved events, so that a later new
        event finds it by its ``probe_keys`` (see ``RecentEvents``)."""
        found = self._keys_of("resolved_keys", features)
        return found[0] if found else ()

    def probe_keys_of_each(self, new_features: pa.Table) -> list[tuple[Any, ...]]:
        """``probe_keys`` of every row, in one query (a posted group's events together)."""
        n = len(self._rules)
        both = self._keys_of("both_keys", new_features)
        with self._lock:
            self._resolved_of = (new_features, [row[n:] for row in both])
        return [row[:n] for row in both]

    def resolved_keys_of_each(self, features: pa.Table) -> list[tuple[Any, ...]]:
        """``resolved_keys`` of every row, in one query (none when ``probe_keys_of_each`` was just asked about them)."""
        with self._lock:
            kept, self._resolved_of = self._resolved_of, None
        if kept is not None and kept[0] is features:
            return kept[1]
        return self._keys_of("resolved_keys", features)

    def candidates_for(self, new_features: pa.Table, keys: tuple[Any, ...] | None = None) -> pa.Table:
        """Resolved events sharing a blocking key with the (one-row) new event's features."""
        hits: list[np.ndarray] = []
        for (sorted_keys, rows), key in zip(self._sorted, keys if keys is not None else self.probe_keys(new_features)):
            if key is None:
                continue
            key = sorted_keys.dtype.type(key)
            low, high = np.searchsorted(sorted_keys, key, "left"), np.searchsorted(sorted_keys, key, "right")
            if high > low:
                hits.append(rows[low:high])
        if not hits:
            return self._features.slice(0, 0)
        return self._features.take(pa.array(np.unique(np.concatenate(hits))))  # in row order, each once


def blocking_rule_counts(features: pa.Table, model: LinkageModel | None = None) -> list[dict[str, Any]]:
    """Exact number of comparisons each prediction blocking rule adds (marginal and cumulative).

    Measured with Splink's blocking analysis before predicting, to catch a pairs explosion.
    """
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    rules = model.settings["blocking_rules_to_generate_predictions"] if model else list(BLOCKING_RULES)
    rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in rules]
    con = connect()
    try:
        frame = DuckDBAPI(con).register(features.select(list(PAIR_COLUMNS)), table_name="stayledger_blocking_features")
        records = count_comparisons_from_blocking_rules(
            frame, blocking_rules=rules, link_type="dedupe_only", unique_id_column_name="unique_id", record_sample_proportion=1.0
        )
        return [
            {"rule": r["blocking_rule"], "marginal": r["marginal_comparison_count"], "cumulative": r["cumulative_comparison_count"]}
            for r in records
        ]
    finally:
        con.close()


if TYPE_CHECKING:  # mypy checks the signatures against the interfaces, not only the names

    def _implements(engine: DuckDBSplinkEngine, index: DuckDBCandidateIndex) -> tuple[LinkageEngine, CandidateIndex]:
        return engine, index
