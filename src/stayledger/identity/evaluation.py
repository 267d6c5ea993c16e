"""Pair and cluster metrics of an identity resolution against ground truth. Pure core.

Pairs are counted, not listed: true positives are the pairs that share both a predicted and a true cluster,
summed over the contingency table, so a million events cost a dictionary pass, not a trillion pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Mapping


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True, slots=True)
class PairMetrics:
    events: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    true_persons: int
    predicted_persons: int
    exact_clusters: int  # true persons whose events form exactly one predicted cluster

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def exact_cluster_rate(self) -> float:
        return self.exact_clusters / self.true_persons if self.true_persons else 1.0


def pair_metrics(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairMetrics:
    """Compare event_id -> predicted cluster with event_id -> true person, over the events in both."""
    common = [e for e in truth if e in predicted]
    joint: Counter[tuple[str, str]] = Counter((predicted[e], truth[e]) for e in common)
    pred_sizes: Counter[str] = Counter(predicted[e] for e in common)
    true_sizes: Counter[str] = Counter(truth[e] for e in common)
    exact = 0
    for (pred, person), n in joint.items():
        if n == true_sizes[person] and n == pred_sizes[pred]:
            exact += 1
    return PairMetrics(
        events=len(common),
        true_pairs=sum(_pairs(n) for n in true_sizes.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_sizes.values()),
        true_positive_pairs=sum(_pairs(n) for n in joint.values()),
        true_persons=len(true_sizes),
        predicted_persons=len(pred_sizes),
        exact_clusters=exact,
    )


def metrics_by_group(
    predicted: Mapping[str, str], truth: Mapping[str, str], group_of_person: Mapping[str, str]
) -> dict[str, PairMetrics]:
    """Pair metrics restricted to the events of true persons in each group (e.g. nationality)."""
    events_by_group: dict[str, list[str]] = defaultdict(list)
    for event_id, person in truth.items():
        events_by_group[group_of_person.get(person, "?")].append(event_id)
    result = {}
    for group, event_ids in sorted(events_by_group.items()):
        subset_truth = {e: truth[e] for e in event_ids}
        subset_pred = {e: predicted[e] for e in event_ids if e in predicted}
        result[group] = pair_metrics(subset_pred, subset_truth)
    return result
