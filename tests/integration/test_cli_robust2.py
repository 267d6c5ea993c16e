"""Issue 14, remaining items: honest exports, read-only ledgers, manifests we cannot read, what is kept."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import stayledger.usecases.ingest as ingest
from stayledger.storage.duckdb_store import DuckDBStore

from typer.testing import CliRunner

from stayledger.cli.main import app
from tests.integration.test_cli_ledger import GOOD, write_jsonl
from tests.integration.test_cli_robust import quarantined
from tests.unit.test_paxlst import message

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


# --- item 7: a stay closed by a later arrival names no departure ----------------------------------------
def test_stays_export_names_only_real_departures_and_says_how_each_stay_closed(tmp_path):
    db = str(tmp_path / "l.duckdb")
    again = {**GOOD[0], "event_id": "BRD-3", "occurred_on": "2024-09-01", "admitted_until": "2024-11-29"}
    later = {**GOOD[2], "event_id": "BRD-4", "occurred_on": "2024-10-01", "admitted_until": "2024-12-29"}
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", [*GOOD, again, later])), "--db", db).exit_code == 0
    out = tmp_path / "stays.csv"
    result = run("export", "stays", "--purpose", "check", "--as-of", "2024-12-31", "--out", str(out), "--db", db)
    assert result.exit_code == 0, result.output
    rows = {r["arrival_event_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert (rows["BRD-1"]["departure_event_id"], rows["BRD-1"]["closed_by"]) == ("APIS-1", "departure")
    # BRD-2's traveller came back after the admitted stay without a recorded exit: the exit is unknown.
    assert rows["BRD-2"]["status"] == "needs_review"
    assert (rows["BRD-2"]["departure_event_id"], rows["BRD-2"]["closed_by"]) == ("", "next_arrival")
    assert (rows["BRD-3"]["departure_event_id"], rows["BRD-3"]["closed_by"]) == ("", "")


# --- item 22: a read-only ledger cannot record the audit entry of a read ----------------------------------
def test_reads_of_a_read_only_ledger_are_refused_in_one_line_and_the_file_untouched(tmp_path):
    db = tmp_path / "l.duckdb"
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), "--db", str(db)).exit_code == 0
    assert run("resolve", "--db", str(db)).exit_code == 0
    db.chmod(0o444)  # a read-only copy (no write bit for anyone: refused even when running as root)
    before = db.read_bytes()
    commands = [
        ("export", "stays", "--as-of", "2024-12-31", "--out", str(tmp_path / "s.csv")),
        ("export", "identities", "--out", str(tmp_path / "i.csv")),
        ("person", "BRD-1"),
    ]
    for command in commands:
        result = run(*command, "--purpose", "check", "--db", str(db))
        assert result.exit_code == 1, (command, result.output)
        message = " ".join(result.output.split())
        assert "is read-only: the audit entry of this command" in message and "copy the ledger" in message
        assert "Traceback" not in result.output
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "i.csv").exists()  # nothing read unaudited
    assert db.read_bytes() == before


# --- item 5: the legacy US PAXLST version is refused, not "0 records — ok" ----------------------------------
def test_a_legacy_us_paxlst_manifest_is_refused_and_quarantined_with_the_reason(tmp_path):
    db = tmp_path / "l.duckdb"
    path = tmp_path / "legacy.edi"
    path.write_text(message("PDT+P:GB1000001:GBR+THROUGH:TRAVELLER+700101:M:GBR'", unh="UNH+M1+PAXLST:001:000+R"),
                    encoding="ascii")
    result = run("ingest", str(path), "--format", "paxlst", "--country", "USA", "--db", str(db))
    assert result.exit_code == 1, result.output
    assert "version 001:000, which is not supported" in " ".join(result.output.split())
    [entry] = quarantined(db)
    assert "version 001:000, which is not supported" in entry["reasons"] and "PDT+" in entry["raw"]


# --- item 18: airports the bundled table lacks --------------------------------------------------------------
def test_ingest_airports_adds_a_missing_airport_and_the_error_names_the_code(tmp_path):
    db = str(tmp_path / "l.duckdb")
    route = ("TDT+20+XX1'", "LOC+125+JFK'", "DTM+189:2503101400:201'", "LOC+87+YEU'")
    manifest = tmp_path / "yeu.edi"
    manifest.write_text(message("NAD+FL+++SMITH:JOHN'", "DTM+329:800115'", "NAT+2+GBR'", flight=route), encoding="ascii")
    refused = run("ingest", str(manifest), "--format", "paxlst", "--country", "USA", "--db", db)
    assert refused.exit_code == 1
    assert "unknown airport code 'YEU'" in refused.output and "--airports" in refused.output
    airports = tmp_path / "airports.csv"
    airports.write_text("iata,country\nYEU,CAN\n", encoding="utf-8")
    result = run("ingest", str(manifest), "--format", "paxlst", "--country", "USA", "--airports", str(airports), "--db", db)
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output


def test_a_bad_airports_file_is_a_usage_error_naming_the_line(tmp_path):
    airports = tmp_path / "airports.csv"
    airports.write_text("iata,country\nYEU,Canada\n", encoding="utf-8")
    manifest = tmp_path / "m.edi"
    manifest.write_text(message(), encoding="ascii")
    result = run("ingest", str(manifest), "--format", "paxlst", "--country", "USA", "--airports", str(airports),
                 "--db", str(tmp_path / "l.duckdb"))
    assert result.exit_code == 2 and "line 2" in result.output and "'CANADA' is not an ISO 3166-1 alpha-3" in result.output
    jsonl = write_jsonl(tmp_path / "e.jsonl", GOOD)
    assert run("ingest", str(jsonl), "--airports", str(airports), "--db", str(tmp_path / "l.duckdb")).exit_code == 2


# --- item 14: a CSV field over the reader's limit quarantines its row, not the file ----------------------------
CSV_HEADER = "event_id,kind,occurred_on,source,surname,date_of_birth,nationality,document_number"


def csv_row(i: int, surname: str = "DOE") -> str:
    return f"E{i},departure,2024-05-20,carrier,{surname},1980-01-01,GBR,{100000 + i}"


def events_in(db: Path) -> int:
    store = DuckDBStore(db)
    try:
        return store.events_table().num_rows
    finally:
        store.close()


def test_a_csv_field_over_the_size_limit_quarantines_that_row_and_keeps_the_rest(tmp_path):
    db = tmp_path / "l.duckdb"
    path = tmp_path / "e.csv"
    huge = "X" * 140_000
    path.write_text("\n".join([CSV_HEADER, csv_row(1), csv_row(2, huge), csv_row(3)]) + "\n", encoding="utf-8")
    result = run("ingest", str(path), "--db", str(db))
    assert result.exit_code == 3, result.output
    assert "3 records, 2 added" in result.output and "field larger than field limit" in result.output
    [entry] = quarantined(db)
    assert entry["location"] == "line 3" and entry["raw"] == csv_row(2, huge)
    assert events_in(db) == 2


# --- item 13: Ctrl-C says what was committed, never a traceback -----------------------------------------------
def write_csv(path: Path, n: int) -> Path:
    path.write_text("\n".join([CSV_HEADER, *(csv_row(i) for i in range(n))]) + "\n", encoding="utf-8")
    return path


def test_ctrl_c_between_chunks_reports_the_records_committed(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "DEFAULT_CHUNK", 2)
    real, chunks = ingest.validate_records, []

    def validate_then_ctrl_c(origin, records):
        chunks.append(origin)
        if len(chunks) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C: KeyboardInterrupt in the main thread
        return real(origin, records)

    monkeypatch.setattr(ingest, "validate_records", validate_then_ctrl_c)
    db = tmp_path / "l.duckdb"
    result = run("ingest", str(write_csv(tmp_path / "e.csv", 7)), "--db", str(db))
    assert result.exit_code == 130, result.output
    message = " ".join(result.output.split())
    assert "interrupted while ingesting" in message
    assert "the first 4 records of this file were committed (4 added" in message
    assert events_in(db) == 4


def test_ctrl_c_while_a_chunk_is_written_commits_it_first_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "DEFAULT_CHUNK", 2)
    real, appends = DuckDBStore.append_events_optimistically, []

    def ctrl_c_during_append(self, batch, quarantine):
        appends.append(1)
        if len(appends) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # arrives while DuckDB writes: it used to abort the query
        return real(self, batch, quarantine)

    monkeypatch.setattr(DuckDBStore, "append_events_optimistically", ctrl_c_during_append)
    db = tmp_path / "l.duckdb"
    result = run("ingest", str(write_csv(tmp_path / "e.csv", 7)), "--db", str(db))
    assert result.exit_code == 130, (result.output, result.exception)
    assert "the first 4 records of this file were committed" in " ".join(result.output.split())
    assert events_in(db) == 4


# --- item 20: ids and level names are never cut -----------------------------------------------------------------
LONG_ID = "paxlst:05edddcaa655684fb43254cfc801dc3f"


def test_person_shows_long_ids_whole_even_on_a_narrow_console(tmp_path, monkeypatch):
    from stayledger.cli.common import console

    db = str(tmp_path / "l.duckdb")
    arrival = {**GOOD[0], "document_number": "C01X00T47ABCDEFGH"}
    departure = {**GOOD[1], "event_id": LONG_ID, "document_number": "C01X00T47ABCDEFGH"}
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", [arrival, departure])), "--db", db).exit_code == 0
    assert run("resolve", "--db", db).exit_code == 0
    person = next(row["person_id"] for row in _identities(tmp_path, db) if row["event_id"] == "BRD-1")
    monkeypatch.setattr(console, "width", 60)
    result = run("person", person, "--purpose", "check", "--as-of", "2024-12-31", "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(LONG_ID in line for line in lines), result.output
    assert any(LONG_ID in line for line in lines) and any("C01X00T47ABCDEFGH" in line for line in lines)
    assert "…" not in result.output


def _identities(tmp_path: Path, db: str) -> list[dict[str, str]]:
    out = tmp_path / "identities.csv"
    assert run("export", "identities", "--purpose", "check", "--out", str(out), "--db", db).exit_code == 0
    return list(csv.DictReader(out.open(encoding="utf-8")))


def test_the_explain_waterfall_keeps_long_level_names_and_values_whole():
    from types import SimpleNamespace

    from stayledger.reports.waterfall import render_waterfall_text as waterfall_text

    level = "differs only in the last two characters (a relative's passport, consecutive numbers)"
    part = SimpleNamespace(name="document_number", level=level, match_weight=-11.5, tf_adjustment=0.0,
                           value_a="C01X00T47ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLM", value_b="C01X00T48")
    explanation = SimpleNamespace(prior_probability=0.0001, prior_weight=-13.3, comparisons=(part,),
                                  final_weight=-24.8, final_probability=0.00000003)
    text = waterfall_text(explanation)
    assert level in text and part.value_a in text
    header, prior, document, values, result = text.splitlines()
    assert document.index("-11.50") == prior.index("-13.30")  # the weights still line up in one column


def test_audit_since_takes_dates_as_every_other_command_does(tmp_path):
    db = str(tmp_path / "l.duckdb")
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), "--db", db).exit_code == 0
    for text in ("20250110", "2025-W02-5", "2025-01-10T1000"):
        result = run("audit", "list", "--since", text, "--db", db)
        assert result.exit_code == 2 and "use YYYY-MM-DD" in result.output, (text, result.output)
    for text in ("2025-01-10", "2025-01-10T10:00:00Z", "2025-01-10T10:00+01:00"):
        assert run("audit", "list", "--since", text, "--db", db).exit_code == 0, text


# --- item 21: why the needs_review stays that are not in the review queue are held ----------------------------
def test_review_held_counts_needs_review_stays_by_reason_and_says_what_settles_each(tmp_path):
    db = str(tmp_path / "l.duckdb")
    back_later = {**GOOD[2], "event_id": "BRD-4", "occurred_on": "2024-10-01", "admitted_until": "2024-12-29"}
    assert run("ingest", str(write_jsonl(tmp_path / "e.jsonl", [*GOOD, back_later])), "--db", db).exit_code == 0
    assert run("resolve", "--db", db).exit_code == 0
    listed = run("review", "list", "--db", db)
    assert listed.exit_code == 0 and "stayledger review held" in " ".join(listed.output.split())
    result = run("review", "held", "--as-of", "2024-12-31", "--db", db)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 stays are needs_review" in text
    assert "1 departure date unknown: a later arrival shows the traveller left, but not when" in text
    assert "→ an exit record for the stay" in text and "(0 open)" in text
    out = tmp_path / "stays.csv"
    assert run("export", "stays", "--purpose", "check", "--as-of", "2024-12-31", "--out", str(out), "--db", db).exit_code == 0
    held = {r["arrival_event_id"]: r["held_because"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert held == {"BRD-1": "", "BRD-2": "departure_unknown", "BRD-4": ""}


def test_the_demo_says_why_its_needs_review_stays_are_held(tmp_path):
    result = run("demo", "--dir", str(tmp_path), "--people", "100", "--actor", "t")
    assert result.exit_code == 0, result.output
    needs_review = next(int(line.split("│")[2].replace(",", "")) for line in result.output.splitlines()
                        if "│ needs_review" in line)
    text = " ".join(result.output.split())
    if needs_review:
        assert f"{needs_review:,} stays are needs_review. Why, and what settles each:" in text
        assert "Only identity questions are in `stayledger review list`" in text
    assert "stayledger review held" in text


# --- item 6: a byte not valid in the character set is kept and named, never dropped -----------------------------
def test_an_invalid_byte_in_a_manifest_is_named_and_the_other_names_stay_intact(tmp_path):
    db = tmp_path / "l.duckdb"
    body = message("NAD+FL+++MÜLLER:JÖRG'", "DTM+329:800115'", "NAT+2+DEU'",
                   "NAD+FL+++NOVAK:ANA'", "DTM+329:810216'", "NAT+2+CZE'")
    path = tmp_path / "m.edi"
    path.write_bytes(body.encode("utf-8").replace(b"NOVAK", b"NOV\x87K"))
    result = run("ingest", str(path), "--format", "paxlst", "--country", "USA", "--db", str(db))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "traveller 'NOV\ufffdK' born 1981-02-16" in text and "U+FFFD (a byte that is not UTF-8" in text
    out = tmp_path / "events.jsonl"
    assert run("export", "events", "--purpose", "check", "--out", str(out), "--db", str(db)).exit_code == 0
    import json
    surnames = sorted(json.loads(line)["surname"] for line in out.read_text(encoding="utf-8").splitlines())
    assert surnames == ["MÜLLER", "NOV\ufffdK"]  # not Latin-1 mojibake ('MÃ\x9cLLER'), nothing dropped
