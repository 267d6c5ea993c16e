"""The service's live linker gives posted events the persons the batch path would give them, without re-reading
the ledger; and it is rebuilt when the ledger changes under it."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from stayledger.formats.canonical import RawRecord
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.ingest import ingest_records, record_events
from stayledger.usecases.resolve import LiveLinker, ensure_resolved
from stayledger.usecases.review import decide
from tests.access import ADMIN
from tests.trained_ledger import HELD


def partition(person_of: dict[str, str], leave_out: set[str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for event, person in person_of.items():
        if event not in leave_out:
            groups.setdefault(person, set()).add(event)
    return {frozenset(g) for g in groups.values()}


def copy(base: Path, tmp_path: Path, name: str) -> DuckDBStore:
    shutil.copy(base, tmp_path / name)
    return DuckDBStore(tmp_path / name)


def test_posted_one_by_one_events_join_the_persons_the_batch_path_gives(trained, tmp_path):
    base, held = trained
    live_store, batch_store = copy(base, tmp_path, "live.duckdb"), copy(base, tmp_path, "batch.duckdb")
    live = LiveLinker()
    for record in held:
        record_events(live_store, ADMIN, "api", [record], as_of=date(2025, 12, 31), live=live)
    assert live.valid_for(live_store)
    ingest_records(batch_store, ADMIN, "held", [RawRecord(f"item {i}", json.dumps(r), r) for i, r in enumerate(held)])
    ensure_resolved(batch_store)
    ids = [r["event_id"] for r in held]
    by_live = {e: a.person_id for e, a in live_store.assignments_for(ids).items()}
    by_batch = {e: a.person_id for e, a in batch_store.assignments_for(ids).items()}
    assert len(by_live) == HELD == len(by_batch)
    before = {a.person_id for a in DuckDBStore(base, read_only=True).identity_assignments().values()}
    joined = {e: p for e, p in by_batch.items() if p in before}
    assert joined and {e: by_live[e] for e in joined} == joined  # the same existing persons
    assert partition(by_live, set(joined)) == partition(by_batch, set(joined))  # new persons: the same groups
    # (their ids are minted from a member's event id, which member depends on the order the events arrived)
    assert {i.event_id_l for i in live_store.review_items()} == {i.event_id_l for i in batch_store.review_items()}
    live_store.close()
    batch_store.close()


def test_the_live_linker_is_rebuilt_after_a_review_decision(trained, tmp_path):
    base, held = trained
    store = copy(base, tmp_path, "rebuild.duckdb")
    live = LiveLinker()
    record_events(store, ADMIN, "api", [held[0]], as_of=date(2025, 12, 31), live=live)
    assert live.valid_for(store)
    first, second = store.events_table().column("event_id").to_pylist()[:2]
    decide(store, ADMIN, first, second, accept=False, note="different travellers")
    assert not live.valid_for(store)  # a full re-link made a new run
    record_events(store, ADMIN, "api", [held[1]], as_of=date(2025, 12, 31), live=live)
    assert live.valid_for(store) and held[1]["event_id"] in store.assignments_for([held[1]["event_id"]])
    store.close()


# A traveller the synthetic ledger does not know, arriving, then leaving on a new passport: the departure joins the
# arrival only by the model's score (no document in common for the fast path).
NEWCOMER = {"event_id": "P-ARR-1", "kind": "arrival", "occurred_on": "2025-03-02", "source": "border",
            "surname": "Okonkwo-Lindqvist", "given_names": "Adaeze", "date_of_birth": "1991-04-17", "sex": "F",
            "nationality": "NGA", "document_number": "A07731942", "admission_class": "B2",
            "admitted_until": "2025-08-31", "mode": "air"}
NEW_PASSPORT = {**NEWCOMER, "event_id": "P-DEP-1", "kind": "departure", "occurred_on": "2025-04-20",
                "source": "carrier", "document_number": "B55102876", "admission_class": None, "admitted_until": None}


def realtime_linker(base: Path):
    from stayledger.identity.model import LinkageModel
    from stayledger.usecases.resolve import RealtimeLinker

    store = DuckDBStore(base, read_only=True)
    linker = RealtimeLinker(store.events_table(), store.identity_assignments(),
                            LinkageModel.from_json(store.latest_model()[1]))
    store.close()
    return linker


def test_links_prepared_before_the_lock_see_what_was_linked_meanwhile(trained):
    """Scores against the resolved events are computed ahead (outside the identity lock); an event linked between
    then and the linking (by another worker, or earlier in the group) is still a candidate, scored under the lock."""
    from stayledger.domain.events import parse_event

    base, _ = trained
    arrival, departure = parse_event(NEWCOMER), parse_event(NEW_PASSPORT)
    ahead = realtime_linker(base)
    prepared = ahead.prepare([departure])  # as the writer does before taking the lock
    assert prepared.of["P-DEP-1"].scores is not None  # no fast path as things stood: scored ahead
    arrived, _ = ahead.link(arrival)  # linked meanwhile
    (departed, probability), = ahead.link_all([departure], prepared)

    plain = realtime_linker(base)  # the same events linked one after the other, nothing prepared
    plain_arrived, _ = plain.link(arrival)
    (plain_departed, plain_probability), = plain.link_all([departure])
    assert (departed, probability) == (plain_departed, plain_probability)
    assert departed == arrived and plain_departed == plain_arrived  # one traveller, across the passport change
    assert ahead.grey == plain.grey


def test_links_prepared_by_a_linker_since_replaced_are_not_used(trained):
    from stayledger.domain.events import parse_event

    base, _ = trained
    departure = parse_event(NEW_PASSPORT)
    old, new = realtime_linker(base), realtime_linker(base)
    stale = old.prepare([departure])
    stale.of["P-DEP-1"].scores = [("nobody", 0.99)]  # were it used, linking would fail on an unknown event
    assert new.link_all([departure], stale) == realtime_linker(base).link_all([departure])
    # Nor for other events than those prepared (a duplicate or a conflict left out): features depend on the group.
    fresh = realtime_linker(base)
    other = fresh.prepare([departure, parse_event(NEWCOMER)])
    other.of["P-DEP-1"].scores = [("nobody", 0.99)]
    assert fresh.link_all([departure], other) == realtime_linker(base).link_all([departure])


def test_several_new_events_scored_in_one_call_score_as_each_alone(trained):
    """The service scores a group's events against their candidates in one engine call: the same scores, in the
    same order, as one call per event, however the calls are cut, and with an engine that cannot batch."""
    from stayledger.identity.engines import default_engine
    from stayledger.identity.features import build_features
    from stayledger.identity.pair_scores import score_candidates, score_candidates_of_each
    from stayledger.storage.arrow_events import events_to_table
    from stayledger.domain.events import parse_event

    base, held = trained
    engine = default_engine()
    model, index = _model_and_index(base, engine)
    probes = build_features(events_to_table([parse_event(r) for r in held[:20]]))
    candidates = [index.candidates_for(probes.slice(i, 1)) for i in range(probes.num_rows)]
    assert sum(c.num_rows > 1 for c in candidates) >= 10  # most have several candidates
    alone = [score_candidates(probes.slice(i, 1), c, model) for i, c in enumerate(candidates)]
    assert score_candidates_of_each(probes, candidates, model) == alone
    assert score_candidates_of_each(probes, candidates, model, max_pairs=50) == alone  # cut into several calls

    class OneAtATime:  # an engine that does not say which new event a pair is of
        def compare(self, left, right, model):
            return [pair._replace(new_id=None) for pair in engine.compare(left, right, model)]

    assert score_candidates_of_each(probes, candidates, model, engine=OneAtATime()) == alone


def _model_and_index(base, engine):
    """The trained ledger's model and the engine's candidate index over its events."""
    from stayledger.identity.features import build_features
    from stayledger.identity.model import LinkageModel

    store = DuckDBStore(base, read_only=True)
    try:
        model = LinkageModel.from_json(store.latest_model()[1])
        return model, engine.candidate_index(build_features(store.events_table()), model)
    finally:
        store.close()


def test_the_prepared_pair_comparison_and_blocking_keys_give_what_a_fresh_query_gives_call_after_call(trained):
    """The engine plans its pair comparison and key queries once and reads each call's tables through them: every
    call must see its own tables (not the previous call's), whatever their size, nulls or column types, and give
    exactly the rows (levels, name frequencies, keys) and scores of the query planned afresh on those tables."""
    import pyarrow as pa

    from stayledger.domain.events import parse_event
    from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine, connect
    from stayledger.identity.features import PAIR_COLUMNS, build_features
    from stayledger.identity.pair_scores import score_candidates
    from stayledger.identity.scoring import match_probability, pair_weight
    from stayledger.identity.term_frequencies import with_term_frequencies
    from stayledger.storage.arrow_events import events_to_table

    base, held = trained
    engine = DuckDBSplinkEngine()
    model, index = _model_and_index(base, engine)
    blanked = [{**held[0], "event_id": "blank-1", "given_names": None, "date_of_birth": held[0]["date_of_birth"][:4]},
               {**held[1], "event_id": "blank-2", "document_number": None, "sex": None}]  # null levels and frequency
    probes = build_features(events_to_table([parse_event(r) for r in held[:30] + blanked]))
    fresh = connect()

    def planned_afresh(sql: str, tables: dict[str, pa.Table]) -> list[tuple]:
        for name, table in tables.items():
            fresh.register(name, table)
        return fresh.execute(sql).fetchall()

    def sides(rows: list) -> pa.Table:
        return with_term_frequencies(probes.take(rows).select(list(PAIR_COLUMNS)), model)

    def candidates(rows: list) -> pa.Table:
        found = pa.concat_tables([index.candidates_for(probes.slice(i, 1)) for i in rows])
        return with_term_frequencies(found.select(list(PAIR_COLUMNS)), model)

    tf_as_float32 = lambda t: t.set_column(t.schema.get_field_index("tf_given"), "tf_given",  # noqa: E731
                                           t.column("tf_given").cast(pa.float32()))
    calls = [(sides([0, 1, 2]), candidates([0, 1, 2])), (sides([3]), candidates([3])),
             (sides(list(range(4, 30))), candidates(list(range(4, 30)))),  # hundreds of pairs
             (sides([30, 31]), sides(list(range(10)))), (sides([0, 1, 2]), candidates([0, 1, 2])),
             (tf_as_float32(sides([5, 30])), candidates([5])),  # another schema: planned again, not misread
             (sides([31]), candidates([7])), (sides([2]), candidates([2]).slice(0, 0))]
    comparer = None
    seen_null_level = seen_null_frequency = False
    for left, right in calls:
        pairs = engine.compare(left, right, model)
        comparer = comparer or next(iter(engine._comparers.values()))
        rows = planned_afresh(comparer._sql, {"new_features": left, "candidate_features": right})
        assert len(pairs) == left.num_rows * right.num_rows == len(rows)
        expected = {(r[1], r[0]): r[2:] for r in rows}
        for pair in pairs:
            n = len(pair.gammas)
            assert (*pair.gammas, *pair.tf.values()) == expected[(pair.new_id, pair.other_id)][: n + 4]
            seen_null_level |= 0 in pair.gammas
            seen_null_frequency |= None in pair.tf.values()
    assert seen_null_level and seen_null_frequency

    # Scores to the last bit: those of the levels the fresh query gives, through the same arithmetic.
    levels = model.compiled()
    for i in (0, 3, 30, 0):
        one = probes.slice(i, 1)
        cands = index.candidates_for(one)
        left = with_term_frequencies(one.select(list(PAIR_COLUMNS)), model)
        right = with_term_frequencies(cands.select(list(PAIR_COLUMNS)), model)
        rows = planned_afresh(comparer._sql, {"new_features": left, "candidate_features": right})
        n = len(levels)
        by_fresh_query = sorted(((r[0], match_probability(pair_weight(
            model.prior, levels, list(r[2:2 + n]),
            {"surname_l": r[2 + n], "surname_r": r[3 + n], "given_l": r[4 + n], "given_r": r[5 + n]}))) for r in rows),
            key=lambda item: (-item[1], item[0]))
        assert score_candidates(one, cands, model, engine=engine) == by_fresh_query

    # Blocking keys: each call's own rows, in order, of each kind, however the group is cut.
    key_sql = index._queries._queries
    for rows in ([0, 1, 2], [3], list(range(4, 32)), [0, 1, 2], [31]):
        group = probes.take(rows)
        for kind, sql in key_sql.items():
            assert index._keys_of(kind, group) == planned_afresh(sql, {"probe": group.select(list(PAIR_COLUMNS))}), kind
