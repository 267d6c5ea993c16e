import duckdb
import pytest

from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.storage.migrations import MIGRATIONS
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
