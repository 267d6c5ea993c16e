"""`stayledger migrate --to`: a DuckDB ledger copied to PostgreSQL and back is the same ledger, checked."""

import json

from typer.testing import CliRunner

from stayledger.audit.log import parse_entry, verify_entries
from stayledger.cli.main import app
from stayledger.storage.base import ResolutionRun
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.storage.postgres import PostgresStore
from stayledger.storage.transfer import TABLES, read_table, row_counts

runner = CliRunner()
EVENTS = [
    {"event_id": "BRD-1", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "DOE",
     "given_names": "JANE ÅSA", "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789",
     "admission_class": "WT", "admitted_until": "2024-05-29"},
    {"event_id": "APIS-1", "kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "DOE",
     "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789"},
]


def table_text(store, spec):
    return repr(read_table(store, spec).to_pylist())  # repr: a NaN probability (a pair decided unqueued) equals itself


def cli(*args):
    result = runner.invoke(app, [*args, "--actor", "migration-test"])
    assert result.exit_code in (0, 3), result.output
    return result


def test_a_ledger_copied_to_postgresql_and_back_keeps_every_table_and_its_audit_log(tmp_path, pg_url):
    source = tmp_path / "ledger.duckdb"
    feed = tmp_path / "events.jsonl"
    feed.write_text("".join(json.dumps(e) + "\n" for e in EVENTS) + '{"broken, with "quotes"\n', encoding="utf-8")
    cli("ingest", str(feed), "--db", str(source))
    cli("resolve", "--full", "--db", str(source))
    cli("users", "add", "feed-1", "--role", "ingest", "--db", str(source))
    cli("review", "reject", "BRD-1", "APIS-1", "--note", 'a note, with "quotes"\nand a line break', "--db", str(source))
    cli("stays", "determine", "--as-of", "2025-01-01", "--db", str(source))  # the stays snapshot is copied too

    out = cli("migrate", "--db", str(source), "--to", pg_url).output
    assert "copied the duckdb ledger to postgresql: 2 events" in out
    back = tmp_path / "back.duckdb"
    cli("migrate", "--db", pg_url, "--to", str(back))

    original, server, returned = DuckDBStore(source), PostgresStore(pg_url), DuckDBStore(back)
    try:
        for spec in TABLES:
            if spec.name in ("audit_log", "audit_tree_heads"):
                continue  # each copy logged itself after copying: compared below
            expected = table_text(original, spec)
            assert table_text(server, spec) == expected and table_text(returned, spec) == expected, spec.name
        (run, stays), (copied_run, copied_stays) = original.stays_snapshot(), returned.stays_snapshot()
        assert stays.num_rows == 1 and copied_stays.equals(stays) and copied_run == run == server.stays_snapshot()[0]
        source_rows = list(original.audit_rows())
        # Each log is the source's, plus the entries of the copies it took part in; all verify.
        server_rows, returned_rows = list(server.audit_rows()), list(returned.audit_rows())
        assert server_rows[: len(source_rows) - 1] == source_rows[:-1]
        assert returned_rows[: len(server_rows) - 1] == server_rows[:-1]
        for store, rows in ((original, source_rows), (server, server_rows), (returned, returned_rows)):
            assert verify_entries(rows, store.audit_heads()).ok
        assert parse_entry(source_rows[-1][1])["action"] == "ledger.migrate"
        assert parse_entry(server_rows[-2][1])["objects"]["copied_from"] == "duckdb"  # the copy's own note
        assert parse_entry(returned_rows[-1][1])["objects"]["copied_from"] == "postgresql"
        assert server.ledger_id() == original.ledger_id() == returned.ledger_id()
        # The copy goes on as a ledger: new numbers continue after the copied ones.
        run = ResolutionRun("deterministic-keys", None, 0, 0, 0, 0)
        assert original.latest_run() > 0
        assert server.replace_identities([], [], run) == returned.replace_identities([], [], run) == original.latest_run() + 1
    finally:
        original.close(), server.close(), returned.close()


def test_a_copy_into_a_ledger_that_holds_data_is_refused_and_changes_nothing(tmp_path, pg_url):
    source = tmp_path / "ledger.duckdb"
    feed = tmp_path / "events.jsonl"
    feed.write_text(json.dumps(EVENTS[0]) + "\n", encoding="utf-8")
    cli("ingest", str(feed), "--db", str(source))
    cli("migrate", "--db", str(source), "--to", pg_url)
    server = PostgresStore(pg_url)
    before = row_counts(server)
    server.close()
    result = runner.invoke(app, ["migrate", "--db", str(source), "--to", pg_url, "--actor", "migration-test"])
    assert result.exit_code == 1 and "is not empty" in result.output
    server = PostgresStore(pg_url)
    assert row_counts(server) == before
    server.close()
