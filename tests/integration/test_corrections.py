"""Corrections are new events: the original stays in the ledger, determinations use the correction."""

import csv
import json

from typer.testing import CliRunner

from stayledger.cli.main import app

runner = CliRunner()

ARRIVAL = {"event_id": "BRD-9", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "Okafor",
           "date_of_birth": "1988-07-01", "nationality": "NGA", "document_number": "A01234567", "admission_class": "B2",
           "admitted_until": "2024-04-01", "mode": "air"}


def stays(tmp_path, db):
    out = tmp_path / "stays.csv"
    runner.invoke(app, ["export", "stays", "--purpose", "test check", "--as-of", "2024-12-31", "--out", str(out), "--db", str(db)])
    return {r["arrival_event_id"]: r for r in csv.DictReader(out.open())}


def test_an_officers_fix_of_admit_until_clears_a_wrongful_overstay_and_keeps_the_original(tmp_path):
    db = tmp_path / "l.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text(json.dumps(ARRIVAL) + "\n")
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    assert stays(tmp_path, db)["BRD-9"]["status"] == "overstay"

    result = runner.invoke(app, ["correct", "BRD-9", "--purpose", "traveller rebuttal", "--set", "admitted_until=2025-03-01", "--db", str(db)])
    assert result.exit_code == 0, result.output
    after = stays(tmp_path, db)
    assert "BRD-9" not in after  # superseded: no stay of its own
    (fixed,) = after.values()
    assert fixed["arrival_event_id"] == "BRD-9~fix1" and fixed["status"] == "in_status"

    ledger = tmp_path / "ledger.jsonl"
    runner.invoke(app, ["export", "events", "--purpose", "test check", "--out", str(ledger), "--db", str(db)])
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [r["event_id"] for r in records] == ["BRD-9", "BRD-9~fix1"]
    assert records[1]["corrects"] == "BRD-9" and records[0]["admitted_until"] == "2024-04-01"


def test_a_correction_must_still_be_a_valid_record(tmp_path):
    db = tmp_path / "l.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text(json.dumps(ARRIVAL) + "\n")
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    result = runner.invoke(app, ["correct", "BRD-9", "--purpose", "traveller rebuttal", "--set", "date_of_birth=1988-02-30", "--db", str(db)])
    assert result.exit_code == 1 and "date_of_birth" in result.output
