"""Corrections to Splink's trained parameters, on settings dicts made here (no training, no database)."""

from __future__ import annotations

from typing import Any

import pytest

from stayledger.identity.post_training import (
    DIFFERENT_LEVEL_MIN_M,
    apply_m_floors,
    correct_trained_settings,
    neutralise_unobserved_levels,
    remove_matches_from_u,
)


def _level(label: str, sql: str, m: float | None, u: float | None, **extra: Any) -> dict[str, Any]:
    level: dict[str, Any] = {"label_for_charts": label, "sql_condition": sql, **extra}
    if m is not None:
        level["m_probability"] = m
    if u is not None:
        level["u_probability"] = u
    return level


def _settings(prior: float = 0.001) -> dict[str, Any]:
    return {
        "probability_two_random_records_match": prior,
        "comparisons": [
            {"output_column_name": "document_number", "comparison_levels": [
                _level("missing on one side", "doc_l IS NULL OR doc_r IS NULL", None, None, is_null_level=True),
                _level("exact", "doc_l = doc_r", 0.95, 0.0012),
                _level("consecutive", "…", 0.5 * 2.0**-13, 0.5, fix_m_probability=True, fix_u_probability=True),
                _level("different", "ELSE", 0.002, 0.9),
            ]},
            {"output_column_name": "surname", "comparison_levels": [
                _level("exact", "surname_l = surname_r", 0.9, 0.01),
                _level("initials", "…", None, 0.0005),
                _level("only matches reach it", "…", 0.05, None),
                _level("different", "ELSE", 0.05, 0.99),
            ]},
        ],
    }


def _levels(settings: dict[str, Any], comparison: str) -> dict[str, dict[str, Any]]:
    found = next(c for c in settings["comparisons"] if c["output_column_name"] == comparison)
    return {lv["label_for_charts"]: lv for lv in found["comparison_levels"]}


def test_agreeing_document_numbers_among_random_pairs_are_mostly_the_same_traveller() -> None:
    settings = _settings(prior=0.001)
    remove_matches_from_u(settings, floor=1e-6)
    document = _levels(settings, "document_number")
    assert document["exact"]["u_probability"] == pytest.approx((0.0012 - 0.001 * 0.95) / (1 - 0.001))
    assert document["consecutive"]["u_probability"] == 0.5  # a fixed level keeps its weight
    assert _levels(settings, "surname")["exact"]["u_probability"] == 0.01  # names are shared by strangers: left alone


def test_the_corrected_u_never_falls_below_what_sampling_can_resolve() -> None:
    settings = _settings(prior=0.002)
    remove_matches_from_u(settings, floor=1e-6)
    assert _levels(settings, "document_number")["exact"]["u_probability"] == 1e-6


def test_a_different_document_is_never_ruled_out_and_the_m_still_sum_to_one() -> None:
    settings = _settings()
    before = _levels(settings, "document_number")
    total_before = sum(lv.get("m_probability", 0.0) for label, lv in before.items() if label != "missing on one side")
    apply_m_floors(settings)
    after = _levels(settings, "document_number")
    assert after["different"]["m_probability"] == DIFFERENT_LEVEL_MIN_M["document_number"]
    assert after["consecutive"]["m_probability"] == 0.5 * 2.0**-13  # fixed: not rescaled
    total_after = sum(lv.get("m_probability", 0.0) for label, lv in after.items() if label != "missing on one side")
    assert total_after == pytest.approx(total_before)


def test_a_level_training_never_observed_weighs_nothing_and_is_listed() -> None:
    settings = _settings()
    untrained = neutralise_unobserved_levels(settings, u_floor=1e-6)
    surname = _levels(settings, "surname")
    assert untrained == ["surname: initials"]
    assert surname["initials"]["m_probability"] == surname["initials"]["u_probability"] == 0.0005
    assert surname["only matches reach it"]["u_probability"] == 1e-6  # rarer than sampling could see


def test_the_trained_settings_get_the_prediction_conditions_of_the_model() -> None:
    from stayledger.identity.model_spec import base_settings

    trained = base_settings(for_training=True)
    trained["probability_two_random_records_match"] = 0.001
    trained["linker_uid"] = "x"
    correct_trained_settings(trained, pairs_sampled=1_000_000)
    assert "linker_uid" not in trained
    predicting = base_settings()
    assert trained["comparisons"] != base_settings(for_training=True)["comparisons"]
    for got, want in zip(trained["comparisons"], predicting["comparisons"], strict=True):
        assert [lv["sql_condition"] for lv in got["comparison_levels"]] == [lv["sql_condition"] for lv in want["comparison_levels"]]
