"""The Spark engine links as the DuckDB engine does: the same pairs with the same scores, the same persons.

One full resolution of the trained test ledger per engine (the same events, the same stored model), through the
resolve use case; each engine's predictions are recorded on the way. Scores are sums of the same weights, in
another order on each engine, so they may differ in the last bits (about 1e-14): two engines could only disagree
on a pair whose probability lies within that of a threshold (0.5, 0.9). Such ties are counted below; on this
population there are none, so the predicted pairs and the persons must be equal.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from stayledger.audit.log import parse_entry
from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.resolve import GREY_ZONE, MATCH_THRESHOLD, ResolveReport, resolve_identities
from tests.access import ADMIN

THRESHOLDS = (GREY_ZONE[0], MATCH_THRESHOLD)
SCORE_TOLERANCE = 1e-9  # weights in bits: far above summation-order noise, far below any level's weight


class Recording:
    """An engine that keeps what its ``predict`` returned (the pairs the batch policy clustered, before expansion)."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.name, self.predictions = engine, engine.name, list[pa.Table]()
        self.master = getattr(engine, "master", None)

    @property
    def predicted(self) -> pa.Table:
        """Every pair ``predict`` scored: identical records are scored once, in a prediction of their own."""
        return pa.concat_tables(self.predictions)

    def train(self, *args: Any, **kwargs: Any) -> Any:
        return self.engine.train(*args, **kwargs)

    def predict(self, *args: Any, **kwargs: Any) -> pa.Table:
        self.predictions.append(self.engine.predict(*args, **kwargs))
        return self.predictions[-1]

    def compare(self, *args: Any) -> Any:
        return self.engine.compare(*args)

    def candidate_index(self, *args: Any) -> Any:
        return self.engine.candidate_index(*args)


def _resolve(source: Path, target: Path, engine: Recording) -> tuple[ResolveReport, dict[str, str], list[tuple], dict]:
    shutil.copy(source, target)
    store = DuckDBStore(target)
    try:
        report = resolve_identities(store, ADMIN, full=True, engine=engine)  # type: ignore[arg-type]
        persons = {e: a.person_id for e, a in store.identity_assignments().items()}
        review = sorted((i.event_id_l, i.event_id_r, round(i.match_probability, 9)) for i in store.review_items())
        entry = parse_entry(list(store.audit_rows())[-1][1])
    finally:
        store.close()
    return report, persons, review, entry


@pytest.fixture(scope="module")
def runs(trained: tuple[Path, list[dict]], spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from stayledger.identity.engines.splink_spark import SplinkSparkEngine

    source, _ = trained
    tmp = tmp_path_factory.mktemp("engines")
    duck, on_spark = Recording(DuckDBSplinkEngine()), Recording(SplinkSparkEngine(session=spark))
    return {"duckdb": (duck, *_resolve(source, tmp / "duck.duckdb", duck)),
            "spark": (on_spark, *_resolve(source, tmp / "spark.duckdb", on_spark))}


def _scores(table: pa.Table) -> dict[tuple[str, str], tuple[float, float]]:
    columns = [table.column(c).to_pylist() for c in ("event_id_l", "event_id_r", "match_probability", "match_weight")]
    return {(a, b): (p, w) for a, b, p, w in zip(*columns)}


def test_spark_predicts_the_same_pairs_with_the_same_scores(runs: dict[str, Any]) -> None:
    duck, on_spark = _scores(runs["duckdb"][0].predicted), _scores(runs["spark"][0].predicted)
    assert len(duck) > 400  # pairs the engines scored: identical records are scored once
    assert set(on_spark) == set(duck)
    assert max(abs(on_spark[k][1] - duck[k][1]) for k in duck) <= SCORE_TOLERANCE
    ties = [k for k in duck for t in THRESHOLDS if (duck[k][0] >= t) != (on_spark[k][0] >= t)]
    assert ties == []  # none straddles a threshold here; any that did would be a tie, not a difference in the model


def test_spark_and_duckdb_resolve_the_same_persons_and_review_questions(runs: dict[str, Any]) -> None:
    _, duck_report, duck_persons, duck_review, _ = runs["duckdb"]
    _, spark_report, spark_persons, spark_review, _ = runs["spark"]
    assert spark_report.method == duck_report.method == "splink"
    assert spark_persons == duck_persons  # person ids are stable, so equal clusters give equal ids
    assert spark_review == duck_review
    assert (spark_report.persons, spark_report.merges, spark_report.splits) == (duck_report.persons, duck_report.merges, duck_report.splits)


def test_the_report_and_the_audit_entry_say_what_ran_on_spark(runs: dict[str, Any]) -> None:
    _, report, _, _, entry = runs["spark"]
    assert report.engine == "spark (local[2])" and report.engine_steps == ("batch prediction",)
    assert any("batch prediction ran on spark (local[2])" in note for note in report.notes)
    objects = entry["objects"]
    assert objects["engine"] == "spark (local[2])" and objects["engine_steps"] == ["batch prediction"]
    assert runs["duckdb"][4]["objects"]["engine"] == "duckdb"
