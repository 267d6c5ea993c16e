"""Concurrent writers on one PostgreSQL ledger (separate processes, as service workers and feeds are).

Each test starts its processes at a barrier so that their transactions really overlap.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from stayledger.audit.log import AuditRecord, verify_entries
from stayledger.storage.postgres import PostgresStore
from tests.store_contract import arrival, batch

WRITERS = 4
_SPAWN = multiprocessing.get_context("spawn")  # no pool threads or sockets inherited through fork


def _run(target, args_per_process):
    barrier = _SPAWN.Barrier(len(args_per_process))
    results = _SPAWN.Queue()
    processes = [_SPAWN.Process(target=target, args=(barrier, results, *args)) for args in args_per_process]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [o for o in outcomes if isinstance(o, str)]
    assert not errors, errors
    return outcomes


def _ingest_file(barrier, results, url, path):
    try:
        import stayledger.usecases.ingest as ingest
        from tests.access import ADMIN

        store = PostgresStore(url)
        barrier.wait()
        report = ingest.ingest_file(store, ADMIN, Path(path), chunk_size=50)
        results.put((report.added, report.duplicates, report.quarantined))
        store.close()
    except BaseException as exc:  # the parent reports it
        results.put(f"{type(exc).__name__}: {exc}")


def _append_one_by_one(barrier, results, url, surname, ids):
    try:
        store = PostgresStore(url)
        barrier.wait()
        added = duplicates = conflicts = 0
        for event_id in ids:
            outcome = store.append_events(batch(arrival(event_id, surname=surname)), [])
            added, duplicates, conflicts = added + outcome.added, duplicates + outcome.duplicates, conflicts + len(outcome.conflicts)
        results.put((added, duplicates, conflicts))
        store.close()
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def _audit(barrier, results, url, actor, count):
    try:
        store = PostgresStore(url)
        barrier.wait()
        for i in range(count):
            with store.unit_of_work():
                store.append_audit([AuditRecord("person.view", actor, "officer", "ok", "enquiry", objects={"n": i})])
        results.put(count)
        store.close()
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def _event_lines(numbers):
    return "".join(json.dumps({"event_id": f"E{i}", "kind": "departure", "occurred_on": "2024-05-20", "source": "carrier",
                               "surname": "DOE", "date_of_birth": "1980-01-01", "nationality": "GBR",
                               "document_number": f"D{i}"}) + "\n" for i in numbers)


def test_processes_ingesting_overlapping_files_store_each_event_exactly_once(pg_url, tmp_path):
    files = []
    for k in range(WRITERS):
        numbers = list(range(k * 300, k * 300 + 900))  # each file overlaps the next two
        if k % 2:
            numbers.reverse()  # and in another order, so writers meet each other's keys from both ends
        path = tmp_path / f"feed{k}.jsonl"
        path.write_text(_event_lines(numbers) + '{"broken\n')
        files.append(str(path))
    PostgresStore(pg_url).close()  # schema made before the race (concurrent first opens are tested below)
    outcomes = _run(_ingest_file, [(pg_url, f) for f in files])

    store = PostgresStore(pg_url)
    expected = {f"E{i}" for i in range((WRITERS - 1) * 300 + 900)}
    stored = store.events_table().column("event_id").to_pylist()
    assert len(stored) == len(expected) and set(stored) == expected
    assert sum(o[0] for o in outcomes) == len(expected)
    assert sum(o[0] + o[1] for o in outcomes) == WRITERS * 900  # every other copy was seen as a duplicate
    assert [q.entry.reasons for q in store.quarantine_entries()].count("conflict") == 0
    assert store.quarantine_count() == WRITERS  # one broken line per file, each kept once
    assert verify_entries(list(store.audit_rows()), store.audit_heads()).ok
    store.close()


def test_the_same_event_posted_at_once_is_stored_once_and_other_content_is_a_conflict(pg_url):
    ids = [f"X{i}" for i in range(150)]
    # Two writers of identical events, a third with other content under the same ids; all start on an empty schema.
    outcomes = _run(_append_one_by_one, [(pg_url, "DOE", ids), (pg_url, "DOE", ids), (pg_url, "ROE", ids)])

    store = PostgresStore(pg_url)
    assert store.event_count() == len(ids)
    assert sum(o[0] for o in outcomes) == len(ids)  # each id added by exactly one writer
    stored = {e.event_id: e.surname for e in store.events_by_id(ids)}
    for event_id in ids:
        # Whoever won, the other content is in quarantine as a conflict, never lost and never stored twice.
        conflicts = [q.entry for q in store.quarantine_entries() if q.entry.event_id == event_id]
        # (two DOE copies losing to ROE are the same record from the same place: quarantined once)
        assert len(conflicts) == 1 and "conflict" in conflicts[0].reasons
    assert sum(o[2] for o in outcomes) == sum(1 if stored[i] == "DOE" else 2 for i in ids)
    assert sum(o[1] for o in outcomes) == sum(1 if stored[i] == "DOE" else 0 for i in ids)
    store.close()


def test_the_audit_log_stays_one_verifiable_chain_under_concurrent_writers(pg_url):
    _run(_audit, [(pg_url, f"officer-{k}", 40) for k in range(WRITERS)])  # first opens race the migration too

    store = PostgresStore(pg_url)
    rows = list(store.audit_rows())
    assert [seq for seq, _, _ in rows] == list(range(1, WRITERS * 40 + 1))
    assert verify_entries(rows, store.audit_heads()).ok
    store.close()


def _post_travellers(barrier, results, url, side, travellers):
    try:
        from datetime import date

        from stayledger.usecases.ingest import record_events
        from tests.access import ADMIN

        store = PostgresStore(url)
        barrier.wait()
        for k in range(travellers):
            event = {"event_id": f"T{k}-{side}", "kind": "arrival" if side == "a" else "departure",
                     "occurred_on": "2024-03-01" if side == "a" else "2024-03-20", "source": "border",
                     "surname": f"TRAVELLER{k}", "date_of_birth": "1980-02-11", "nationality": "GBR",
                     "document_number": f"D{k:06d}", **({"admission_class": "WT", "admitted_until": "2024-05-29"}
                                                       if side == "a" else {})}
            record_events(store, ADMIN, f"worker-{side}", [event], as_of=date(2024, 6, 1))
        results.put(travellers)
        store.close()
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_workers_linking_the_same_traveller_at_once_make_one_person(pg_url):
    travellers = 25
    PostgresStore(pg_url).close()
    # Worker a posts each traveller's arrival while worker b posts the same traveller's departure.
    _run(_post_travellers, [(pg_url, "a", travellers), (pg_url, "b", travellers)])

    store = PostgresStore(pg_url)
    assignments = store.identity_assignments()
    assert len(assignments) == 2 * travellers  # no event lost its identity to another worker's run
    for k in range(travellers):
        assert assignments[f"T{k}-a"].person_id == assignments[f"T{k}-b"].person_id, f"traveller {k}: two persons"
    assert len({a.person_id for a in assignments.values()}) == travellers
    store.close()
