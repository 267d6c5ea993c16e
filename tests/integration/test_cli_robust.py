"""Issue 14: nothing lost silently, one-line errors instead of tracebacks, options validated."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stayledger.cli.main import app
from tests.integration.test_cli_ledger import GOOD, write_jsonl

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


# --- item 1: --db naming a file that is not a DuckDB ledger ---------------------------------------------
def test_db_naming_a_csv_file_is_refused_and_the_file_untouched(tmp_path):
    not_a_ledger = tmp_path / "events.csv"
    not_a_ledger.write_text("event_id,kind\nX,arrival\n", encoding="utf-8")
    before = not_a_ledger.read_bytes()
    result = run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), "--db", str(not_a_ledger))
    assert result.exit_code == 1
    assert "is not a DuckDB database" in result.output and "added" not in result.output
    assert not_a_ledger.read_bytes() == before


def test_db_naming_a_jsonl_file_is_refused(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", GOOD)
    result = run("review", "list", "--db", str(path))
    assert result.exit_code == 1 and "is not a DuckDB database" in result.output


# --- item 11: --db a directory or under an unwritable place ---------------------------------------------
def test_db_naming_a_directory_is_one_line_error(tmp_path):
    result = run("review", "list", "--db", str(tmp_path))
    assert result.exit_code == 1 and "is a directory" in result.output
    assert "Traceback" not in result.output


# --- item 8: the demo does not wipe a person's work -------------------------------------------------------
def test_demo_refuses_to_wipe_corrections_without_force(tmp_path):
    db = tmp_path / "stayledger.duckdb"
    correction = {**GOOD[0], "event_id": "BRD-1-FIX", "admitted_until": "2024-06-29", "corrects": "BRD-1"}
    result = run("ingest", str(write_jsonl(tmp_path / "e.jsonl", [*GOOD, correction])), "--db", str(db))
    assert result.exit_code == 0, result.output
    result = run("demo", "--dir", str(tmp_path), "--people", "100", "--actor", "t")
    assert result.exit_code == 1
    assert "1 corrections" in result.output and "--force" in result.output
    assert not (tmp_path / "population").exists()  # refused before anything was written
    listed = run("export", "events", "--db", str(db), "--out", str(tmp_path / "x.jsonl"), "--purpose", "check")
    assert listed.exit_code == 0, listed.output
    assert len((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == 4


# --- item 12: options validated ---------------------------------------------------------------------
def test_negative_limits_are_usage_errors(tmp_path):
    db = str(tmp_path / "l.duckdb")
    assert run("quarantine", "list", "--limit", "-5", "--db", db, "--purpose", "check").exit_code == 2
    assert run("review", "list", "--limit", "-1", "--db", db).exit_code == 2


def test_unknown_review_status_is_a_usage_error(tmp_path):
    result = run("review", "list", "--status", "bogus", "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 2 and "open, accepted, rejected, all" in result.output


# --- item 17: a first trip has no earlier stay ------------------------------------------------------
def test_schengen_without_stays_is_a_first_trip():
    result = run("calc", "schengen", "--on", "2025-01-10", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["days_used"] == 0 and answer["latest_exit"] == "2025-04-09"


# --- item 9 (calculator part): dates near the ends of the calendar --------------------------------------
def test_schengen_near_the_calendar_ends_is_one_line_error():
    for on, stay in (("9999-12-30", "9999-12-01/9999-12-30"), ("0001-01-02", "0001-01-01/0001-01-02")):
        result = run("calc", "schengen", "--on", on, "--stay", stay)
        assert result.exit_code == 2, result.output
        assert "too close to the ends of the calendar" in result.output


# --- item 20 (dates): CLI dates are YYYY-MM-DD like events ---------------------------------------------
def test_cli_dates_must_be_yyyy_mm_dd():
    for text in ("20250110", "2025-W02-5", "2025W025"):
        result = run("calc", "schengen", "--on", text)
        assert result.exit_code == 2 and "use YYYY-MM-DD" in result.output, (text, result.output)


def quarantined(db: Path) -> list[dict]:
    result = run("quarantine", "list", "--json", "--limit", "0", "--db", str(db), "--purpose", "check")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


# --- item 2: duplicate keys and columns ------------------------------------------------------------------
def test_a_json_record_with_a_duplicate_key_is_quarantined(tmp_path):
    db = tmp_path / "l.duckdb"
    line = json.dumps(GOOD[0])[:-1] + ', "surname": "Anna"}'
    result = run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD[1:], [line])), "--db", str(db))
    assert result.exit_code == 3, result.output
    [entry] = quarantined(db)
    assert "duplicate key 'surname'" in entry["reasons"]


def test_a_csv_with_a_duplicate_column_is_refused(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("event_id,kind,occurred_on,source,surname,surname,date_of_birth,nationality,document_number\n"
                    "B1,arrival,2024-03-01,border,Doe,John,1980-01-01,GBR,123456789\n", encoding="utf-8")
    result = run("ingest", str(path), "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 1 and "'surname' appear more than once" in result.output


def test_a_parquet_file_with_a_duplicate_column_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "e.parquet"
    pq.write_table(pa.table([["B1"], ["Doe"], ["John"]], names=["event_id", "surname", "surname"]), path)
    result = run("ingest", str(path), "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 1 and "'surname' appear more than once" in result.output


# --- item 3: byte-order marks and UTF-16 -----------------------------------------------------------------
def test_a_utf8_bom_does_not_quarantine_the_first_record(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", GOOD)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run("ingest", str(path), "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 0 and "3 added" in result.output, result.output


def test_utf16_input_is_named_as_such(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in GOOD) + "\n", encoding="utf-16")
    result = run("ingest", str(path), "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 1 and "UTF-16" in result.output, result.output


# --- item 10: deep nesting ---------------------------------------------------------------------------
def test_deeply_nested_json_is_quarantined_by_line_and_the_rest_kept(tmp_path):
    db = tmp_path / "l.duckdb"
    deep = '{"event_id": "DEEP", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    result = run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD, [deep])), "--db", str(db))
    assert result.exit_code == 3 and "3 added" in result.output, result.output
    [entry] = quarantined(db)
    assert "nested deeper" in entry["reasons"] and entry["location"] == "line 4"


# --- item 11: output paths ---------------------------------------------------------------------------
def ledger_with_events(tmp_path: Path) -> Path:
    db = tmp_path / "l.duckdb"
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), "--db", str(db)).exit_code == 0
    return db


def test_out_a_directory_or_a_missing_directory_is_a_usage_error_and_nothing_is_created(tmp_path):
    db = ledger_with_events(tmp_path)
    for command in (["export", "events"], ["export", "stays", "--as-of", "2024-06-01"], ["export", "identities"]):
        result = run(*command, "--db", str(db), "--out", str(tmp_path), "--purpose", "check")
        assert result.exit_code == 2 and "is a directory" in result.output, (command, result.output)
        missing = tmp_path / "no" / "such" / "x.csv"
        result = run(*command, "--db", str(db), "--out", str(missing), "--purpose", "check")
        assert result.exit_code == 2 and "does not exist" in result.output, (command, result.output)
        assert not (tmp_path / "no").exists()
    result = run("report", "overstays", "--fiscal-year", "2024", "--format", "csv", "--db", str(db), "--out", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.output
    result = run("explain", "BRD-1", "APIS-1", "--chart", str(tmp_path / "no" / "c.svg"), "--db", str(db), "--purpose", "check")
    assert result.exit_code == 2 and "--chart" in result.output and "does not exist" in result.output


def test_an_os_error_while_writing_is_one_line(tmp_path, monkeypatch):
    db = ledger_with_events(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.jsonl"))

    monkeypatch.setattr("stayledger.usecases.export._open", refuse)
    result = run("export", "events", "--db", str(db), "--out", str(tmp_path / "x.jsonl"), "--purpose", "check")
    assert result.exit_code == 1 and "Permission denied" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- item 16: a corrupt model is one line in every command that reads it --------------------------------
def test_a_corrupt_linkage_model_is_a_one_line_error_in_resolve(tmp_path):
    import duckdb

    db = ledger_with_events(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO linkage_models VALUES (999, 'broken', '{not json', now())")
    con.close()
    result = run("resolve", "--db", str(db))
    assert result.exit_code == 1, result.output
    assert "not JSON" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


# --- item 20: a defaulted day is said --------------------------------------------------------------------
def test_report_and_retention_say_the_day_they_defaulted_to(tmp_path):
    from datetime import date

    db = ledger_with_events(tmp_path)
    for command in (["report", "overstays", "--fiscal-year", "2024"], ["retention"]):
        result = run(*command, "--db", str(db))
        assert result.exit_code == 0, result.output
        assert f"as of today, {date.today()}" in result.output


def test_auto_detection_names_a_paxlst_manifest(tmp_path):
    path = tmp_path / "manifest.txt"
    path.write_text("UNA:+.? 'UNB+UNOA:4+AIR+USCBP+240101:1200+1'UNH+1+PAXLST:D:05B:UN:IATA'", encoding="ascii")
    result = run("ingest", str(path), "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code != 0 and "--format paxlst --country" in result.output, result.output


def test_help_names_paxlst_and_the_resolve_step():
    def words(text: str) -> str:  # help is wrapped and boxed to the terminal width
        return " ".join(text.replace("│", " ").split())

    assert "or PAXLST manifests" in words(run("ingest", "--help").output)
    assert "joins EVENT_ID's person at once" in words(run("correct", "--help").output)  # no resolve needed since ef4625b


# --- item 4: a refused PAXLST manifest is kept in the quarantine ------------------------------------------
def test_a_refused_paxlst_manifest_is_quarantined_whole(tmp_path):
    db = tmp_path / "l.duckdb"
    path = tmp_path / "broken.edi"
    path.write_text("UNA:+.? 'UNB+UNOA:4+AIR+USCBP+240101:1200+1'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'TDT+20+",
                    encoding="ascii")
    result = run("ingest", str(path), "--format", "paxlst", "--country", "USA", "--db", str(db))
    assert result.exit_code == 1, result.output
    assert "kept in the quarantine" in result.output
    [entry] = quarantined(db)
    assert entry["location"] == "whole file" and "manifest refused" in entry["reasons"]
    assert entry["raw"] == path.read_text(encoding="ascii")
