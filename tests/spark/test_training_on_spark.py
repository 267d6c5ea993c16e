"""Training on Spark gives a model DuckDB's training would give, saved in the same model file.

Both engines run Splink's same steps on the same features. u comes from random pairs: ``max_pairs`` here is more
than all pairs of the population, so neither engine samples (their samplers hash ids with different functions
and would pick different pairs) and the prior and u are counted, not estimated. m comes from EM, iterated until
it converges; here both engines stop after ``EM_ITERATIONS`` iterations (Splink's setting ``max_iterations``; the
product's is 25), which keeps this test within seconds on CI: each Spark query costs a fixed overhead, and EM
runs a few per iteration. The engines sum in another order, and a level few pairs reach can move with that. So the trained weights are compared with a tolerance of
``WEIGHT_TOLERANCE`` bits per level: a level's weight is a log2 Bayes factor, and a bit is a factor of two, small
beside the 4 to 20 bits that decide a link. The model is usable: linking with it matches the truth as well as
with DuckDB's model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.identity.evaluation import pair_metrics
from stayledger.identity.features import build_features
from stayledger.identity.linking import link_events
from stayledger.identity.model import LinkageModel
from stayledger.identity.training import train_model

PEOPLE = 150
WEIGHT_TOLERANCE = 1.0  # bits
EM_ITERATIONS = 4


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str]]:
    from stayledger.domain.events import parse_event
    from stayledger.storage.arrow_events import events_to_table
    from stayledger.synth.generator import generate_population

    out = tmp_path_factory.mktemp("train")
    generate_population(PEOPLE, 21, out)
    lines = (out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events = events_to_table([parse_event(json.loads(line)) for line in lines])
    with (out / "truth_identities.csv").open(encoding="utf-8") as handle:
        truth = {row["event_id"]: row["person"] for row in csv.DictReader(handle)}
    return events, truth


@pytest.fixture(scope="module")
def models(population: tuple[Any, dict[str, str]], spark: Any) -> tuple[LinkageModel, LinkageModel]:
    from stayledger.identity.engines.splink_spark import SplinkSparkEngine

    from stayledger.identity import training

    events, _ = population
    features = build_features(events)
    every_pair = features.num_rows * (features.num_rows - 1) // 2 + 1
    product_settings = training.base_settings

    def fewer_iterations(*, for_training: bool = False) -> dict[str, Any]:
        return {**product_settings(for_training=for_training), "max_iterations": EM_ITERATIONS}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "base_settings", fewer_iterations)
        duck = train_model(features, max_pairs=every_pair, trained_at="2026-01-01", engine=DuckDBSplinkEngine())
        on_spark = train_model(features, max_pairs=every_pair, trained_at="2026-01-01", engine=SplinkSparkEngine(session=spark))
    return duck, on_spark


def _without_parameters(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_parameters(v) for k, v in node.items() if k not in ("m_probability", "u_probability")}
    if isinstance(node, list):
        return [_without_parameters(v) for v in node]
    return node


def test_a_model_trained_on_spark_is_the_same_model_file_with_close_weights(models: tuple[LinkageModel, LinkageModel]) -> None:
    duck, on_spark = models
    # The same file: DuckDB's conditions, levels, fixed weights, name frequencies and metadata; only m and u differ.
    assert _without_parameters(json.loads(on_spark.to_json())) == _without_parameters(json.loads(duck.to_json()))
    assert on_spark.prior == pytest.approx(duck.prior, rel=1e-9)  # counted the same way on both
    apart = {
        f"{name}: {a.label}": round(b.match_weight - a.match_weight, 2)
        for (name, levels), (_, others) in zip(duck.compiled(), on_spark.compiled())
        for a, b in zip(levels, others)
        if not a.is_null and abs(b.match_weight - a.match_weight) > WEIGHT_TOLERANCE
    }
    assert apart == {}


def test_a_model_trained_on_spark_links_as_well_as_duckdbs(
    models: tuple[LinkageModel, LinkageModel], population: tuple[Any, dict[str, str]]
) -> None:
    events, truth = population
    scores = [pair_metrics(link_events(events, model).cluster_of, truth) for model in models]
    duck, on_spark = scores
    assert duck.f1 > 0.9
    assert abs(on_spark.f1 - duck.f1) <= 0.01
