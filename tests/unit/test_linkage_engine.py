"""The seam between linkage and engine: the DuckDB engine is a ``LinkageEngine``, and the batch policy runs over any engine."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from stayledger.domain.events import Event
from stayledger.identity.engine import LINK_SCHEMA, CandidateIndex, LinkageEngine
from stayledger.identity.engines import default_engine
from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.identity.features import build_features
from stayledger.identity.linking import link_events
from stayledger.identity.model import LinkageModel
from stayledger.identity.model_spec import base_settings
from stayledger.identity.scoring import ComparedPair
from stayledger.storage.arrow_events import events_to_table


def _event(event_id: str, surname: str, given: str, dob: str, number: str) -> Event:
    return Event(event_id=event_id, kind="arrival", occurred_on=date(2025, 3, 1), source="border", surname=surname,
                 given_names=given, date_of_birth=dob, sex="F", nationality="KEN", document_number=number)


EVENTS = [
    _event("a1", "WANJIKU", "GRACE", "1984-06-02", "AK0712345"),
    _event("a2", "WANJIKU", "GRACE", "1984-06-02", "AK0712345"),
    _event("b1", "OTIENO", "FAITH", "1990-11-30", "AK0955501"),
    _event("c1", "OTIENO", "FAITH", "1990-11-30", "AK0955598"),
]
UNTRAINED = LinkageModel(settings=base_settings(), term_frequencies={}, rare_value_frequency={}, metadata={})


def test_the_duckdb_engine_is_a_linkage_engine_and_the_default() -> None:
    assert isinstance(DuckDBSplinkEngine(), LinkageEngine)
    assert isinstance(default_engine(), DuckDBSplinkEngine) and default_engine() is default_engine()


def test_something_without_the_engines_verbs_is_not_a_linkage_engine() -> None:
    class PredictsOnly:
        name = "partial"

        def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
            return LINK_SCHEMA.empty_table()

    assert not isinstance(PredictsOnly(), LinkageEngine)


def test_the_duckdb_candidate_index_finds_the_events_a_blocking_rule_pairs() -> None:
    features = build_features(events_to_table(EVENTS[1:]))
    index = DuckDBSplinkEngine().candidate_index(features, UNTRAINED)
    assert isinstance(index, CandidateIndex)
    probe = build_features(events_to_table(EVENTS[:1]))
    assert index.candidates_for(probe).column("unique_id").to_pylist() == ["a2"]  # same document; b1, c1 share nothing


def test_a_groups_keys_of_both_kinds_are_the_keys_of_each_event() -> None:
    index = DuckDBSplinkEngine().candidate_index(build_features(events_to_table(EVENTS[1:])), UNTRAINED)
    group = build_features(events_to_table(EVENTS))
    probe_keys, resolved_keys = index.probe_keys_of_each(group), index.resolved_keys_of_each(group)  # one query
    assert probe_keys == [index.probe_keys(group.slice(i, 1)) for i in range(group.num_rows)]
    assert resolved_keys == [index.resolved_keys(group.slice(i, 1)) for i in range(group.num_rows)]
    other = build_features(events_to_table(EVENTS[:2]))  # other events: their own keys, not the group's
    assert index.resolved_keys_of_each(other) == [index.resolved_keys(other.slice(i, 1)) for i in range(2)]
    assert probe_keys != resolved_keys  # the two sides differ (else the test would not tell them apart)


class FixedLinks:
    """An engine that 'scores' pairs from a fixed table: the batch policy must not care who scored them."""

    name = "fixed"

    def __init__(self, links: list[tuple[str, str, float]]) -> None:
        self.links = links
        self.predicted_on: list[str] = []

    def train(self, features: pa.Table, settings: dict[str, Any], *, seed: int, max_pairs: int) -> dict[str, Any]:
        raise NotImplementedError

    def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
        given = set(features.column("unique_id").to_pylist())
        self.predicted_on += sorted(given - set(self.predicted_on))
        kept = [(a, b, p, 0.0) for a, b, p in self.links if p >= threshold and a in given and b in given]
        return pa.table([list(c) for c in zip(*kept)] if kept else [[], [], [], []], schema=LINK_SCHEMA)

    def compare(self, left: pa.Table, right: pa.Table, model: LinkageModel) -> list[ComparedPair]:
        raise NotImplementedError

    def candidate_index(self, features: pa.Table, model: LinkageModel) -> CandidateIndex:
        raise NotImplementedError


def test_the_batch_policy_joins_confident_links_and_asks_about_grey_ones_whatever_the_engine() -> None:
    engine = FixedLinks([("a1", "a2", 0.99), ("b1", "c1", 0.7)])
    assert isinstance(engine, LinkageEngine)
    result = link_events(events_to_table(EVENTS), UNTRAINED, engine=engine)
    assert sorted(engine.predicted_on) == ["a1", "a2", "b1", "c1"]
    assert result.cluster_of["a1"] == result.cluster_of["a2"]
    assert result.cluster_of["b1"] != result.cluster_of["c1"]
    assert result.grey_pairs.select(["event_id_l", "event_id_r", "same_cluster"]).to_pylist() == [
        {"event_id_l": "b1", "event_id_r": "c1", "same_cluster": False}
    ]


def test_the_batch_policy_respects_a_reviewers_rejection_whatever_the_engine() -> None:
    engine = FixedLinks([("a1", "a2", 0.99), ("b1", "c1", 0.7)])
    result = link_events(events_to_table(EVENTS), UNTRAINED, engine=engine, cannot_link=[("a1", "a2")])
    assert result.cluster_of["a1"] != result.cluster_of["a2"]
