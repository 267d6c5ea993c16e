"""The command line's side of accountable access: who is acting, a purpose where one is needed, bulk reads logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stayledger.audit.log import parse_entry
from stayledger.cli.main import app
from stayledger.storage.duckdb_store import DuckDBStore

runner = CliRunner()
EVENT = {"event_id": "BRD-1", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "DOE",
         "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789", "admission_class": "WT",
         "admitted_until": "2024-05-29"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "l.duckdb"
    source = tmp_path / "e.jsonl"
    source.write_text(json.dumps(EVENT) + "\n" + "not json\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(source), "--db", str(path), "--actor", "port-feed"]).exit_code == 3
    return path


def last_entry(db: Path) -> dict:
    store = DuckDBStore(db)
    try:
        return parse_entry(list(store.audit_rows())[-1][1])
    finally:
        store.close()


@pytest.mark.parametrize("command", [
    ["person", "P1"], ["explain", "BRD-1", "BRD-1"], ["review", "show", "BRD-1", "BRD-1"],
    ["export", "events", "--out", "x.jsonl"], ["export", "stays", "--out", "x.csv"],
    ["export", "identities", "--out", "x.csv"], ["quarantine", "list"], ["correct", "BRD-1", "--set", "sex=F"],
])
@pytest.mark.parametrize("purpose", [None, "", "  ", "ab"])
def test_reading_or_correcting_personal_data_needs_a_purpose(db, command, purpose):
    extra = [] if purpose is None else ["--purpose", purpose]
    result = runner.invoke(app, [*command, *extra, "--db", str(db), "--actor", "clerk-2"])
    assert result.exit_code == 2, result.output
    assert "needs a purpose" in result.output
    entry = last_entry(db)
    assert entry["actor"] == "clerk-2" and entry["outcome"].startswith("refused")


def test_the_actor_comes_from_the_option_the_environment_or_the_login_name(db, monkeypatch):
    runner.invoke(app, ["review", "list", "--db", str(db)], env={"STAYLEDGER_ACTOR": "from-env"})
    assert last_entry(db)["actor"] == "from-env"
    runner.invoke(app, ["review", "list", "--db", str(db), "--actor", "from-option"], env={"STAYLEDGER_ACTOR": "from-env"})
    assert last_entry(db)["actor"] == "from-option"
    monkeypatch.delenv("STAYLEDGER_ACTOR", raising=False)
    monkeypatch.setattr("stayledger.cli.common.login_name", lambda: "login-7")
    runner.invoke(app, ["review", "list", "--db", str(db)])
    assert last_entry(db)["actor"] == "login-7"


def test_without_any_actor_the_command_is_refused_before_touching_the_ledger(db, monkeypatch):
    monkeypatch.delenv("STAYLEDGER_ACTOR", raising=False)
    monkeypatch.setattr("stayledger.cli.common.login_name", lambda: None)
    before = last_entry(db)
    result = runner.invoke(app, ["review", "list", "--db", str(db)])
    assert result.exit_code == 2 and "who is acting" in result.output
    assert runner.invoke(app, ["review", "list", "--db", str(db), "--actor", " "]).exit_code == 2
    assert last_entry(db) == before


def test_bulk_reads_are_audited_with_counts_purpose_and_case(db, tmp_path):
    out = tmp_path / "backup.jsonl"
    result = runner.invoke(app, ["export", "events", "--out", str(out), "--purpose", "weekly backup", "--case-ref", "OPS-12",
                                 "--db", str(db), "--actor", "admin-1"])
    assert result.exit_code == 0, result.output
    entry = last_entry(db)
    assert (entry["action"], entry["purpose"], entry["case_ref"], entry["objects"]["count"]) == (
        "export.events", "weekly backup", "OPS-12", 1)
    listing = runner.invoke(app, ["quarantine", "list", "--purpose", "fix feed", "--db", str(db), "--actor", "admin-1"])
    assert listing.exit_code == 0 and "not valid JSON" in listing.output
    assert last_entry(db)["objects"]["count"] == 1
    ingest = [parse_entry(t) for _, t, _ in DuckDBStore(db).audit_rows()][0]
    assert (ingest["actor"], ingest["action"], ingest["objects"]["added"], ingest["objects"]["quarantined"]) == (
        "port-feed", "events.ingest", 1, 1)
