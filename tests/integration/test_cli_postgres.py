"""The command line on a PostgreSQL ledger: --db postgresql://… works like a DuckDB path."""

import json

from typer.testing import CliRunner

from stayledger.cli.main import app
from stayledger.storage.postgres import PostgresStore
from tests.integration.test_migrate import EVENTS

runner = CliRunner()


def cli(*args):
    result = runner.invoke(app, [*args, "--actor", "pg-test"])
    assert result.exit_code in (0, 3), result.output
    return result.output


def test_ingest_resolve_look_up_verify_and_erase_on_postgresql(tmp_path, pg_url):
    feed = tmp_path / "events.jsonl"
    feed.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    cli("ingest", str(feed), "--db", pg_url)
    cli("ingest", str(feed), "--db", pg_url)  # a resent file: duplicates only
    cli("resolve", "--db", pg_url)
    store = PostgresStore(pg_url)
    assignments = store.identity_assignments()
    store.close()
    assert assignments["BRD-1"].person_id == assignments["APIS-1"].person_id
    assert "DOE" in cli("person", assignments["BRD-1"].person_id, "--purpose", "test", "--db", pg_url)
    assert "audit log intact" in cli("audit", "verify", "--db", pg_url)
    # Retention long after the departure: the events go (DELETE, then VACUUM FULL of the affected tables).
    cli("retention", "--as-of", "2030-01-01", "--apply", "--db", pg_url)
    store = PostgresStore(pg_url)
    assert store.event_count() == 0 and store.identity_assignments() == {}
    assert store.erasure_log()[0][1] == 2
    store.close()
    assert "audit log intact" in cli("audit", "verify", "--db", pg_url)
