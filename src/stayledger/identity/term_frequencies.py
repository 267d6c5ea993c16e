"""Name frequencies (term frequencies): how common each surname and given name is, counted over all its spellings.

Counted on the training data and stored in the model, so the same pair gets the same score in batch
prediction, near real time and in ``explain``; after an erasure they are counted again without the erased
persons (``refresh_term_frequencies``).
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.identity.engines.duckdb_splink import connect
from stayledger.identity.features import discount_documents, shared_documents_of
from stayledger.identity.model import LinkageModel
from stayledger.identity.model_spec import TF_COLUMNS



# The frequency of a name is that of all its spellings (MUHAMMAD / MOHAMMED / MOHAMED): counting one
# spelling understates how common the name is and so overstates what agreeing on it proves. Spellings
# are one name when they share a transliteration key and are alike (Jaro-Winkler, chained: MUHAMMAD ~
# MOHAMMED ~ MOHAMED). The key alone is too coarse: it collapses vowels, so distinct names share it
# (HASSAN / HUSSEIN, LI / LEE / LIU); short keys are left out altogether. Spellings of one name keep
# their first and last letters; a changed final vowel is another name (MARIA / MARIO, JULIA / JULIO).
TF_KEY_COLUMNS: Final = {"surname": "surname_tk", "given": "given_tk"}
MIN_KEY_LENGTH_FOR_TF: Final = 4
SPELLING_SIMILARITY_FOR_TF: Final = 0.8


def spelling_groups(names: dict[str, int], keys: dict[str, str]) -> dict[str, int]:
    """Per name, the count of all spellings of it (see ``TF_KEY_COLUMNS``)."""
    rows = [(n, k) for n, k in keys.items() if k and len(k) >= MIN_KEY_LENGTH_FOR_TF and n in names]
    if not rows:
        return dict(names)
    con = connect()
    try:
        con.register("spellings", pa.table({"name": [n for n, _ in rows], "key": [k for _, k in rows]}))
        edges = con.execute(
            "SELECT a.name, b.name FROM spellings a JOIN spellings b ON a.key = b.key AND a.name < b.name "
            "AND left(a.name, 1) = left(b.name, 1) AND right(a.name, 1) = right(b.name, 1) "
            f"WHERE jaro_winkler_similarity(a.name, b.name) >= {SPELLING_SIMILARITY_FOR_TF}"
        ).fetchall()
    finally:
        con.close()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    totals: dict[str, int] = {}
    for name, n in names.items():
        root = find(name)
        totals[root] = totals.get(root, 0) + n
    return {name: totals[find(name)] for name in names}


def frequencies(features: pa.Table, column: str) -> tuple[dict[str, float], float]:
    """Relative frequency of each name seen at least twice (counting all its spellings, see
    ``TF_KEY_COLUMNS``), and the frequency of a name seen once."""
    key_column = TF_KEY_COLUMNS.get(column)
    present = pc.is_valid(features.column(column))
    values = features.column(column).filter(present)
    total = len(values)
    if total == 0:
        return {}, 1.0
    counts = pc.value_counts(values)
    by_name = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    if key_column is not None and key_column in features.column_names:
        pairs = features.select([column, key_column]).filter(present)
        distinct = pc.unique(pc.binary_join_element_wise(pairs.column(0), pc.fill_null(pairs.column(1), ""), "\x1f"))
        keys = dict(v.split("\x1f", 1) for v in distinct.to_pylist())
        by_name = spelling_groups(by_name, keys)
    lookup = {name: n / total for name, n in by_name.items() if n >= 2}
    return dict(sorted(lookup.items())), 1.0 / total


def refresh_term_frequencies(model: LinkageModel, features: pa.Table) -> LinkageModel:
    """The same trained model with name frequencies counted afresh on ``features`` (e.g. after an erasure).

    The frequency tables hold names; after erased persons are gone from the ledger, they must go from the
    model too. The trained m and u probabilities are aggregate statistics and stay.
    """
    tf_lookups: dict[str, dict[str, float]] = {}
    rare: dict[str, float] = {}
    for column in TF_COLUMNS:
        tf_lookups[column], rare[column] = frequencies(features, column)
    metadata = {**model.metadata, "term_frequencies_from": features.num_rows,
                "shared_document_numbers": sorted(shared_documents_of(features))}
    return LinkageModel(settings=model.settings, term_frequencies=tf_lookups, rare_value_frequency=rare, metadata=metadata)


def with_term_frequencies(features: pa.Table, model: LinkageModel) -> pa.Table:
    """Add ``tf_surname`` and ``tf_given`` from the model's lookups (unseen values count as rare),
    with the model's shared document numbers discounted."""
    features = discount_documents(features, model.shared_documents)
    for column in TF_COLUMNS:
        lookup = model.term_frequencies.get(column, {})
        rare = model.rare_value_frequency.get(column, 0.0)
        encoded = pc.dictionary_encode(features.column(column)).combine_chunks()
        values = pa.array([lookup.get(v, rare) for v in encoded.dictionary.to_pylist()], type=pa.float64())
        tf = values.take(encoded.indices) if len(values) else pa.nulls(features.num_rows, pa.float64())
        features = features.append_column(f"tf_{column}", tf)
    return features
