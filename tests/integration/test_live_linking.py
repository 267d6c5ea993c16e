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
