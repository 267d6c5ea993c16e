"""Pair metrics count pairs correctly without listing them."""

from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from stayledger.identity.evaluation import metrics_by_group, pair_metrics


def brute_force(predicted, truth):
    events = sorted(truth)
    pairs_true = {p for p in combinations(events, 2) if truth[p[0]] == truth[p[1]]}
    pairs_pred = {p for p in combinations(events, 2) if predicted[p[0]] == predicted[p[1]]}
    return len(pairs_true), len(pairs_pred), len(pairs_true & pairs_pred)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30))
def test_counts_agree_with_listing_every_pair(labels):
    truth = {f"e{i}": f"t{t}" for i, (t, _) in enumerate(labels)}
    predicted = {f"e{i}": f"p{p}" for i, (_, p) in enumerate(labels)}
    m = pair_metrics(predicted, truth)
    assert (m.true_pairs, m.predicted_pairs, m.true_positive_pairs) == brute_force(predicted, truth)


def test_perfect_resolution_scores_one():
    truth = {"a": "1", "b": "1", "c": "2"}
    m = pair_metrics({"a": "x", "b": "x", "c": "y"}, truth)
    assert m.precision == m.recall == m.f1 == 1.0 and m.exact_cluster_rate == 1.0


def test_a_missed_link_lowers_recall_not_precision():
    m = pair_metrics({"a": "x", "b": "y"}, {"a": "1", "b": "1"})
    assert m.recall == 0.0 and m.precision == 1.0


def test_groups_only_count_their_own_persons():
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "z"}
    by = metrics_by_group(predicted, truth, {"1": "DEU", "2": "CHN"})
    assert by["DEU"].f1 == 1.0 and by["CHN"].recall == 0.0
