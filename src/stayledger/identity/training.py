"""Training the linkage model without labels, on any ``LinkageEngine``.

The engine estimates Splink's parameters; what surrounds that is the same for every engine: the size check,
placeholder document numbers emptied, name frequencies counted, the corrections after training
(``post_training``) and the model's metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version

import pyarrow as pa

from stayledger.identity.engine import LinkageEngine
from stayledger.identity.features import discount_documents, shared_documents_of
from stayledger.identity.model import LinkageModel, ModelTrainingError
from stayledger.identity.model_spec import TF_COLUMNS, TOO_SMALL_TO_TRAIN, base_settings
from stayledger.identity.post_training import correct_trained_settings
from stayledger.identity.term_frequencies import frequencies, with_term_frequencies


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def train_model(
    features: pa.Table,
    *,
    seed: int = 42,
    max_pairs: int = 2_000_000,
    trained_at: datetime | date | str | None = None,
    engine: LinkageEngine | None = None,
) -> LinkageModel:
    """Train the linkage model on a feature table (``build_features``) without labels.

    u probabilities from ``max_pairs`` random pairs (seeded); m probabilities by EM on blocked
    pairs (bounded by ``max_pairs``); the prior from pairs sharing document and birth date.
    ``trained_at`` is recorded in the metadata (the core never reads a clock).
    Raises ``ModelTrainingError`` below ``TOO_SMALL_TO_TRAIN`` records or if Splink fails.
    """
    if features.num_rows < TOO_SMALL_TO_TRAIN:
        raise ModelTrainingError(
            f"{features.num_rows} records is too few to train (need at least {TOO_SMALL_TO_TRAIN}); "
            "use deterministic keys (document number and date of birth) instead"
        )
    if engine is None:
        from stayledger.identity.engines import default_engine

        engine = default_engine()
    shared = shared_documents_of(features)
    features = discount_documents(features, shared)
    tf_lookups: dict[str, dict[str, float]] = {}
    rare: dict[str, float] = {}
    for column in TF_COLUMNS:
        tf_lookups[column], rare[column] = frequencies(features, column)
    model = LinkageModel(settings=base_settings(), term_frequencies=tf_lookups, rare_value_frequency=rare, metadata={})
    settings = engine.train(with_term_frequencies(features, model), base_settings(for_training=True), seed=seed, max_pairs=max_pairs)
    untrained = correct_trained_settings(settings, pairs_sampled=max_pairs)
    metadata = {
        "trained_at": trained_at.isoformat() if isinstance(trained_at, (date, datetime)) else trained_at,
        "record_count": features.num_rows,
        "seed": seed,
        "max_pairs": max_pairs,
        "stayledger_version": _version("stayledger"),
        "splink_version": _version("splink"),
        "levels_without_evidence": untrained,
        "shared_document_numbers": sorted(shared),
    }
    return LinkageModel(settings=settings, term_frequencies=tf_lookups, rare_value_frequency=rare, metadata=metadata)
