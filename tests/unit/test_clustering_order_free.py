"""Components that no order of links can change are clustered at once; the result must be the ordered pass's.

The reference is the same ``cluster_links`` with the shortcut turned off (every component through the ordered
pass, link by link, strongest first), on small random ledgers whose records are mostly alike (as travellers'
are) with typos, relatives' passports, namesakes, renewals, unknown keys and review decisions mixed in.
"""

from __future__ import annotations

from datetime import date
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.identity import clustering
from stayledger.identity.clustering import IdentityKeys, ReviewDecisionConflict, cluster_links, document_format
from stayledger.identity.linking import identity_keys_of, identity_kinds_of

# A traveller's usual record, and the ways one record of theirs can differ from it.
TEMPLATES = [
    ("AB1234567", "GBR", "1980-05-06", "SMITH"),
    ("AB1234568", "GBR", "1983-11-20", "SMITH"),  # a relative: the next passport number
    ("CD7654321", "GBR", "1980-05-06", "SMITH"),  # a renewal, or a namesake's own passport
    ("X99881", "FRA", "1975-01-01", "DUBOIS"),  # a birth date known only by its year
]
VARIANTS = [
    lambda t: t,
    lambda t: t,
    lambda t: t,
    lambda t: (t[0], t[1], t[2][:8] + "16", t[3]),  # a mistyped day
    lambda t: (t[0], t[1], t[2], t[3][:-1] + "Y"),  # a mistyped surname
    lambda t: (t[0][:-1] + "9", t[1], t[2], t[3]),  # a mistyped number
    lambda t: (None, t[1], t[2], t[3]),
    lambda t: (t[0], t[1], None, t[3]),
    lambda t: (t[0], t[1], "1981-05-06", t[3]),  # another full date
]
DAYS = ["2021-01-05", "2021-06-01", "2022-03-10", "2023-07-19", "2024-02-02"]
PROBABILITIES = [0.5, 0.91, 0.95, 0.95, 0.99, 0.999]


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[str], pa.Table, dict[str, IdentityKeys], list[tuple[str, str]], list[tuple[str, str]]]:
    count = draw(st.integers(2, 14))
    ids = [f"E{n:02d}" for n in draw(st.permutations(range(count)))]
    keys: dict[str, IdentityKeys] = {}
    for event_id in ids:
        if draw(st.integers(0, 12)) == 0:
            continue  # no keys for this record
        document, issuer, born, surname = draw(st.sampled_from(VARIANTS))(draw(st.sampled_from(TEMPLATES[: draw(st.integers(1, 4))])))
        keys[event_id] = IdentityKeys(document, born, surname, issuer, draw(st.sampled_from(DAYS)), document_format(document))
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.sampled_from(PROBABILITIES)), max_size=30))
    pairs = [(a, b, p) for a, b, p in pairs if a != b]
    links = pa.table({"event_id_l": [a for a, _, _ in pairs], "event_id_r": [b for _, b, _ in pairs],
                      "match_probability": pa.array([p for _, _, p in pairs], pa.float64())})
    decisions = st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda ab: ab[0] != ab[1]), max_size=2)
    must = draw(decisions) if draw(st.booleans()) else []
    cannot = draw(decisions) if draw(st.booleans()) else []
    return ids, links, keys, must, cannot


def _in_order_only(size: int, *_: object) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(size), np.zeros(size, dtype=bool)


def _cluster(ledger: tuple, *, guarded: bool) -> clustering.ClusterResult | str:
    ids, links, keys, must, cannot = ledger
    try:
        return cluster_links(ids, links, match_threshold=0.9, must_link=must, cannot_link=cannot,
                             identity_keys=keys if guarded else None)
    except ReviewDecisionConflict as conflict:
        return str(conflict)


@settings(max_examples=400, deadline=None)
@given(ledger=ledgers(), guarded=st.booleans())
def test_settling_order_free_components_at_once_gives_the_ordered_result(ledger: tuple, guarded: bool) -> None:
    fast = _cluster(ledger, guarded=guarded)
    with mock.patch.object(clustering, "_order_free_components", _in_order_only):
        ordered = _cluster(ledger, guarded=guarded)
    if isinstance(ordered, str):
        assert fast == ordered
        return
    assert isinstance(fast, clustering.ClusterResult)
    assert fast.cluster_of == ordered.cluster_of
    assert fast.joining_probability == ordered.joining_probability
    assert fast.refused == ordered.refused
    assert fast.questioned == ordered.questioned


def test_alike_records_settle_without_the_ordered_pass() -> None:
    """The shortcut is taken (else the test above compares the ordered pass with itself)."""
    keys = {e: IdentityKeys("AB1234567", "1980-05-06", "SMITH", "GBR", day, "AA9999999") for e, day in zip("abc", DAYS)}
    links = pa.table({"event_id_l": ["a", "b"], "event_id_r": ["b", "c"], "match_probability": [0.99, 0.95]})
    with mock.patch.object(clustering, "_chaining_conflict", side_effect=AssertionError("ordered pass taken")):
        result = cluster_links(list(keys), links, match_threshold=0.9, identity_keys=keys)
    assert set(result.cluster_of.values()) == {"a"}
    assert result.joining_probability == {"a": 0.99, "b": 0.99, "c": 0.95}


def test_records_alike_but_for_an_odd_surname_still_go_through_the_guard() -> None:
    """One document and birth date, but the other side is joined only through a record with another surname:
    the chaining guard refuses it (no direct link between the records each side agrees on), so the component is
    not settled at once."""
    def keys(surname: str, day: str) -> IdentityKeys:
        return IdentityKeys("AB1234567", "1980-05-06", surname, "GBR", day, "AA9999999")

    ledger = {"a1": keys("SMITH", DAYS[0]), "a2": keys("SMITH", DAYS[1]),
              "b1": keys("SMITHSON", DAYS[2]), "b2": keys("SMITHSON", DAYS[3]), "odd": keys("SMITH", DAYS[4])}
    links = pa.table({"event_id_l": ["b1", "odd", "a1", "a1"], "event_id_r": ["b2", "b1", "a2", "odd"],
                      "match_probability": [0.999, 0.99, 0.99, 0.95]})
    result = cluster_links(list(ledger), links, match_threshold=0.9, identity_keys=ledger)
    with mock.patch.object(clustering, "_order_free_components", _in_order_only):
        ordered = cluster_links(list(ledger), links, match_threshold=0.9, identity_keys=ledger)
    assert result.cluster_of == ordered.cluster_of
    assert result.refused == ordered.refused
    assert result.cluster_of["a1"] != result.cluster_of["b1"]


@st.composite
def feature_columns(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(1, 40))
    pick = lambda values: pa.array([draw(st.sampled_from(values)) for _ in range(rows)], pa.string())  # noqa: E731
    docs = pick(["AB1234567", "AB1234568", "AB12345O7", "AB1234507", "", None, "123456789"])
    return pa.table({
        "unique_id": [f"E{n}" for n in range(rows)],
        "doc": docs,
        "doc_ocr": pa.array([None if d is None else d.replace("O", "0") for d in docs.to_pylist()], pa.string()),
        "dob": pick(["1980-05-06", "1980-06-05", "1980", None]),
        "surname": pick(["SMITH", "SMYTH", None]),
        "document_issuer": pick(["GBR", "FRA", None]),
        "nationality": pick(["GBR", "IND", None]),
        "occurred_on": pa.array([draw(st.sampled_from([date(2024, 1, 2), date(2024, 3, 4)])) for _ in range(rows)], pa.date32()),
    })


@settings(max_examples=200, deadline=None)
@given(features=feature_columns())
def test_kinds_from_columns_are_equal_exactly_when_the_guard_keys_but_the_date_are(features: pa.Table) -> None:
    kinds = identity_kinds_of(features)
    keys = list(identity_keys_of(features).values())
    for i in range(features.num_rows):
        for j in range(features.num_rows):
            alike = keys[i]._replace(occurred_on=None) == keys[j]._replace(occurred_on=None)
            assert (kinds[i] == kinds[j]) == alike, (keys[i], keys[j])
