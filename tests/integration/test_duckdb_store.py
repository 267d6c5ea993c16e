import duckdb
import pytest

from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.storage.migrations import MIGRATIONS
from stayledger.storage.base import EventIdsKnown
from tests.store_contract import StoreContract, arrival, batch


class TestDuckDBStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = DuckDBStore(tmp_path / "ledger.duckdb")
        yield store
        store.close()


def test_the_schema_refuses_a_second_row_with_the_same_event_id(tmp_path):
    store = DuckDBStore(tmp_path / "ledger.duckdb")
    store.append_events(batch(arrival("a")), [])
    with pytest.raises(duckdb.ConstraintException):
        store.connection.execute("INSERT INTO events SELECT * FROM events")


def test_an_optimistic_append_lets_the_key_refuse_a_known_id_and_the_rollback_leaves_nothing(tmp_path, monkeypatch):
    store = DuckDBStore(tmp_path / "ledger.duckdb")
    store.append_events(batch(arrival("a")), [])
    # No lookup of the batch's ids: at millions of events it scans every stored id for each chunk.
    monkeypatch.setattr(store, "_append_new_only", lambda batch: pytest.fail("looked the ids up first"))
    with store.unit_of_work():
        assert store.append_events_optimistically(batch(arrival("b")), []).added == 1
    with pytest.raises(EventIdsKnown), store.unit_of_work():
        store.append_events_optimistically(batch(arrival("c"), arrival("a")), [])
    assert store.events_table().column("event_id").to_pylist() == ["a", "b"]  # "c" rolled back with the refusal
    monkeypatch.undo()
    with store.unit_of_work():  # the transaction after a refusal works
        assert store.append_events(batch(arrival("c"), arrival("a")), []).duplicates == 1


def test_an_optimistic_append_inside_a_joined_unit_of_work_looks_first_and_never_raises(tmp_path):
    # A refusal would abort the outer unit's transaction, which this caller cannot redo.
    store = DuckDBStore(tmp_path / "ledger.duckdb")
    store.append_events(batch(arrival("a")), [])
    with store.unit_of_work():
        store.append_events(batch(arrival("b")), [])
        with store.unit_of_work():
            outcome = store.append_events_optimistically(batch(arrival("c"), arrival("a")), [])
    assert (outcome.added, outcome.duplicates) == (1, 1)
    assert store.events_table().column("event_id").to_pylist() == ["a", "b", "c"]


def test_reopening_keeps_events_and_does_not_rerun_migrations(tmp_path):
    path = tmp_path / "ledger.duckdb"
    store = DuckDBStore(path)
    store.append_events(batch(arrival("a")), [])
    store.close()
    again = DuckDBStore(path)
    assert again.event_count() == 1 and again.schema_version == max(MIGRATIONS)


def test_an_interrupted_append_leaves_nothing_behind(tmp_path, monkeypatch):
    store = DuckDBStore(tmp_path / "ledger.duckdb")
    calls = {"n": 0}
    original = store._insert_quarantine

    def interrupted(entries):
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_insert_quarantine", interrupted)
    from stayledger.storage.base import QuarantineEntry

    with pytest.raises(KeyboardInterrupt):
        store.append_events(batch(arrival("a")), [QuarantineEntry("f", "line 1", "x", "bad")])
    monkeypatch.setattr(store, "_insert_quarantine", original)
    assert calls["n"] == 1 and store.event_count() == 0 and store.quarantine_count() == 0


def test_a_ledger_from_before_document_keys_finds_its_old_events_by_document(tmp_path, monkeypatch):
    import stayledger.storage.duckdb_store as duckdb_store

    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(duckdb_store, "MIGRATIONS", {v: s for v, s in MIGRATIONS.items() if v <= 6})
    old = DuckDBStore(path)
    old.connection.execute(  # as the code of that schema wrote it: no key column
        """INSERT INTO events (seq, event_id, kind, occurred_on, source, surname, date_of_birth, nationality,
                               document_number, duration_of_status, ingested_at)
           VALUES (1, 'a', 'arrival', DATE '2024-03-01', 'border', 'DOE', '1980-02-11', 'GBR', 'x-1o 2', false, now())""")
    assert old.schema_version == 6
    old.close()
    monkeypatch.undo()
    store = DuckDBStore(path)
    assert store.schema_version == max(MIGRATIONS)
    assert [e.event_id for e in store.events_by_document("X102")] == ["a"]  # O read as 0, punctuation dropped
    store.append_events(batch(arrival("b", document_number="X10-2")), [])
    assert [e.event_id for e in store.events_by_document("X102")] == ["a", "b"]


def test_a_reader_sees_what_is_committed_and_nothing_before(tmp_path):
    store = DuckDBStore(tmp_path / "ledger.duckdb")
    reader = store.reader()
    store.append_events(batch(arrival("a")), [])
    with store.unit_of_work():
        store.append_events(batch(arrival("b")), [])
        assert [e.event_id for e in reader.events_by_id(["a", "b"])] == ["a"]
    assert [e.event_id for e in reader.events_by_id(["a", "b"])] == ["a", "b"]


def test_a_ledger_from_before_the_person_index_reads_its_persons_through_it_in_append_order(tmp_path, monkeypatch):
    import stayledger.storage.duckdb_store as duckdb_store
    from stayledger.storage.base import IdentityAssignment

    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(duckdb_store, "MIGRATIONS", {v: s for v, s in MIGRATIONS.items() if v <= 9})
    old = DuckDBStore(path)
    old.append_events(batch(arrival("b"), arrival("a"), arrival("c")), [])
    old.add_identities([IdentityAssignment("a", "P1", 0.97), IdentityAssignment("b", "P1", None),
                        IdentityAssignment("c", "P2", None)])
    old.close()
    monkeypatch.undo()
    store = DuckDBStore(path)
    indexes = {r[0] for r in store.connection.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert "identities_person" in indexes  # a person's records: no scan of every identity
    assert store.events_of_persons(["P1", "P2", "P9"]) == {"P1": ["b", "a"], "P2": ["c"], "P9": []}
    assert store.person_event_ids("P1") == ["b", "a"]
    found = store.persons_events(["P1"])["P1"]
    assert [(e.event_id, p) for e, p in found] == [("b", None), ("a", 0.97)]


@pytest.mark.parametrize("configured", [None, "1GB"])
def test_giving_back_a_whole_read_keeps_the_events_and_the_memory_limit_the_ledger_was_opened_with(tmp_path, configured):
    config = {"memory_limit": configured} if configured else None
    store = DuckDBStore(tmp_path / "l.duckdb", duckdb_config=config)
    store.append_events(batch(*(arrival(f"e{i}") for i in range(50))), [])
    limit = store.connection.execute("SELECT current_setting('memory_limit')").fetchall()
    events = store.events_table()
    store.release_read_memory()
    assert store.connection.execute("SELECT current_setting('memory_limit')").fetchall() == limit
    assert store.events_table().equals(events)
    store.close()


def test_giving_back_memory_it_cannot_give_back_leaves_the_callers_transaction_usable(tmp_path, monkeypatch):
    import stayledger.storage.duckdb_store as duckdb_store

    store = DuckDBStore(tmp_path / "l.duckdb")
    store.append_events(batch(*(arrival(f"e{i}") for i in range(50))), [])
    monkeypatch.setattr(duckdb_store, "RELEASE_MEMORY_LIMIT", "1KB")  # below what is in use: DuckDB refuses it
    with store.unit_of_work():
        events = store.events_table()
        store.release_read_memory()
        store.append_events(batch(arrival("after")), [])
    assert store.event_count() == events.num_rows + 1
    store.close()
