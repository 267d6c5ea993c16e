"""Scores and explanations of given pairs under a model: one new event against its candidates (near real
time), and two records side by side (``explain``, the review console).

Features and name frequencies are built here, the engine says which level each comparison reaches
(``LinkageEngine.compare``), and ``scoring`` does the arithmetic: the same conditions, weights and name
frequencies as batch prediction, so a pair scores the same either way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping, Sequence

import pyarrow as pa

from stayledger.identity.engine import LinkageEngine
from stayledger.identity.features import PAIR_COLUMNS, build_features
from stayledger.identity.model import LinkageError, LinkageModel
from stayledger.identity.normalise import ocr_canonical
from stayledger.identity.placeholders import discounted_document_reason
from stayledger.identity.scoring import PairExplanation, explain_levels, match_probability, pair_weight
from stayledger.identity.term_frequencies import with_term_frequencies


def _engine(engine: LinkageEngine | None) -> LinkageEngine:
    if engine is not None:
        return engine
    from stayledger.identity.engines import default_engine

    return default_engine()


def _as_features(table: pa.Table) -> pa.Table:
    return table if "unique_id" in table.column_names and "surname_tk" in table.column_names else build_features(table)


def score_candidates(
    new_event: pa.Table, candidates: pa.Table, model: LinkageModel, *, engine: LinkageEngine | None = None
) -> list[tuple[str, float]]:
    """Match probability of one new event against each candidate, strongest first.

    Both tables may be events (``EVENT_SCHEMA``) or already built features. Uses the model's
    parameters exactly as Splink's predict does (same conditions, weights and name frequencies).
    """
    if new_event.num_rows != 1:
        raise LinkageError(f"score_candidates takes exactly one new event, got {new_event.num_rows}")
    if candidates.num_rows == 0:
        return []
    new_f = with_term_frequencies(_as_features(new_event).select(list(PAIR_COLUMNS)), model)
    cand_f = with_term_frequencies(_as_features(candidates).select(list(PAIR_COLUMNS)), model)
    levels = model.compiled()
    scored = [
        (pair.other_id, match_probability(pair_weight(model.prior, levels, pair.gammas, pair.tf)))
        for pair in _engine(engine).compare(new_f, cand_f, model)
    ]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def _records_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    from stayledger.storage.arrow_events import EVENT_SCHEMA

    def day(value: Any) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)) if value else None
        except ValueError:
            return None

    columns: dict[str, list[Any]] = {}
    for i, record in enumerate(records):
        for name in EVENT_SCHEMA.names:
            value = record.get(name)
            if name == "event_id" and not value:
                value = f"record_{i + 1}"
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            columns.setdefault(name, []).append(None if value is None else str(value))
    identity = ("event_id", "kind", "surname", "given_names", "date_of_birth", "sex", "nationality", "document_number",
                "document_issuer")
    table = {name: pa.array(columns[name], pa.string()) for name in identity}
    table["occurred_on"] = pa.array([day(r.get("occurred_on")) for r in records], pa.date32())
    return pa.table(table)


def explain_pair(
    record_a: Mapping[str, Any],
    record_b: Mapping[str, Any],
    model: LinkageModel,
    *,
    engine: LinkageEngine | None = None,
    context: Sequence[Mapping[str, Any]] = (),
) -> PairExplanation:
    """Explain the score of two event records (canonical field names) under the model.

    ``context``: other records of the same day that carry either record's document number, so that a number a
    booking copied onto several travellers weighs nothing here, as it did when the records were linked."""
    built = build_features(_records_table([record_a, record_b, *context]))

    def copied(i: int, record: Mapping[str, Any]) -> bool:
        number = record.get("document_number")
        return (bool(ocr_canonical(number)) and built.column("doc_ocr")[i].as_py() is None
                and discounted_document_reason(number, model.shared_documents) is None)

    features = with_term_frequencies(built.slice(0, 2).select(list(PAIR_COLUMNS)), model)
    left, right = features.slice(0, 1), features.slice(1, 1)
    (pair,) = _engine(engine).compare(left, right, model)
    return explain_levels(
        model.prior,
        model.compiled(),
        pair,
        left.to_pylist()[0],
        right.to_pylist()[0],
        documents=(record_a.get("document_number"), record_b.get("document_number")),
        shared_documents=model.shared_documents,
        copied=(copied(0, record_a), copied(1, record_b)),
    )
