"""Components that no order of links can change are clustered at once; the result must be the ordered pass's.

The reference is the same ``cluster_links`` with the shortcut turned off (every component through the ordered
pass, link by link, strongest first), on small random ledgers whose records are mostly alike (as travellers'
are) with typos, relatives' passports, namesakes, renewals, unknown keys and review decisions mixed in.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


@st.composite
def batches(draw: st.DrawFn) -> tuple:
    """Several ledgers' records in one batch (ids kept apart): several components."""
    ids: list[str] = []
    sides: dict[str, list] = {"event_id_l": [], "event_id_r": [], "match_probability": []}
    keys: dict[str, IdentityKeys] = {}
    must: list[tuple[str, str]] = []
    cannot: list[tuple[str, str]] = []
    for n, (own_ids, links, own_keys, own_must, own_cannot) in enumerate(draw(st.lists(ledgers(), min_size=2, max_size=5))):
        ids += [f"{n}{e}" for e in own_ids]
        for name in ("event_id_l", "event_id_r"):
            sides[name] += [f"{n}{e}" for e in links.column(name).to_pylist()]
        sides["match_probability"] += links.column("match_probability").to_pylist()
        keys.update({f"{n}{e}": k for e, k in own_keys.items()})
        must += [(f"{n}{a}", f"{n}{b}") for a, b in own_must]
        cannot += [(f"{n}{a}", f"{n}{b}") for a, b in own_cannot]
    links = pa.table({"event_id_l": pa.array(sides["event_id_l"], pa.string()), "event_id_r": pa.array(sides["event_id_r"], pa.string()),
                      "match_probability": pa.array(sides["match_probability"], pa.float64())})
    return ids, links, keys, must, cannot


_real_order_free_components = clustering._order_free_components


def _in_order_only(size: int, *args: object) -> tuple[np.ndarray, np.ndarray]:
    label, _ = _real_order_free_components(size, *args)  # type: ignore[arg-type]
    return label, np.zeros(int(label.max(initial=-1)) + 1, dtype=bool)


def _cluster(ledger: tuple, *, guarded: bool, executor: ThreadPoolExecutor | None = None) -> clustering.ClusterResult | str:
    ids, links, keys, must, cannot = ledger
    try:
        return cluster_links(ids, links, match_threshold=0.9, must_link=must, cannot_link=cannot,
                             identity_keys=keys if guarded else None, executor=executor)
    except ReviewDecisionConflict as conflict:
        return str(conflict)


def _assert_same(result: clustering.ClusterResult | str, expected: clustering.ClusterResult | str) -> None:
    if isinstance(expected, str):
        assert result == expected
        return
    assert isinstance(result, clustering.ClusterResult)
    assert result.cluster_of == expected.cluster_of
    assert result.joining_probability == expected.joining_probability
    assert result.refused == expected.refused
    assert result.questioned == expected.questioned


@settings(max_examples=400, deadline=None)
@given(ledger=ledgers(), guarded=st.booleans())
def test_settling_order_free_components_at_once_gives_the_ordered_result(ledger: tuple, guarded: bool) -> None:
    fast = _cluster(ledger, guarded=guarded)
    with mock.patch.object(clustering, "_order_free_components", _in_order_only):
        ordered = _cluster(ledger, guarded=guarded)
    _assert_same(fast, ordered)


@settings(max_examples=300, deadline=None)
@given(batch=batches(), guarded=st.booleans(), order_free=st.booleans())
def test_the_ordered_pass_in_two_shares_gives_the_one_pass_result(batch: tuple, guarded: bool, order_free: bool) -> None:
    """Cut into two shares of whole components (one through the executor), the ordered pass gives what one pass
    gives: the same clusters, joining probabilities, and refusals and questions in the same order."""
    patch_order = mock.patch.object(clustering, "_order_free_components",
                                    _real_order_free_components if order_free else _in_order_only)
    with patch_order:
        one = _cluster(batch, guarded=guarded)
        with ThreadPoolExecutor(1) as pool, mock.patch.object(clustering, "ORDERED_PASS_SHARE_LINKS", 0), \
                mock.patch.object(pool, "submit", wraps=pool.submit) as submit:
            two = _cluster(batch, guarded=guarded, executor=pool)
    _assert_same(two, one)
    assert submit.call_count <= 1  # one share elsewhere when the ordered pass has links (see the test below)


def test_two_shares_each_get_whole_components_of_about_as_many_links() -> None:
    keys = {e: IdentityKeys(doc, "1980-05-06", "SMITH", "GBR", DAYS[0], "AA9999999")
            for e, doc in [("a1", "AB1"), ("a2", "AB2"), ("a3", "AB3"), ("b1", "CD1"), ("b2", "CD2"), ("b3", "CD3")]}
    links = pa.table({"event_id_l": ["a1", "b1", "a2", "b2"], "event_id_r": ["a2", "b2", "a3", "b3"],
                      "match_probability": [0.99, 0.98, 0.97, 0.96]})
    shares: list = []
    with ThreadPoolExecutor(1) as pool, mock.patch.object(clustering, "ORDERED_PASS_SHARE_LINKS", 0), \
            mock.patch.object(clustering, "_run_shares", side_effect=lambda s, e: shares.extend(s) or [clustering._ordered_pass(x) for x in s]):
        result = cluster_links(list(keys), links, match_threshold=0.9, identity_keys=keys, executor=pool)
    assert [len(share.positions) for share in shares] == [3, 3]
    assert [share.link_numbers.tolist() for share in shares] in ([[0, 2], [1, 3]], [[1, 3], [0, 2]])
    assert len(set(result.cluster_of.values())) == 2


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
