"""The batch linking policy: which scored pairs join two events, which go to review, what the guard refuses.

Over any ``LinkageEngine``: the engine scores the blocked pairs (``predict_links``); the clustering
(``clustering.cluster_links``) joins links at or above the match threshold under the review constraints
(must/cannot-link) and its chaining guard (relatives' passports, contradicting records, namesakes, document
histories); links in the grey zone that confident evidence does not settle, and links kept on thin
document-history evidence against them, become questions for a reviewer.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.bulk_objects import cycle_collector_paused
from stayledger.identity.clustering import (
    ClusterResult,
    IdentityKeys,
    cluster_links,
    document_format,
    document_history_conflict,
)
from stayledger.identity.engine import LINK_SCHEMA, LinkageEngine
from stayledger.identity.features import build_features, discount_documents, shared_documents_of
from stayledger.identity.identical_records import expand_links, group_identical, pairs_table, representatives_table, within_group_model
from stayledger.identity.model import LinkageError, LinkageModel
from stayledger.identity.term_frequencies import with_term_frequencies


def predict_links(features: pa.Table, model: LinkageModel, *, threshold: float = 0.01, engine: LinkageEngine | None = None) -> pa.Table:
    """Score the blocked candidate pairs of a feature table; keep those at or above ``threshold``.

    Returns ``event_id_l, event_id_r, match_probability, match_weight`` (event_id_l < event_id_r),
    sorted by the two ids so that equal inputs give equal tables. Events with identical features are scored
    once (``identical_records``); the result is the same as scoring every event.
    """
    if features.num_rows < 2:
        return LINK_SCHEMA.empty_table()
    if engine is None:
        from stayledger.identity.engines import default_engine

        engine = default_engine()
    features = with_term_frequencies(features, model)
    groups = group_identical(features)
    if not groups.collapses:
        return engine.predict(features, model, threshold=threshold)
    # Identical records scored once (``identical_records``): across groups on their representatives, within a group
    # on its representative and one other member.
    representatives = representatives_table(features, groups)
    across = engine.predict(representatives, model, threshold=threshold) if representatives.num_rows > 1 else LINK_SCHEMA.empty_table()
    del representatives
    within = engine.predict(pairs_table(features, groups), within_group_model(model), threshold=threshold)
    return expand_links(features, groups, across, within)


@dataclass(frozen=True, slots=True)
class LinkageResult:
    """Identities of a batch of events, with the pairs a reviewer should look at."""

    cluster_of: dict[str, str]
    joining_probability: dict[str, float | None]
    # Grey-zone pairs for the review queue: event_id_l, event_id_r, match_probability,
    # cluster_l, cluster_r, same_cluster (see ``link_events``).
    grey_pairs: pa.Table
    links: pa.Table
    refused: list[tuple[str, str, float, str]]
    # Links kept although the two sides' documents of one issuer alternate once (thin evidence of two
    # people): for review, in the schema of ``grey_pairs``.
    questioned_pairs: pa.Table | None = None


def _distinct_values(column: pa.ChunkedArray | pa.Array, compute: Any = None) -> tuple[list[Any], np.ndarray]:
    """The column's distinct values (``compute`` applied once to each) and each row's index into them; nulls index a
    None added last."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct = encoded.dictionary.to_pylist()
    if compute is not None:
        distinct = [compute(v) for v in distinct]
    distinct.append(None)
    return distinct, pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy(zero_copy_only=False)


def _shared_values(column: pa.ChunkedArray | pa.Array, compute: Any = None) -> list[Any]:
    """The column as Python values, one object per distinct value (``compute`` applied once per distinct value):
    ten million events name a few hundred issuers and a few thousand dates, not ten million strings."""
    distinct, indices = _distinct_values(column, compute)
    return [distinct[i] for i in indices.tolist()]


def _value_codes(column: pa.ChunkedArray | pa.Array, compute: Any = None) -> np.ndarray:
    """Per row, a code equal for two rows exactly when their values (``compute`` applied) are equal; 0 for None."""
    distinct, indices = _distinct_values(column, compute)
    code_of: dict[Any, int] = {None: 0}
    return np.array([code_of.setdefault(v, len(code_of)) for v in distinct], dtype=np.int64)[indices]


def identity_kinds_of(features: pa.Table) -> np.ndarray:
    """Per event, a code equal for two events exactly when their chaining guard keys (``identity_keys_of``) are
    equal but for the date: document, issuer, birth date, surname and document format (see ``cluster_links``).
    Computed on columns, not on ten million key objects."""
    kinds = np.zeros(features.num_rows, dtype=np.int64)
    for codes in (_value_codes(features.column("doc_ocr")), _value_codes(features.column("dob")),
                  _value_codes(features.column("surname")), _value_codes(_issuers(features)),
                  _value_codes(features.column("doc"), document_format)):
        # Both factors stay below the row count, so the product fits in 64 bits below a billion rows.
        _, kinds = np.unique(kinds * (int(codes.max(initial=0)) + 1) + codes, return_inverse=True)
    return kinds.astype(np.int64).reshape(-1)


def _issuers(features: pa.Table) -> pa.ChunkedArray:
    """The document's issuer, else the nationality (one issuer's passports form a history)."""
    return pc.coalesce(features.column("document_issuer"), features.column("nationality"))


def identity_keys_of(features: pa.Table, ids: list[str] | None = None) -> dict[str, IdentityKeys]:
    """Document (OCR-canonical), birth date and normalised surname per event, for the clustering chaining guard.

    ``ids``: the ``unique_id`` column as a list when the caller holds one already (the keys share its strings)."""
    ids = features.column("unique_id").to_pylist() if ids is None else ids
    docs = features.column("doc_ocr").to_pylist()
    dobs = _shared_values(features.column("dob"))
    surnames = _shared_values(features.column("surname"))
    issuers = _shared_values(_issuers(features))
    dates = _shared_values(pc.cast(features.column("occurred_on"), pa.string()))
    formats = _shared_values(features.column("doc"), document_format)
    with cycle_collector_paused():
        return {e: IdentityKeys(d, b, n, i, o, f) for e, d, b, n, i, o, f in zip(ids, docs, dobs, surnames, issuers, dates, formats)}


def link_events(
    events: pa.Table,
    model: LinkageModel,
    *,
    match_threshold: float = 0.9,
    grey_zone: tuple[float, float] = (0.5, 0.9),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    engine: LinkageEngine | None = None,
    features: pa.Table | None = None,
) -> LinkageResult:
    """Resolve the identities of a batch of events: features, prediction, constrained clustering.

    ``features``: the events' ``build_features`` when the caller has built them already (training did).

    ``grey_pairs`` holds every scored pair with ``grey_zone[0] <= p < grey_zone[1]`` whose two
    events are not already one identity through *confident* evidence alone, i.e. through
    links with p >= max(match_threshold, grey_zone[1]) and must-links. ``same_cluster`` tells
    whether the final clustering nevertheless joined them (possible when ``match_threshold`` is
    below the top of the grey zone: a reviewer may want to split) or left them apart (a reviewer
    may want to merge). Cannot-link pairs are never grey pairs; pairs are sorted strongest first.

    The two halves, ``score_batch`` and ``cluster_batch``, let a caller drop the feature table in between.
    """
    _check_grey_zone(grey_zone)
    scored = score_batch(build_features(events) if features is None else features, model,
                         threshold=min(grey_zone[0], match_threshold), engine=engine)
    return cluster_batch(scored, match_threshold=match_threshold, grey_zone=grey_zone, must_link=must_link, cannot_link=cannot_link)


def _check_grey_zone(grey_zone: tuple[float, float]) -> None:
    low, high = grey_zone
    if not 0.0 <= low <= high <= 1.0:
        raise LinkageError(f"grey_zone must satisfy 0 <= low <= high <= 1, got {grey_zone}")


@dataclass(frozen=True, slots=True)
class ScoredBatch:
    """A batch's scored pairs and what clustering needs of its features (the feature table itself is not kept)."""

    event_ids: list[str]
    links: pa.Table
    keys: dict[str, IdentityKeys]
    # Per event (in ``event_ids`` order), equal exactly when the keys but for the date are equal: ``identity_kinds_of``.
    kinds: np.ndarray | None = None


def score_batch(features: pa.Table, model: LinkageModel, *, threshold: float, engine: LinkageEngine | None = None) -> ScoredBatch:
    """Score a batch's blocked pairs at or above ``threshold`` and take the chaining guard's keys."""
    # Numbers this batch gives with several unrelated identities weigh nothing, like the model's.
    features = discount_documents(features, shared_documents_of(features) | model.shared_documents)
    links = predict_links(features, model, threshold=threshold, engine=engine)
    event_ids = features.column("unique_id").to_pylist()
    return ScoredBatch(event_ids, links, identity_keys_of(features, event_ids), identity_kinds_of(features))


def cluster_batch(
    scored: ScoredBatch,
    *,
    match_threshold: float = 0.9,
    grey_zone: tuple[float, float] = (0.5, 0.9),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    executor: Executor | None = None,
) -> LinkageResult:
    """Constrained clustering of a scored batch, and the pairs for review (see ``link_events``); ``executor`` runs
    a share of a large batch's ordered pass (see ``cluster_links``)."""
    _check_grey_zone(grey_zone)
    low, high = grey_zone
    must = [(a, b) for a, b in must_link]
    cannot = [(a, b) for a, b in cannot_link]
    event_ids, links, keys = scored.event_ids, scored.links, scored.keys
    clusters = cluster_links(event_ids, links, match_threshold=match_threshold, must_link=must, cannot_link=cannot,
                             identity_keys=keys, identity_kinds=scored.kinds, executor=executor)
    confident = clusters if high <= match_threshold else cluster_links(
        event_ids, links, match_threshold=high, must_link=must, cannot_link=cannot, identity_keys=keys, identity_kinds=scored.kinds,
        executor=executor,
    )
    grey_pairs = _grey_pairs(links, low, high, clusters, confident, cannot)
    return LinkageResult(
        cluster_of=clusters.cluster_of,
        joining_probability=clusters.joining_probability,
        grey_pairs=grey_pairs,
        links=links,
        refused=clusters.refused,
        questioned_pairs=_questioned_pairs(grey_pairs, clusters),
    )


def _questioned_pairs(grey_pairs: pa.Table, clusters: ClusterResult) -> pa.Table:
    """The links kept on thin document-history evidence against them (a reviewer confirms or splits),
    in the schema of ``grey_pairs`` and not already among them."""
    seen = set(zip(grey_pairs.column("event_id_l").to_pylist(), grey_pairs.column("event_id_r").to_pylist()))
    rows = [(a, b, p) for a, b, p, _ in clusters.questioned if (a, b) not in seen]
    return pa.table(
        {"event_id_l": [a for a, _, _ in rows], "event_id_r": [b for _, b, _ in rows], "match_probability": [p for _, _, p in rows],
         "cluster_l": [clusters.cluster_of[a] for a, _, _ in rows], "cluster_r": [clusters.cluster_of[b] for _, b, _ in rows],
         "same_cluster": [clusters.cluster_of[a] == clusters.cluster_of[b] for a, b, _ in rows]},
        schema=grey_pairs.schema,
    )


def _grey_pairs(
    links: pa.Table, low: float, high: float, clusters: ClusterResult, confident: ClusterResult, cannot: list[tuple[str, str]]
) -> pa.Table:
    probs = links.column("match_probability")
    in_zone = links.filter(pc.and_(pc.greater_equal(probs, low), pc.less(probs, high)))
    in_zone = in_zone.sort_by([("match_probability", "descending"), ("event_id_l", "ascending"), ("event_id_r", "ascending")])
    forbidden = {frozenset(p) for p in cannot}
    rows: dict[str, list[Any]] = {k: [] for k in ("event_id_l", "event_id_r", "match_probability", "cluster_l", "cluster_r", "same_cluster")}
    for a, b, p in zip(*(in_zone.column(c).to_pylist() for c in ("event_id_l", "event_id_r", "match_probability"))):
        if confident.cluster_of[a] == confident.cluster_of[b] or frozenset((a, b)) in forbidden:
            continue
        ca, cb = clusters.cluster_of[a], clusters.cluster_of[b]
        for key, value in zip(rows, (a, b, p, ca, cb, ca == cb)):
            rows[key].append(value)
    schema = pa.schema(
        [("event_id_l", pa.string()), ("event_id_r", pa.string()), ("match_probability", pa.float64()),
         ("cluster_l", pa.string()), ("cluster_r", pa.string()), ("same_cluster", pa.bool_())]
    )
    return pa.table(rows, schema=schema)


class DocumentHistories:
    """Each person's document uses (number, issuer, shape, date), for the document-history check when events
    are linked one at a time (``clustering.document_history_conflict``, as the batch clustering's guard uses).

    Resolved events are kept as Arrow columns sorted by person (a million events cost tens of megabytes, not
    a Python object each); events linked since are kept as keys."""

    def __init__(self, features: pa.Table, person_of: Mapping[str, str]) -> None:
        ids = features.column("unique_id").to_pylist()
        table = pa.table({
            "person": pa.array([person_of.get(e) for e in ids], pa.string()),
            "event_id": features.column("unique_id"),
            "document": features.column("doc_ocr"),
            "written": features.column("doc"),
            "issuer": pc.coalesce(features.column("document_issuer"), features.column("nationality")),
            "occurred_on": pc.cast(features.column("occurred_on"), pa.string()),
        })
        usable = pc.and_(pc.and_(pc.is_valid(table.column("person")), pc.is_valid(table.column("document"))),
                         pc.and_(pc.is_valid(table.column("issuer")), pc.is_valid(table.column("occurred_on"))))
        self._table = table.filter(usable).sort_by("person").combine_chunks()
        self._rows: dict[str, tuple[int, int]] = {}
        if self._table.num_rows:
            runs = pc.run_end_encode(self._table.column("person").chunk(0))
            start = 0
            for person, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist()):
                self._rows[person] = (start, end - start)
                start = end
        self._recent: dict[str, list[IdentityKeys]] = defaultdict(list)

    def of(self, person: str) -> list[IdentityKeys]:
        """The person's document uses: resolved events, then those linked since."""
        start, length = self._rows.get(person, (0, 0))
        rows = self._table.slice(start, length).to_pylist() if length else []
        keys = [IdentityKeys(r["document"], None, None, r["issuer"], r["occurred_on"], document_format(r["written"])) for r in rows]
        return keys + self._recent.get(person, [])

    def add(self, person: str, keys: IdentityKeys) -> None:
        """Record a newly linked event's document use under its person."""
        if keys.document and keys.issuer and keys.occurred_on:
            self._recent[person].append(keys)

    def conflict(self, person: str, keys: IdentityKeys) -> str | None:
        """Why the event with ``keys`` joining ``person`` would contradict their document history, or None
        (``THIN_HISTORY`` when the evidence is thin: join, and ask a reviewer)."""
        if not (keys.document and keys.issuer and keys.occurred_on):
            return None
        return document_history_conflict([keys], self.of(person))
