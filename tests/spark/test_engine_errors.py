"""Splink's and Spark's failures reach users as the project's linkage errors, with the reason and without a trace."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stayledger.identity.model import LinkageError, LinkageModel


@pytest.fixture(scope="module")
def model_and_features(trained: tuple[Path, list[dict]]) -> tuple[LinkageModel, Any]:
    from stayledger.identity.features import build_features
    from stayledger.identity.term_frequencies import with_term_frequencies
    from stayledger.storage.duckdb_store import DuckDBStore

    store = DuckDBStore(trained[0])
    try:
        model = LinkageModel.from_json(store.latest_model()[1])
        features = with_term_frequencies(build_features(store.events_table().slice(0, 50)), model)
    finally:
        store.close()
    return model, features


def _with_condition(model: LinkageModel, condition: str) -> LinkageModel:
    settings = copy.deepcopy(model.settings)
    settings["comparisons"][-1]["comparison_levels"][1]["sql_condition"] = condition
    return LinkageModel(settings, model.term_frequencies, model.rare_value_frequency, model.metadata)


@pytest.mark.parametrize("condition, reason", [
    ("list_slice(sex_l)", "list_slice with 1 arguments has no Spark rendering"),  # the dialect layer refuses
    ("no_such_function(sex_l, sex_r) = 1", "no_such_function"),  # Spark refuses
])
def test_a_failing_prediction_is_a_linkage_error_naming_the_engine_and_the_reason(
    spark: Any, model_and_features: tuple[LinkageModel, Any], condition: str, reason: str
) -> None:
    from stayledger.identity.engines.splink_spark import SplinkSparkEngine

    model, features = model_and_features
    with pytest.raises(LinkageError) as caught:
        SplinkSparkEngine(session=spark).predict(features, _with_condition(model, condition), threshold=0.5)
    message = str(caught.value)
    assert message.startswith("prediction on Spark (local[2]) failed: ")
    assert reason.lower() in message.lower() and "\tat " not in message and len(message) <= 700
