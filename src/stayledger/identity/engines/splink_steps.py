"""The Splink calls every engine makes the same way: the training sequence.

Kept in one place so that the DuckDB and the Spark engine estimate the same parameters by the same steps; only
the database under the ``Linker`` differs."""

from __future__ import annotations

from typing import Any

from stayledger.identity.model_spec import EM_RULES, PRIOR_RULE, PRIOR_RULE_RECALL


def estimate_parameters(linker: Any, *, seed: int, max_pairs: int) -> dict[str, Any]:
    """The prior from ``PRIOR_RULE``, u from ``max_pairs`` random pairs (seeded), m by EM over ``EM_RULES``;
    Splink's saved settings."""
    training = linker.training
    training.estimate_probability_two_random_records_match([PRIOR_RULE], recall=PRIOR_RULE_RECALL)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in EM_RULES:
        training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=max_pairs)
    trained: dict[str, Any] = linker.misc.save_model_to_json()
    return trained
