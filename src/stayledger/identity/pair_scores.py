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


MAX_PAIRS_AT_ONCE = 20_000  # pairs (new events × the union of their candidates) one engine call may compare


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


def score_candidates_of_each(
    new_events: pa.Table, candidates: Sequence[pa.Table], model: LinkageModel, *, engine: LinkageEngine | None = None,
    max_pairs: int = MAX_PAIRS_AT_ONCE,
) -> list[list[tuple[str, float]]]:
    """``score_candidates`` of each row of ``new_events`` against its own candidates (``candidates[i]``), with as
    few engine calls as the pairs allow: each call compares several new events with the union of their candidates
    (a pair's score is its own, so the answers are those of one call per event; a call costs a few milliseconds
    whatever its size up to thousands of pairs). An engine that does not say which new event a pair is of
    (``ComparedPair.new_id``) is called once per event."""
    if new_events.num_rows != len(candidates):
        raise LinkageError(f"{new_events.num_rows} new events but {len(candidates)} candidate tables")
    engine = _engine(engine)
    new_f = with_term_frequencies(_as_features(new_events).select(list(PAIR_COLUMNS)), model)
    cand_f = [_as_features(c).select(list(PAIR_COLUMNS)) for c in candidates]
    ids = [c.column("unique_id").to_pylist() for c in cand_f]
    levels = model.compiled()
    found: list[list[tuple[str, float]]] = [[] for _ in candidates]
    todo = [i for i, c in enumerate(cand_f) if c.num_rows]
    while todo:
        chunk, union = [todo[0]], set(ids[todo[0]])
        for i in todo[1:]:  # greedily, while the cross join stays small
            together = union | set(ids[i])
            if len(together) * (len(chunk) + 1) > max_pairs:
                break
            chunk.append(i)
            union = together
        todo = todo[len(chunk):]
        stacked = pa.concat_tables([cand_f[i] for i in chunk])
        first: dict[str, int] = {}  # one row per candidate event
        for row, event_id in enumerate(stacked.column("unique_id").to_pylist()):
            first.setdefault(event_id, row)
        right = with_term_frequencies(stacked.take(pa.array(list(first.values()), pa.int64())), model)
        left = new_f.take(pa.array(chunk, pa.int64()))
        pairs = engine.compare(left, right, model) if len(chunk) > 1 else None
        if pairs is None or any(pair.new_id is None for pair in pairs):  # one new event, or an engine that won't say
            for i in chunk:
                found[i] = score_candidates(new_events.slice(i, 1), candidates[i], model, engine=engine)
            continue
        score = {(pair.new_id, pair.other_id): match_probability(pair_weight(model.prior, levels, pair.gammas, pair.tf))
                 for pair in pairs}
        new_ids = left.column("unique_id").to_pylist()
        for i, new_id in zip(chunk, new_ids):
            found[i] = sorted(((other, score[(new_id, other)]) for other in ids[i]), key=lambda item: (-item[1], item[0]))
    return found


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
