"""The ledger from the command line: ingest of good and bad input, quarantine, exports, round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from stayledger.cli.main import app
from stayledger.formats.json_schema import event_json_schema

runner = CliRunner()

GOOD = [
    {"event_id": "BRD-1", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "Müller",
     "given_names": "Anna", "date_of_birth": "1980-02-11", "sex": "F", "nationality": "DEU", "document_type": "P",
     "document_number": "C01X00T47", "admission_class": "WT", "admitted_until": "2024-05-29", "port": "JFK", "mode": "air"},
    {"event_id": "APIS-1", "kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "MUELLER",
     "given_names": "ANNA", "date_of_birth": "1980-02-11", "nationality": "D", "document_number": "C01X00T47", "mode": "air"},
    {"event_id": "BRD-2", "kind": "arrival", "occurred_on": "2024-01-10", "source": "border", "surname": "Doe",
     "date_of_birth": "1975", "nationality": "GBR", "document_number": "123456789", "admission_class": "WT",
     "admitted_until": "2024-04-08"},
]


def run(*args: str, db: Path):
    return runner.invoke(app, [*args, "--db", str(db)])


def write_jsonl(path: Path, records: list[dict], extra_lines: list[str] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.duckdb"


def test_clean_file_is_accepted_with_exit_0(tmp_path, db):
    result = run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), db=db)
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output


def test_reingesting_the_same_file_adds_nothing(tmp_path, db):
    path = write_jsonl(tmp_path / "e.jsonl", GOOD)
    run("ingest", str(path), db=db)
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 0 and "0 added, 3 already present" in result.output


BAD_LINES = {
    "wrong type": json.dumps({**GOOD[0], "event_id": "B1", "document_number": 12345}),
    "missing field": json.dumps({k: v for k, v in GOOD[0].items() if k != "surname"} | {"event_id": "B2"}),
    "unknown field": json.dumps({**GOOD[0], "event_id": "B3", "email": "a@b.c"}),
    "bad date": json.dumps({**GOOD[0], "event_id": "B4", "occurred_on": "2024-02-30"}),
    "unknown country": json.dumps({**GOOD[0], "event_id": "B5", "nationality": "ZZZ"}),
    "not json": "this is not json",
    "not an object": "[1, 2, 3]",
}


def test_every_kind_of_bad_record_is_quarantined_and_no_good_record_is_lost(tmp_path, db):
    path = write_jsonl(tmp_path / "mixed.jsonl", GOOD, list(BAD_LINES.values()))
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 3, result.output
    assert "3 added" in result.output and f"{len(BAD_LINES)} quarantined" in result.output
    listing = run("quarantine", "list", "--limit", "0", "--purpose", "fix feed errors", db=db)
    for expected in ("document_number: expected a string", "surname: required", "unknown field",
                     "not a calendar date", "unknown country code 'ZZZ'", "not valid JSON", "expected a JSON object"):
        assert expected in listing.output, expected
    out = tmp_path / "events.jsonl"
    assert run("export", "events", "--purpose", "test backup", "--out", str(out), db=db).exit_code == 0
    assert len(out.read_text().splitlines()) == 3


def test_non_utf8_bytes_are_quarantined_by_line(tmp_path, db):
    path = tmp_path / "latin1.jsonl"
    good = json.dumps(GOOD[0], ensure_ascii=False).encode()
    bad = json.dumps({**GOOD[2], "event_id": "L1", "surname": "X"}).encode().replace(b'"X"', b'"M\xfcller"')
    path.write_bytes(good + b"\n" + bad + b"\n")
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 3 and "1 added" in result.output
    assert "not valid UTF-8" in run("quarantine", "list", "--purpose", "fix feed errors", db=db).output


def test_a_truncated_file_keeps_every_complete_record(tmp_path, db):
    path = tmp_path / "cut.jsonl"
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in GOOD)
    path.write_text(text[: len(text) - 15], encoding="utf-8")
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 3 and "2 added" in result.output
    assert "truncated" in result.output


def test_an_empty_file_says_so(tmp_path, db):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 0 and "empty" in result.output


def test_a_missing_file_is_a_usage_error(tmp_path, db):
    result = run("ingest", str(tmp_path / "nope.jsonl"), db=db)
    assert result.exit_code == 2 and "no such file" in result.output


def test_conflicting_record_under_a_known_event_id_is_quarantined(tmp_path, db):
    run("ingest", str(write_jsonl(tmp_path / "a.jsonl", GOOD)), db=db)
    result = run("ingest", str(write_jsonl(tmp_path / "b.jsonl", [{**GOOD[0], "admitted_until": "2024-09-01"}])), db=db)
    assert result.exit_code == 3 and "conflict" in result.output


def test_csv_with_canonical_columns_is_ingested(tmp_path, db):
    path = tmp_path / "events.csv"
    from stayledger.domain.events import FIELDS

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for record in GOOD:
            writer.writerow(record)
        handle.write("too,few,fields\n")
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 3 and "3 added" in result.output
    assert f"row has 3 fields but the header has {len(FIELDS)}" in result.output


def test_parquet_with_typed_dates_is_ingested(tmp_path, db):
    import datetime as dt

    path = tmp_path / "events.parquet"
    rows = [dict(r) for r in GOOD]
    for r in rows:
        r["occurred_on"] = dt.date.fromisoformat(r["occurred_on"])
    columns = sorted({k for r in rows for k in r})
    pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows]), path)
    result = run("ingest", str(path), db=db)
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output


def test_export_round_trip_gives_the_same_ledger(tmp_path, db):
    run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), db=db)
    first = tmp_path / "first.jsonl"
    run("export", "events", "--purpose", "test backup", "--out", str(first), db=db)
    other = tmp_path / "other.duckdb"
    assert run("ingest", str(first), db=other).exit_code == 0
    second = tmp_path / "second.jsonl"
    run("export", "events", "--purpose", "test backup", "--out", str(second), db=other)
    assert first.read_text() == second.read_text()


def test_identity_export_has_one_row_per_event_and_links_the_transliterated_departure(tmp_path, db):
    run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), db=db)
    out = tmp_path / "ids.csv"
    assert run("export", "identities", "--purpose", "test backup", "--out", str(out), db=db).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["event_id", "person_id"] and len(rows) == 3
    person = {r["event_id"]: r["person_id"] for r in rows}
    assert person["BRD-1"] == person["APIS-1"] != person["BRD-2"]


def test_stays_export_has_the_stable_header_and_statuses(tmp_path, db):
    run("ingest", str(write_jsonl(tmp_path / "e.jsonl", GOOD)), db=db)
    out = tmp_path / "stays.csv"
    assert run("export", "stays", "--purpose", "test backup", "--as-of", "2024-12-31", "--out", str(out), db=db).exit_code == 0
    header = out.read_text().splitlines()[0]
    assert header.startswith("arrival_event_id,person_id,status,authorized_until,overstay_days")
    rows = {r["arrival_event_id"]: r for r in csv.DictReader(out.open())}
    assert rows["BRD-1"]["status"] == "departed" and rows["BRD-1"]["overstay_days"] == "0"
    assert rows["BRD-2"]["status"] == "overstay" and rows["BRD-2"]["overstay_days"] == str((366 - 99))


def test_published_schema_matches_the_validator():
    published = json.loads((Path(__file__).parents[2] / "docs" / "event-schema.json").read_text())
    assert published == event_json_schema()
