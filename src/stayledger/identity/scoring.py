"""Scores and explanations of a pair from the model's weights: pure arithmetic, no engine, no database.

An engine says which level of each comparison a pair reaches and how common its names are (a
``ComparedPair``); this module turns that into Splink's match weight and probability, and into the
step-by-step explanation shown by ``explain`` and the review console. The sums are Splink's own: the prior's
log-odds plus each comparison's level weight with its name-frequency adjustment, so a pair gets the same
score here as in batch prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Mapping, NamedTuple, Sequence

from stayledger.identity.model_spec import ELSE_LEVEL
from stayledger.identity.placeholders import discounted_document_reason


@dataclass(frozen=True, slots=True)
class CompiledLevel:
    """One level of a comparison with its trained match weight and name-frequency parameters."""

    label: str
    sql: str
    is_null: bool
    match_weight: float
    tf_column: str | None
    tf_weight: float
    tf_min_u: float
    log2_u_exact: float


# Per comparison (in the model's order): its output name and its levels, strongest first.
CompiledComparisons = Sequence[tuple[str, Sequence[CompiledLevel]]]


class ComparedPair(NamedTuple):
    """What an engine finds for one pair: the level reached in each comparison and the name frequencies
    (``surname_l``, ``surname_r``, ``given_l``, ``given_r``; None when the name is missing)."""

    other_id: str
    gammas: list[int]
    tf: dict[str, float | None]
    new_id: str | None = None  # the left row's id, when the engine says (needed when ``left`` has several rows)


@dataclass(frozen=True, slots=True)
class ComparisonExplanation:
    """One comparison's contribution to a pair's score."""

    name: str
    level: str
    match_weight: float  # log2 Bayes factor of the level, including the name-frequency adjustment
    tf_adjustment: float  # part of match_weight due to how common the exact name is
    value_a: str | None
    value_b: str | None


@dataclass(frozen=True, slots=True)
class PairExplanation:
    """Why two records are (not) the same person: prior, each comparison, final probability."""

    prior_probability: float
    prior_weight: float
    comparisons: tuple[ComparisonExplanation, ...]
    final_weight: float
    final_probability: float


# The feature shown as each comparison's values in an explanation.
SHOWN_VALUE: Final = {
    "surname": "surname",
    "given_names": "given",
    "date_of_birth": "dob",
    "document_number": "doc",
    "nationality": "nationality",
    "sex": "sex",
}


def level_weight(level: CompiledLevel, tf: Mapping[str, float | None]) -> tuple[float, float]:
    """Splink's match weight of a level and its term-frequency adjustment for this pair.

    The adjustment applies to a level with a name-frequency column when the name is known on either
    side: the rarer the name (the more common side counts), the more agreeing on it weighs."""
    if level.is_null or level.tf_column is None or level.tf_weight == 0 or level.sql.strip().upper() == ELSE_LEVEL:
        return level.match_weight, 0.0
    left, right = tf.get(f"{level.tf_column}_l"), tf.get(f"{level.tf_column}_r")
    present = [v for v in (left, right) if v is not None]
    if not present:
        return level.match_weight, 0.0
    u = max(max(present), level.tf_min_u)
    return level.match_weight, level.tf_weight * (level.log2_u_exact - math.log2(u))


def match_probability(weight: float) -> float:
    """The probability of a match weight (log2 odds), computed without overflow at either end."""
    if weight >= 0:
        return 1.0 / (1.0 + 2.0 ** (-weight))
    return 2.0**weight / (1.0 + 2.0**weight)


def prior_weight(prior: float) -> float:
    """The log2 odds of the prior probability that two random events are one person."""
    return math.log2(prior / (1 - prior))


def pair_weight(prior: float, comparisons: CompiledComparisons, gammas: Sequence[int], tf: Mapping[str, float | None]) -> float:
    """The match weight of a pair: the prior's weight plus each comparison's level weight (with its
    name-frequency adjustment), in the model's order."""
    weight = prior_weight(prior)
    for (_, levels), g in zip(comparisons, gammas):
        base, adjustment = level_weight(levels[g], tf)
        weight += base + adjustment
    return weight


def explain_levels(
    prior: float,
    comparisons: CompiledComparisons,
    pair: ComparedPair,
    values_a: Mapping[str, Any],
    values_b: Mapping[str, Any],
    *,
    documents: tuple[str | None, str | None] = (None, None),
    shared_documents: frozenset[str] = frozenset(),
    copied: tuple[bool, bool] = (False, False),
) -> PairExplanation:
    """The explanation of a compared pair: the prior, each comparison's level, weight and values, the result.

    ``values_a`` / ``values_b`` are the two records' features (``SHOWN_VALUE`` names the one shown per
    comparison). ``documents`` are the records' document numbers as given: a number that weighed nothing
    (a known placeholder, or among ``shared_documents``, numbers given with several unrelated identities)
    is shown with the reason, not as missing; ``copied`` says which record's number was copied onto other
    travellers' records of its day (``placeholders.copied_document_records``).
    """
    start = prior_weight(prior)
    total = start
    parts = []
    discounted = [
        (n, discounted_document_reason(n, shared_documents)
         or ("on other travellers' records of the same day (copied from a booking)" if was_copied else None))
        for n, was_copied in zip(documents, copied) if n
    ]
    for (name, levels), g in zip(comparisons, pair.gammas):
        level = levels[g]
        base, adjustment = level_weight(level, pair.tf)
        total += base + adjustment
        shown = SHOWN_VALUE.get(name, name)
        label, value_a, value_b = level.label, values_a.get(shown), values_b.get(shown)
        if name == "document_number" and any(reason for _, reason in discounted):
            # Say that a number was there and why it weighed nothing, not just "missing".
            label = "; ".join(dict.fromkeys(f"discounted, {reason}: {n}" for n, reason in discounted if reason))
            value_a, value_b = (str(n) if n else None for n in documents)
        parts.append(ComparisonExplanation(name, label, base + adjustment, adjustment, value_a, value_b))
    return PairExplanation(prior, start, tuple(parts), total, match_probability(total))
