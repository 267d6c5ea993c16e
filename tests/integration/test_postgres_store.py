import psycopg
import pytest

from stayledger.bootstrap import Settings, open_store
from stayledger.storage.postgres import PostgresStore, migrations
from tests.store_contract import StoreContract, arrival, batch


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_url):
        store = PostgresStore(pg_url)
        yield store
        store.close()


def test_the_schema_refuses_a_second_row_with_the_same_event_id(pg_url):
    store = PostgresStore(pg_url)
    store.append_events(batch(arrival("a")), [])
    with psycopg.connect(pg_url) as con, pytest.raises(psycopg.errors.UniqueViolation):
        con.execute("INSERT INTO events SELECT * FROM events")
    store.close()


def test_reopening_keeps_events_and_does_not_rerun_migrations(pg_url):
    store = PostgresStore(pg_url)
    store.append_events(batch(arrival("a")), [])
    ledger = store.ledger_id()
    store.close()
    again = PostgresStore(pg_url)
    assert again.event_count() == 1 and again.schema_version == max(migrations())
    assert again.ledger_id() == ledger
    again.close()


def test_a_postgresql_url_selects_the_server_backend(pg_url, monkeypatch):
    monkeypatch.setenv("STAYLEDGER_DB", pg_url)
    store = open_store(Settings.load())
    assert isinstance(store, PostgresStore)
    store.close()


def test_an_unreachable_server_is_a_one_line_storage_error():
    from stayledger.errors import StorageError

    with pytest.raises(StorageError, match="cannot connect to postgresql://nobody@127.0.0.1:1/x: .*refused") as caught:
        PostgresStore("postgresql://nobody:secret@127.0.0.1:1/x")
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_nul_characters_in_a_raw_record_are_kept_visibly(pg_url):
    from stayledger.storage.base import QuarantineEntry

    store = PostgresStore(pg_url)
    store.append_events(batch(), [QuarantineEntry("f.csv", "row 2", "A\x00B", "not valid")])
    assert store.quarantine_entries()[0].entry.raw == "A\\x00B"
    store.close()


def test_an_application_role_without_ddl_rights_uses_a_ledger_the_owner_made_but_may_not_vacuum(pg_url):
    import uuid

    from stayledger.audit.log import AuditRecord
    from stayledger.errors import StorageError
    from stayledger.storage.base import ErasurePlan

    PostgresStore(pg_url).close()  # the owner makes the schema
    role = f"stayledger_app_{uuid.uuid4().hex[:8]}"
    schema = pg_url.rsplit("%3D", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN")
        owner.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        owner.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        owner.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
        owner.execute(f"REVOKE UPDATE, DELETE ON {schema}.audit_log, {schema}.audit_tree_heads, {schema}.audit_subjects "
                      f"FROM {role}")
        try:
            app_url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}@")
            store = PostgresStore(app_url)
            store.append_events(batch(arrival("a"), arrival("b")), [])
            store.append_audit([AuditRecord("events.ingest", "feed", "ingest", "ok")])  # appending needs no more
            assert store.erase(ErasurePlan(["a"], [], [], "retention")) == 1
            with pytest.raises(StorageError, match="may not VACUUM .*run `retention --apply` as the owner"):
                store.compact()
            assert store.event_count() == 1
            store.close()
        finally:
            owner.execute(f"DROP OWNED BY {role}")
            owner.execute(f"DROP ROLE {role}")


def test_an_interrupted_append_leaves_nothing_behind_and_the_store_goes_on(pg_url, monkeypatch):
    from stayledger.storage.base import QuarantineEntry

    store = PostgresStore(pg_url, pool_size=1)  # one connection: it must come back to the pool clean

    def interrupted(entries):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_insert_quarantine", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.append_events(batch(arrival("a")), [QuarantineEntry("f", "line 1", "x", "bad")])
    monkeypatch.undo()
    assert store.event_count() == 0 and store.quarantine_count() == 0
    assert store.append_events(batch(arrival("a")), []).added == 1
    store.close()


def test_a_lookup_by_document_is_answered_by_the_index_not_a_scan_of_every_event(pg_url):
    from stayledger.storage.migrations import document_key_sql

    store = PostgresStore(pg_url)
    store.append_events(batch(arrival("a", document_number="x-1o 2"), arrival("b", document_number="777")), [])
    assert [e.event_id for e in store.events_by_document("X102")] == ["a"]
    with store.unit_of_work():
        store._rows("SELECT set_config('enable_seqscan', 'off', true)")  # a tiny table would be scanned anyway
        plan = " ".join(r[0] for r in store._rows(
            f"EXPLAIN SELECT event_id FROM events WHERE {document_key_sql('document_number')} = %s", ["X102"]))
    assert "events_document_key" in plan
    store.close()


def test_a_persons_records_and_the_review_items_of_events_are_read_through_indexes(pg_url):
    store = PostgresStore(pg_url)
    with psycopg.connect(pg_url) as con:
        indexed = {(table, definition.split("(", 1)[1].rstrip(")")) for table, definition in con.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()").fetchall()}
    assert ("identities", "person_id") in indexed
    assert ("review_queue", "event_id_r") in indexed  # the left side: the primary key
    store.close()


def test_a_ledger_from_before_the_subject_index_has_its_entries_indexed_by_the_migration(pg_url):
    from stayledger.audit.log import AuditRecord, parse_entry, subjects_of

    store = PostgresStore(pg_url)
    store.append_audit([
        AuditRecord("person.view", "officer-7", "officer", "ok", "enquiry", objects={"person_id": "P1"}),
        AuditRecord("events.ingest", "feed", "ingest", "ok", objects={"origin": "P1", "person_ids": ["P2", "P1"]}),
        AuditRecord("traveller.receipt", "t", "traveller", "ok", objects={"receipt": "r", "confirmed_by": "e3"}),
        AuditRecord("audit.list", "aud", "auditor", "ok", objects={"count": 4}),
    ])
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as con:  # as schema 5 left it
        con.execute("DROP TABLE audit_subjects")
        con.execute("DELETE FROM schema_version WHERE version >= 6")
    store = PostgresStore(pg_url)
    indexed = list(store.audit_rows_with_subjects())
    assert [sorted(subjects) for _, _, _, subjects in indexed] == [
        subjects_of(parse_entry(text)["objects"]) for _, text, _, _ in indexed] == [["P1"], ["P1", "P2"], ["e3"], []]
    assert [seq for seq, _ in store.audit_entries_about(["P1"])] == [1, 2]
    store.close()
