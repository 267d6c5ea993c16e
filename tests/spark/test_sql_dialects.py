"""The one dialect layer: every level condition of the model means the same on Spark as on DuckDB.

Each condition is evaluated on its own (not only where the comparison's CASE would reach it) over pairs that
share a blocking key in a synthetic population with hard cases (swapped names, compound surnames, initials,
partial birth dates, relatives' passports, keying errors), on both engines, and the truth values compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stayledger.identity.model_spec import BLOCKING_RULES, ELSE_LEVEL, comparisons
from stayledger.identity.sql_dialects import LIST_COLUMNS, spark_condition, spark_settings


def _conditions() -> list[str]:
    seen: dict[str, None] = {}
    for training in (False, True):
        for comparison in comparisons(for_training=training):
            for level in comparison["comparison_levels"]:
                if level["sql_condition"].strip().upper() != ELSE_LEVEL:
                    seen.setdefault(level["sql_condition"])
    return list(seen)


def _event(event_id: str, surname: str, given: str, dob: str, number: str, **more: str) -> dict[str, str]:
    return {"event_id": event_id, "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": surname,
            "given_names": given, "date_of_birth": dob, "sex": "M", "nationality": "GBR", "document_type": "P",
            "document_number": number, "document_issuer": "GBR", "port": "JFK", "admission_class": "WT",
            "admitted_until": "2024-05-30", **more}


# Hard cases the synthetic pairs may miss: initials, partial and estimated birth dates, swapped adjacent digits,
# a compound surname given in part, names in each other's fields; every pair of them is compared.
CRAFTED = [
    _event("X-01", "SMITH", "JAMES ROBERT", "1980-05-17", "123456789"),
    _event("X-02", "SMITH", "J R", "1980", "123456798"),
    _event("X-03", "SMITH", "J", "1980-05", "123465789"),
    _event("X-04", "SMITH", "JAMES R", "1981-01-01", "123456780"),
    _event("X-05", "JAMES", "SMITH ROBERT", "1979-01-01", "923456789"),
    _event("X-06", "GARCIA LOPEZ", "MARIA JOSE", "1990-02-03", "AB1234567"),
    _event("X-07", "GARCIA", "MARIA", "1990-03-02", "AB1234576"),
    _event("X-08", "LOPEZ", "MARIA JOSE PATRICIA", "1990", "A81234567"),
]


@pytest.fixture(scope="module")
def pairs(trained: tuple[Path, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Blocked pairs of the trained ledger's events, both sides' features side by side (l / r), as Parquet."""
    import duckdb

    from stayledger.identity.features import PAIR_COLUMNS, build_features
    from stayledger.storage.duckdb_store import DuckDBStore

    from stayledger.domain.events import parse_event
    from stayledger.storage.arrow_events import events_to_table

    path, _ = trained
    store = DuckDBStore(path)
    try:
        features = build_features(store.events_table()).select(list(PAIR_COLUMNS))
    finally:
        store.close()
    crafted = build_features(events_to_table([parse_event(e) for e in CRAFTED])).select(list(PAIR_COLUMNS))
    unknown = pa.table({c: pa.nulls(1, crafted.schema.field(c).type) if c != "unique_id" else ["X-00"] for c in PAIR_COLUMNS},
                       schema=crafted.schema)  # nothing known but the id: every "missing" level
    con = duckdb.connect()
    con.register("f", pa.concat_tables([features, crafted, unknown]))
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS)
    blocked = " UNION ".join(f"SELECT l.unique_id AS a, r.unique_id AS b FROM f l JOIN f r ON {rule} AND l.unique_id < r.unique_id"
                             for rule in BLOCKING_RULES)
    blocked += (" UNION SELECT l.unique_id, r.unique_id FROM f l JOIN f r ON l.unique_id < r.unique_id "
                "WHERE l.unique_id LIKE 'X-%' AND r.unique_id LIKE 'X-%'")
    table = con.sql(f"SELECT {columns} FROM ({blocked}) p JOIN f l ON l.unique_id = p.a JOIN f r ON r.unique_id = p.b "
                    "ORDER BY unique_id_l, unique_id_r").to_arrow_table()
    out = tmp_path_factory.mktemp("pairs") / "pairs.parquet"
    pq.write_table(table, out)
    return out


def _truth_sql(conditions: list[str]) -> str:
    # NULL counts as false, as in the CASE that assigns a level.
    return ", ".join(f"coalesce({c}, FALSE) AS c{i}" for i, c in enumerate(conditions))


def test_every_level_condition_means_the_same_on_spark_as_on_duckdb(spark: Any, pairs: Path) -> None:
    import duckdb
    from splink import SparkAPI

    SparkAPI(spark_session=spark)  # registers jaro_winkler, damerau_levenshtein
    conditions = _conditions()
    duck = duckdb.sql(f"SELECT unique_id_l, unique_id_r, {_truth_sql(conditions)} FROM read_parquet('{pairs}') "
                      "ORDER BY unique_id_l, unique_id_r").fetchall()
    spark.read.parquet(str(pairs)).createOrReplaceTempView("dialect_pairs")
    on_spark = spark.sql(f"SELECT unique_id_l, unique_id_r, {_truth_sql([spark_condition(c) for c in conditions])} "
                         "FROM dialect_pairs ORDER BY unique_id_l, unique_id_r").collect()
    assert len(duck) == len(on_spark) > 1000
    differing = {i: sum(1 for d, s in zip(duck, on_spark) if d[2 + i] != s[2 + i]) for i in range(len(conditions))}
    assert {conditions[i]: n for i, n in differing.items() if n} == {}
    # The pairs exercise the conditions: every one holds for some pair and fails for another.
    assert [c for i, c in enumerate(conditions) if not any(row[2 + i] for row in duck)] == []
    assert [c for i, c in enumerate(conditions) if all(row[2 + i] for row in duck)] == []


# (a, b, why): DuckDB's value is the one a model was trained with.
SIMILARITY_CASES = [
    ("KYOUKO", "YOKO", "three matches out of order: DuckDB rounds 1.5 transpositions down (0.806, Splink's jar 0.764)"),
    ("YOKO", "KYOUKO", "the same, the other way round"),
    ("CABBC", "CCAC", "the prefix bonus in one rounding: 0.805, not 0.8049999999999999"),
    ("MARTHA", "MARHTA", "one transposition and a common prefix"),
    ("DIXON", "DICKSONX", "lengths apart"),
    ("SMITH", "SMITH", "equal"),
    ("A", "A", "one character each"),
    ("A", "B", "one character each, different"),
    ("AB", "BA", "no match within the window"),
    ("", "", "empty: 0 in DuckDB (the jar says 1)"),
    ("ABC", "", "one side empty"),
    (None, "A", "NULL"),
]


def test_jaro_winkler_on_spark_is_duckdbs_to_the_last_bit(spark: Any) -> None:
    import duckdb
    from splink import SparkAPI

    SparkAPI(spark_session=spark)  # Splink's jar registers its own jaro_winkler: it must not be the one used
    rows = [(i, a, b) for i, (a, b, _) in enumerate(SIMILARITY_CASES)]
    condition = "jaro_winkler_similarity(given_l, given_r)"
    con = duckdb.connect()
    con.execute("CREATE TABLE p (i INTEGER, given_l VARCHAR, given_r VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?, ?)", rows)
    duck = dict(con.execute(f"SELECT i, {condition} FROM p").fetchall())
    frame = spark.createDataFrame(rows, "i int, given_l string, given_r string")
    on_spark = {r[0]: r[1] for r in frame.selectExpr("i", spark_condition(condition)).collect()}
    assert {SIMILARITY_CASES[i][2]: (on_spark[i], duck[i]) for i in duck if on_spark[i] != duck[i]} == {}


def test_list_functions_are_rendered_for_spark_and_the_rest_left_alone() -> None:
    rendered = spark_condition("jaro_winkler_similarity(surname_l, surname_r) >= 0.9")
    assert rendered.endswith(" >= 0.9") and "surname_l" in rendered and "JARO_WINKLER(" not in rendered
    assert spark_condition("len(given_words_l) < len(given_words_r)") == "SIZE(given_words_l) < SIZE(given_words_r)"
    assert spark_condition("length(surname_l) >= 4") == "LENGTH(surname_l) >= 4"  # a string stays a string
    assert "ARRAYS_OVERLAP(surname_words_l, surname_words_r)" in spark_condition("list_has_any(surname_words_l, surname_words_r)")
    assert spark_condition(ELSE_LEVEL) == ELSE_LEVEL
    assert "given_words_l" in LIST_COLUMNS and "surname_l" not in LIST_COLUMNS


def test_spark_settings_leave_the_model_file_untouched() -> None:
    from stayledger.identity.model_spec import base_settings

    settings = base_settings()
    before = pa.scalar(str(settings)).as_py()
    rendered = spark_settings(settings)
    assert str(settings) == before  # a copy: the model keeps its DuckDB text
    assert rendered["blocking_rules_to_generate_predictions"] == settings["blocking_rules_to_generate_predictions"]
    assert "jaro_winkler_similarity" not in str(rendered["comparisons"])
