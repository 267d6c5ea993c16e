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


def test_reads_beside_the_writes_hold_no_transaction_and_refuse_to_write(pg_url):
    import time

    from stayledger.errors import StorageError

    store = PostgresStore(pg_url)
    reader = store.reader()
    assert reader is store.reader() and reader is not store  # one reader per store, with a pool of its own
    assert reader.audit_appender() is None
    with reader.unit_of_work():  # each statement on its own: no BEGIN, so now() moves between statements
        first = reader._rows("SELECT clock_timestamp(), now()")[0]
        time.sleep(0.01)
        second = reader._rows("SELECT now()")[0][0]
        assert second > first[0] >= first[1]
    with pytest.raises(StorageError, match="read-only"):
        reader.append_events(batch(arrival("a")), [])
    store.append_events(batch(arrival("a")), [])  # the store itself still writes, and the reader sees it
    assert [e.event_id for e in reader.events_by_id(["a"])] == ["a"]
    store.close()
    with pytest.raises(Exception):  # closed with the store
        reader.events_by_id(["a"])


def test_an_audit_append_after_a_lost_tree_head_rebuilds_the_frontier_and_the_log_verifies(pg_url):
    from stayledger.audit.log import AuditRecord, verify_entries

    store = PostgresStore(pg_url)
    store.append_audit([AuditRecord("person.view", "officer-7", "officer", "ok", "enquiry", objects={"person_id": "P1"})
                        for _ in range(3)])
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DELETE FROM audit_tree_heads")
    store.append_audit([AuditRecord("audit.list", "aud", "auditor", "ok", objects={"count": 3})])
    result = verify_entries(store.audit_rows(), store.audit_heads())
    assert result.ok and result.entries == 4 and [size for size, _ in store.audit_heads()] == [4]
    assert [seq for seq, _ in store.audit_entries_about(["P1"])] == [1, 2, 3]
    store.close()


def _round_trips(store, work):
    """How many times ``work`` on ``store`` waited for the server: in libpq's trace, how often what the client sent
    was followed by what the server answered."""
    import tempfile
    from contextlib import contextmanager

    trace = tempfile.TemporaryFile()
    pooled = store._pool.connection

    @contextmanager
    def traced(*args, **kwargs):
        with pooled(*args, **kwargs) as conn:
            conn.pgconn.trace(trace.fileno())
            try:
                yield conn
            finally:
                conn.pgconn.untrace()

    store._pool.connection = traced
    try:
        work()
    finally:
        store._pool.connection = pooled
    trace.seek(0)
    sides = [fields[1] for fields in (line.split(b"\t") for line in trace.read().splitlines()) if len(fields) > 3]
    return sum(1 for sent, answered in zip(sides, sides[1:]) if (sent, answered) == (b"F", b"B"))


def test_the_audit_appender_waits_for_the_server_twice_and_keeps_nothing_of_a_failed_unit(pg_url):
    from stayledger.audit.log import AuditRecord, verify_entries
    from stayledger.errors import StorageError

    def viewed(person):
        return [AuditRecord("person.view", "officer-7", "officer", "ok", "enquiry", objects={"person_id": person})]

    store = PostgresStore(pg_url)
    appender = store.audit_appender()
    assert appender is store.audit_appender() and appender is not store
    store.append_audit(viewed("P1"))
    # BEGIN with the lock and the newest entry, then the entries with COMMIT (the store's own unit: five)
    assert _round_trips(appender, lambda: appender.append_audit(viewed("P2"))) == 2
    assert _round_trips(store, lambda: store.append_audit(viewed("P3"))) == 5
    with pytest.raises(RuntimeError):  # a failure after the entries were sent: they are rolled back
        with appender.unit_of_work():
            appender.append_audit(viewed("P4"))
            raise RuntimeError("the caller failed")
    with pytest.raises(StorageError, match="division by zero"):  # the server's own failure, in the pipeline
        with appender.unit_of_work():
            appender.append_audit(viewed("P5"))
            appender._rows("SELECT 1 / 0")
    appender.append_audit(viewed("P6"))
    result = verify_entries(store.audit_rows(), store.audit_heads())
    assert result.ok and result.entries == 4
    assert [seq for seq, _ in store.audit_entries_about(["P4", "P5"])] == []
    assert [seq for seq, _ in store.audit_entries_about(["P6"])] == [4]
    store.close()


def test_a_travellers_lookup_waits_for_the_server_three_times_when_found_and_once_when_not(pg_url):
    """The lookup's reads (the answer floor follows them under load, so each wait counts): the document's records
    of that birth date with their persons; the person's records; the review items and open cases touching them."""
    from datetime import date

    from stayledger.api.ledger import DeferredAudit
    from stayledger.domain.access import AccessContext, Role
    from stayledger.storage.base import IdentityAssignment, ResolutionRun
    from stayledger.usecases.traveller import TravellerIdentity, check_stay

    store = PostgresStore(pg_url)
    store.append_events(batch(arrival("a"),
                              arrival("b", occurred_on="2024-06-01", document_number="987", admitted_until="2024-08-29"),
                              {**arrival("c", occurred_on="2024-05-20"), "kind": "departure"}), [])
    store.replace_identities([IdentityAssignment(e, "P1", None) for e in "abc"], [],
                             ResolutionRun("deterministic-keys", None, 3, 1, 0, 0))
    reader = DeferredAudit(store.reader())
    ctx = AccessContext("traveller-self-service", Role.TRAVELLER, "own record")

    def lookup(birth_date):
        return check_stay(reader, ctx, TravellerIdentity("123456789", "GBR", birth_date, "Doe"), date(2024, 7, 1))

    assert _round_trips(reader, lambda: lookup("1980-02-11")) == 3
    found, stays, _ = lookup("1980-02-11")
    assert found and [s.status for s in stays] == ["departed"]  # the record of another document is not shown
    assert _round_trips(reader, lambda: lookup("1980-02-12")) == 1
    assert lookup("1980-02-12") == (False, [], None) and len(reader.pending) == 4  # every lookup has its entry
    store.close()
