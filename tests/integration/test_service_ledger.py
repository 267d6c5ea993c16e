"""The service's ledger under concurrent callers: posts committed together, each as its own audited operation;
a failed group written again part by part; reads beside the writes, answered only once their entries are in."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from datetime import date

import pytest

from stayledger.api.ledger import Ledger
from stayledger.domain.access import Role
from stayledger.errors import StorageError
from stayledger.usecases.audit import verify_audit
from stayledger.usecases.ingest import record_events
from stayledger.usecases.lookup import look_up_person
from stayledger.usecases.resolve import LiveLinker
from tests.access import ADMIN, as_role
from tests.integration.test_live_linking import copy, partition

TODAY = date(2025, 12, 31)
CALLERS = 8


def post_while_the_writer_is_busy(ledger: Ledger, records: list[dict]) -> dict[int, object]:
    """Hold the writer, let every caller queue its post, then let go: the posts wait together."""
    busy, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=ledger.run, args=(lambda store: (busy.set(), release.wait()),))
    holder.start()
    busy.wait(10)
    results: dict[int, object] = {}

    def post(i: int) -> None:
        results[i] = ledger.post(as_role(Role.INGEST, actor=f"feed-{i}"), "api", [records[i]])

    callers = [threading.Thread(target=post, args=(i,)) for i in range(len(records))]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 10
    while ledger._jobs.qsize() < len(records) and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in [holder, *callers]:
        thread.join(30)
    return results


def entries_after(store, seq: int) -> list[dict]:
    return [json.loads(entry) for s, entry, _ in store.audit_rows(after_seq=seq)]


def last_seq(store) -> int:
    return max((s for s, _, _ in store.audit_rows()), default=0)


def test_posts_waiting_together_are_committed_as_one_group_each_audited_as_its_caller(trained, tmp_path):
    base, held = trained
    records = held[:CALLERS]
    store = copy(base, tmp_path, "group.duckdb")
    ledger = Ledger(store, None, today=lambda: TODAY)
    ledger.warm_up()
    before = last_seq(store)
    results = post_while_the_writer_is_busy(ledger, records)
    assert ledger.groups == 1 and ledger.grouped_jobs == CALLERS
    assert all(results[i].accepted == 1 and records[i]["event_id"] in results[i].persons for i in range(CALLERS))
    entries = entries_after(store, before)
    assert sorted(e["actor"] for e in entries if e["action"] == "events.ingest" and e["outcome"] == "ok") == \
        sorted(f"feed-{i}" for i in range(CALLERS))
    assert verify_audit(store, ADMIN).ok

    alone = copy(base, tmp_path, "alone.duckdb")  # the same events, one request at a time
    live = LiveLinker()
    for record in records:
        record_events(alone, ADMIN, "api", [record], as_of=TODAY, live=live)
    ids = [r["event_id"] for r in records]
    together_of = {e: a.person_id for e, a in store.assignments_for(ids).items()}
    alone_of = {e: a.person_id for e, a in alone.assignments_for(ids).items()}
    assert partition(together_of, set()) == partition(alone_of, set())
    known = {a.person_id for a in copy(base, tmp_path, "before.duckdb").identity_assignments().values()}
    assert {e: p for e, p in together_of.items() if p in known} == {e: p for e, p in alone_of.items() if p in known}
    ledger.close()


def test_a_group_that_fails_is_written_again_part_by_part_and_nothing_of_it_is_logged_twice(trained, tmp_path, monkeypatch):
    import stayledger.usecases.lookup as lookup

    base, held = trained
    records = held[CALLERS:2 * CALLERS]
    store = copy(base, tmp_path, "fails.duckdb")
    ledger = Ledger(store, None, today=lambda: TODAY)
    ledger.warm_up()
    real, calls = lookup.persons_stays, {"n": 0}

    def fails_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(lookup, "persons_stays", fails_once)
    before = last_seq(store)
    results = post_while_the_writer_is_busy(ledger, records)
    assert ledger.groups == 0 and calls["n"] == CALLERS + 1
    assert all(results[i].accepted == 1 for i in range(CALLERS))
    assert store.events_by_id(r["event_id"] for r in records) != [] and \
        len(store.assignments_for(r["event_id"] for r in records)) == CALLERS
    entries = [e for e in entries_after(store, before) if e["action"] == "events.ingest"]
    assert sorted((e["actor"], e["outcome"]) for e in entries) == sorted((f"feed-{i}", "ok") for i in range(CALLERS))
    assert verify_audit(store, ADMIN).ok
    ledger.close()


def test_a_read_answers_only_once_its_audit_entry_is_committed(trained, tmp_path, monkeypatch):
    base, _ = trained
    store = copy(base, tmp_path, "read.duckdb")
    ledger = Ledger(store, None, today=lambda: TODAY)
    assert ledger.concurrent_reads
    person = next(iter(store.identity_assignments().values())).person_id
    officer = as_role(Role.OFFICER, purpose="case 12 check", actor="officer-3")
    before = last_seq(store)
    view = ledger.read(lambda reader: look_up_person(reader, officer, person, TODAY))
    assert view.person_id == person
    (entry,) = entries_after(store, before)
    assert (entry["actor"], entry["action"], entry["outcome"], entry["objects"]["person_id"]) == \
        ("officer-3", "person.view", "ok", person)

    def broken(self, records):
        raise StorageError("the disk is full")

    monkeypatch.setattr(type(store), "append_audit", broken)  # whichever connection appends the reads' entries
    with pytest.raises(StorageError):  # the answer is withheld when its entry cannot be written
        ledger.read(lambda reader: look_up_person(reader, officer, person, TODAY))
    ledger.close()


@pytest.fixture(params=["duckdb", "postgresql"])
def served_store(request, tmp_path):
    """A store of each backend that has an audit appender beside its writer."""
    if request.param == "duckdb":
        from stayledger.storage.duckdb_store import DuckDBStore

        store = DuckDBStore(tmp_path / "served.duckdb")
    else:
        from stayledger.storage.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("pg_url"))
    yield store
    store.close()


def test_a_reads_entry_is_committed_without_waiting_for_the_writer(served_store):
    """A lookup does not wait behind a group of posts being linked: its entry has a connection of its own."""
    from stayledger.usecases.traveller import TravellerIdentity, check_stay

    store = served_store
    ledger = Ledger(store, None, today=lambda: TODAY)
    traveller = as_role(Role.TRAVELLER, purpose="own record")
    busy, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=ledger.run, args=(lambda store: (busy.set(), release.wait(30)),))
    holder.start()
    busy.wait(10)
    answers: list[object] = []
    reader = threading.Thread(target=lambda: answers.append(ledger.read(
        lambda r: check_stay(r, traveller, TravellerIdentity("X1234567", "FRA", "1980-01-01", "Martin"), TODAY))))
    reader.start()
    reader.join(10)
    answered_while_busy = not reader.is_alive()
    entries = entries_after(store, 0)
    release.set()
    for thread in (holder, reader):
        thread.join(30)
    assert answered_while_busy and answers[0][0] is False
    assert [(e["action"], e["actor"]) for e in entries] == [("traveller.status", traveller.actor)]
    ledger.close()


@pytest.mark.parametrize("writer_commits", [True, False])
def test_on_duckdb_a_reads_entry_waits_for_the_writers_open_audit_append_and_the_chain_stays_one(tmp_path, writer_commits):
    """The writer's unit of work holds the audit chain's end from its append to its commit (or rollback): a read's
    entry, on the audit connection, goes after it, on the entry committed last, never beside it."""
    from stayledger.audit.log import AuditRecord
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.usecases.traveller import TravellerIdentity, check_stay

    store = DuckDBStore(tmp_path / "chain.duckdb")
    store.append_audit([AuditRecord("audit.list", "aud", "auditor", "ok")])
    ledger = Ledger(store, None, today=lambda: TODAY)
    appended, release = threading.Event(), threading.Event()

    def write_and_wait(writer):
        with writer.unit_of_work():
            writer.append_audit([AuditRecord("events.ingest", "feed", "ingest", "ok", objects={"person_ids": ["P1"]})])
            appended.set()
            release.wait(30)
            if not writer_commits:
                raise RuntimeError("the group failed")

    holder = threading.Thread(target=lambda: pytest.raises(Exception, ledger.run, write_and_wait)
                              if not writer_commits else ledger.run(write_and_wait))
    holder.start()
    assert appended.wait(10)
    traveller = as_role(Role.TRAVELLER, purpose="own record", actor="traveller-1")
    reader = threading.Thread(target=ledger.read, args=(
        lambda r: check_stay(r, traveller, TravellerIdentity("X1234567", "FRA", "1980-01-01", "Martin"), TODAY),))
    reader.start()
    reader.join(1.0)
    waited = reader.is_alive()  # its entry cannot go on the end the writer holds
    release.set()
    for thread in (holder, reader):
        thread.join(30)
    assert waited
    actions = [(seq, json.loads(entry)["action"]) for seq, entry, _ in store.audit_rows()]
    expected = [(1, "audit.list"), (2, "events.ingest"), (3, "traveller.status")] if writer_commits \
        else [(1, "audit.list"), (2, "traveller.status")]
    assert actions == expected
    assert verify_audit(store, ADMIN).ok
    ledger.close()
    store.close()


def test_reads_waiting_together_have_their_entries_committed_together(served_store, monkeypatch):
    """One turn of the audit chain and one commit for the reads waiting at the same moment, each entry its own."""
    from stayledger.usecases.traveller import TravellerIdentity, check_stay

    store = served_store
    ledger = Ledger(store, None, today=lambda: TODAY)
    appender = ledger._audit_store
    appends: list[int] = []
    first_in, release = threading.Event(), threading.Event()
    append_audit = appender.append_audit

    def held_first(records):
        appends.append(len(records))
        if len(appends) == 1:  # the first read's entry holds the audit thread until the others wait behind it
            first_in.set()
            release.wait(30)
        return append_audit(records)

    monkeypatch.setattr(appender, "append_audit", held_first)
    answers: list[object] = []

    def look_up(i: int) -> None:
        traveller = as_role(Role.TRAVELLER, purpose="own record", actor=f"traveller-{i}")
        answers.append(ledger.read(lambda r: check_stay(
            r, traveller, TravellerIdentity(f"X{i:07d}", "FRA", "1980-01-01", "Martin"), TODAY)))

    readers = [threading.Thread(target=look_up, args=(i,)) for i in range(6)]
    readers[0].start()
    assert first_in.wait(10)
    for reader in readers[1:]:
        reader.start()
    deadline = time.monotonic() + 10
    while ledger._audits.qsize() < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not answers  # nobody answered before their entry is in
    release.set()
    for reader in readers:
        reader.join(30)
    assert appends == [1, 5] and len(answers) == 6
    entries = entries_after(store, 0)
    assert sorted(e["actor"] for e in entries) == sorted(f"traveller-{i}" for i in range(6))
    assert {e["action"] for e in entries} == {"traveller.status"}
    assert verify_audit(store, ADMIN).ok
    ledger.close()


def test_the_live_linker_is_kept_out_of_the_collectors_full_passes_and_a_former_build_is_freed(trained, tmp_path,
                                                                                              monkeypatch):
    """Full garbage-collector passes walked the linker's millions of objects and stalled every request; after each
    build it is frozen out of them (and again every so many writes), and the build it replaces is still freed."""
    import stayledger.api.ledger as service_ledger

    monkeypatch.setattr(service_ledger, "REFREEZE_AFTER_WRITES", 3)
    base, _ = trained
    store = copy(base, tmp_path, "frozen.duckdb")
    ledger = Ledger(store, None, today=lambda: TODAY)

    def walked_by_a_pass(obj: object) -> bool:
        return any(o is obj for generation in range(3) for o in gc.get_objects(generation=generation))

    ledger.warm_up()
    first = ledger.live._linker
    assert first is not None and gc.is_tracked(first)
    assert not walked_by_a_pass(first)
    former = weakref.ref(first)
    del first
    ledger.run(lambda store: ledger.live.rebuild(store))
    assert former() is None
    second = ledger.live._linker
    assert second is not None and not walked_by_a_pass(second)
    added = [object()]  # what later writes add to the linker
    ledger.run(lambda store: None)
    assert walked_by_a_pass(added)
    ledger.run(lambda store: None)
    ledger.run(lambda store: None)
    assert not walked_by_a_pass(added)
    ledger.close()
