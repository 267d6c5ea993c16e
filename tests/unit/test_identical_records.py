"""Identical records scored once give every event the pairs and scores a prediction over every event gives.

The engine here is a small stand-in that behaves as Splink does in what matters: it pairs records whose blocking
key agrees (``l.unique_id < r.unique_id``), honours the within-group rule of ``within_group_model`` and scores a
pair from the two records' features alone, symmetrically.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.domain.events import Event
from stayledger.identity.engine import LINK_SCHEMA
from stayledger.identity.features import build_features
from stayledger.identity.identical_records import GROUP_COLUMN, NOT_COMPARED, group_identical
from stayledger.identity.linking import predict_links
from stayledger.identity.model import LinkageModel
from stayledger.identity.term_frequencies import with_term_frequencies
from stayledger.storage.arrow_events import events_to_table

MODEL = LinkageModel(settings={"blocking_rules_to_generate_predictions": ["l.dob = r.dob"]}, term_frequencies={},
                     rare_value_frequency={}, metadata={})


class BlockOnBirthDate:
    """Blocks on the birth date (or, for the within-group model, the group and the birth date); scores a pair by
    a hash of its two records' compared features, the same whichever record is on the left."""

    name = "fake"

    def __init__(self) -> None:
        self.rows: list[int] = []

    def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
        self.rows.append(features.num_rows)
        rule = model.settings["blocking_rules_to_generate_predictions"]
        within = len(rule) == 1 and GROUP_COLUMN in rule[0]
        rows = features.to_pylist()
        out = []
        for x in rows:
            for y in rows:
                if not x["unique_id"] < y["unique_id"] or x["dob"] is None or x["dob"] != y["dob"]:
                    continue
                if within and x[GROUP_COLUMN] != y[GROUP_COLUMN]:
                    continue
                p = _score(x, y)
                if p >= threshold:
                    out.append((x["unique_id"], y["unique_id"], p, p * 10))
        return pa.table([list(c) for c in zip(*sorted(out))] if out else [[], [], [], []], schema=LINK_SCHEMA)  # sorted, as engines do


def _score(x: dict, y: dict) -> float:
    def compared(r: dict) -> str:
        return repr(sorted((k, v) for k, v in r.items() if k not in NOT_COMPARED and k != GROUP_COLUMN))

    a, b = sorted((compared(x), compared(y)))
    return int(hashlib.sha256((a + b).encode()).hexdigest()[:8], 16) / 16**8


def _event(event_id: str, surname: str, dob: str | None, number: str | None, on: int) -> Event:
    return Event(event_id=event_id, kind="arrival" if on % 2 else "departure", occurred_on=date(2025, 1, 1 + on),
                 source="border", surname=surname, given_names="ANA", date_of_birth=dob, sex="F", nationality="PER",
                 document_number=number)


records = st.tuples(st.sampled_from(["QUISPE", "MAMANI", "QUISPE MAMANI"]), st.sampled_from(["1990-02-03", "1990-03-02", None]),
                    st.sampled_from(["PA1234567", "PA1234568", None]))


@settings(max_examples=60, deadline=None)
@given(st.lists(records, min_size=2, max_size=14), st.randoms())
def test_every_event_gets_the_pairs_and_scores_of_a_prediction_over_every_event(rows: list, rng) -> None:
    ids = [f"e{i:02d}" for i in range(len(rows))]
    rng.shuffle(ids)  # representatives are not always the smaller id of a pair
    features = build_features(events_to_table([_event(i, s, d, n, k) for k, (i, (s, d, n)) in enumerate(zip(ids, rows))]))
    engine = BlockOnBirthDate()
    collapsed = predict_links(features, MODEL, threshold=0.0, engine=engine)  # type: ignore[arg-type]
    every_event = BlockOnBirthDate().predict(with_term_frequencies(features, MODEL), MODEL, threshold=0.0)
    assert collapsed.to_pylist() == every_event.to_pylist()  # the same pairs and scores, in the same order
    groups = group_identical(features)
    if groups.collapses:  # the representatives, then each repeated record with one copy
        representatives = [len(groups.sizes)] if len(groups.sizes) > 1 else []
        assert engine.rows == representatives + [2 * int((groups.sizes > 1).sum())]


def test_records_equal_but_for_their_date_and_kind_are_one_group_and_lists_keep_their_shape() -> None:
    features = build_features(events_to_table([
        _event("a", "DE LA CRUZ", "1970-01-05", "X1", 1), _event("b", "DE LA CRUZ", "1970-01-05", "X1", 2),
        _event("c", "DELACRUZ", "1970-01-05", "X1", 3),  # the same joined surname, other words
    ]))
    groups = group_identical(features)
    assert sorted(groups.sizes.tolist()) == [1, 2]
    assert groups.members.to_pylist() == [[0, 1], [2]]
