"""Scores and explanations from given weights: the arithmetic every engine's pairs go through (no database)."""

from __future__ import annotations

import math

import pytest

from stayledger.identity.scoring import (
    CompiledLevel,
    ComparedPair,
    explain_levels,
    level_weight,
    match_probability,
    pair_weight,
    prior_weight,
)
from stayledger.reports.waterfall import render_waterfall_text, waterfall_chart_spec

U_EXACT_SURNAME = 0.01  # how often two random records agree exactly on the surname, on average


def _level(label: str, sql: str, weight: float, *, is_null: bool = False, tf: bool = False) -> CompiledLevel:
    return CompiledLevel(
        label=label, sql=sql, is_null=is_null, match_weight=weight, tf_column="surname" if tf else None,
        tf_weight=1.0 if tf else 0.0, tf_min_u=0.0001 if tf else 0.0, log2_u_exact=math.log2(U_EXACT_SURNAME) if tf else 0.0,
    )


SURNAME = ("surname", [
    _level("missing on one side", "surname_l IS NULL OR surname_r IS NULL", 0.0, is_null=True),
    _level("exact", "surname_l = surname_r", 8.0, tf=True),
    _level("different", "ELSE", -5.0),
])
DOCUMENT = ("document_number", [
    _level("missing on one side", "doc_l IS NULL OR doc_r IS NULL", 0.0, is_null=True),
    _level("exact", "doc_l = doc_r", 15.0),
    _level("different document", "ELSE", -4.0),
])
MODEL = [SURNAME, DOCUMENT]
PRIOR = 0.001


def _tf(left: float | None, right: float | None) -> dict[str, float | None]:
    return {"surname_l": left, "surname_r": right, "given_l": None, "given_r": None}


def test_agreeing_on_a_rare_surname_weighs_more_than_agreeing_on_a_common_one() -> None:
    exact = SURNAME[1][1]
    _, rare = level_weight(exact, _tf(0.001, 0.001))
    _, common = level_weight(exact, _tf(0.05, 0.05))
    _, average = level_weight(exact, _tf(U_EXACT_SURNAME, U_EXACT_SURNAME))
    assert rare == pytest.approx(math.log2(10)) and common == pytest.approx(-math.log2(5)) and average == 0.0


def test_the_more_common_side_of_a_pair_decides_how_much_the_name_counts() -> None:
    exact = SURNAME[1][1]
    assert level_weight(exact, _tf(0.001, 0.05)) == level_weight(exact, _tf(0.05, 0.05))
    assert level_weight(exact, _tf(None, 0.001)) == level_weight(exact, _tf(0.001, 0.001))


def test_a_name_seen_less_often_than_the_floor_counts_as_the_floor() -> None:
    exact = SURNAME[1][1]
    assert level_weight(exact, _tf(1e-9, 1e-9)) == level_weight(exact, _tf(0.0001, 0.0001))


def test_disagreeing_and_missing_names_are_not_weighed_by_name_frequency() -> None:
    assert level_weight(SURNAME[1][2], _tf(0.001, 0.001)) == (-5.0, 0.0)
    assert level_weight(SURNAME[1][0], _tf(0.001, None)) == (0.0, 0.0)
    assert level_weight(SURNAME[1][1], _tf(None, None)) == (8.0, 0.0)


def test_a_pairs_score_is_the_prior_plus_each_comparisons_weight() -> None:
    weight = pair_weight(PRIOR, MODEL, [1, 2], _tf(U_EXACT_SURNAME, U_EXACT_SURNAME))
    assert weight == pytest.approx(math.log2(PRIOR / (1 - PRIOR)) + 8.0 - 4.0)
    assert match_probability(weight) == pytest.approx(1 / (1 + (1 - PRIOR) / PRIOR * 2 ** -4.0))


def test_probabilities_of_extreme_weights_neither_overflow_nor_lose_their_side() -> None:
    assert match_probability(0.0) == 0.5
    assert match_probability(5000.0) == 1.0 and match_probability(-5000.0) == 0.0
    assert match_probability(-60.0) > 0.0
    assert match_probability(3.0) + match_probability(-3.0) == pytest.approx(1.0)


def test_an_explanation_adds_up_to_the_pairs_score() -> None:
    pair = ComparedPair("b", [1, 1], _tf(0.001, 0.002))
    features_a = {"surname": "OKONKWO", "doc": "A1234567"}
    features_b = {"surname": "OKONKWO", "doc": "A1234567"}
    explanation = explain_levels(PRIOR, MODEL, pair, features_a, features_b)
    assert explanation.prior_weight == prior_weight(PRIOR)
    assert explanation.final_weight == pytest.approx(explanation.prior_weight + sum(c.match_weight for c in explanation.comparisons))
    assert explanation.final_weight == pair_weight(PRIOR, MODEL, pair.gammas, pair.tf)
    assert explanation.final_probability == match_probability(explanation.final_weight)
    surname, document = explanation.comparisons
    assert (surname.level, surname.value_a, surname.value_b) == ("exact", "OKONKWO", "OKONKWO")
    assert surname.tf_adjustment == pytest.approx(math.log2(U_EXACT_SURNAME / 0.002))
    assert (document.level, document.match_weight, document.tf_adjustment) == ("exact", 15.0, 0.0)


def test_an_explanation_says_why_a_document_number_weighed_nothing() -> None:
    pair = ComparedPair("b", [2, 0], _tf(0.01, 0.01))  # the numbers were emptied before comparing
    crew = explain_levels(PRIOR, MODEL, pair, {"surname": "LI"}, {"surname": "WANG"}, documents=("123456789", "123456789"))
    assert crew.comparisons[1].level == "discounted, a known placeholder: 123456789"
    assert (crew.comparisons[1].value_a, crew.comparisons[1].value_b, crew.comparisons[1].match_weight) == ("123456789", "123456789", 0.0)
    shared = explain_levels(PRIOR, MODEL, pair, {}, {}, documents=("X7001234", None), shared_documents=frozenset({"X7001234"}))
    assert shared.comparisons[1].level == "discounted, shared by unrelated identities: X7001234"
    counted = explain_levels(PRIOR, MODEL, pair, {"doc": "X7001234"}, {}, documents=("X7001234", None))
    assert counted.comparisons[1].level == "missing on one side" and counted.comparisons[1].value_a == "X7001234"


def test_the_waterfall_runs_from_the_prior_to_the_final_weight() -> None:
    explanation = explain_levels(PRIOR, MODEL, ComparedPair("b", [1, 2], _tf(0.01, 0.01)), {"surname": "HAN"}, {"surname": "HAN"})
    bars = waterfall_chart_spec(explanation)["data"]["values"]
    assert [b["step"] for b in bars] == ["prior", "surname", "document_number", "final"]
    assert all(later["start"] == pytest.approx(earlier["end"]) for earlier, later in zip(bars[:-2], bars[1:-1]))
    assert bars[-1]["end"] == pytest.approx(explanation.final_weight)
    text = render_waterfall_text(explanation)
    assert "HAN / HAN" in text and f"{explanation.final_weight:+.2f}" in text.splitlines()[-1]
