"""The example agency exports ingest through their mappings: good rows land, the bad ones are quarantined."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stayledger.formats.mapping import load_mapping, mapped_records, unmapped_columns
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.ingest import ingest_records
from tests.access import ADMIN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mappings"
TODAY = date(2026, 1, 15)


@pytest.fixture
def store(tmp_path):
    store = DuckDBStore(tmp_path / "x.duckdb")
    yield store
    store.close()


def ingest_example(store, name: str, data: Path | None = None):
    path = data or EXAMPLES / f"{name}.csv"
    mapping = load_mapping(EXAMPLES / f"{name}.toml")
    return ingest_records(store, ADMIN, path.name, mapped_records(path, mapping, today=TODAY))


def quarantined(store) -> dict[str, str]:
    return {stored.entry.location: stored.entry.reasons for stored in store.quarantine_entries()}


def test_the_border_agency_export_lands_except_its_two_bad_rows(store):
    report = ingest_example(store, "border_agency")
    assert (report.records, report.added, report.quarantined) == (10, 8, 2)
    assert quarantined(store) == {
        "line 7": "column 'CROSSING_DATE' (occurred_on): '31/02/2025' is not a calendar date (%d/%m/%Y)",
        "line 9": "column 'GENDER' (sex): 'Fem' is not in the code list",
    }
    muller, nguyen, smith, dubois = store.events_by_id(["BA-700101", "BA-700103", "BA-700107", "BA-700110"])
    assert (muller.surname, muller.given_names, muller.nationality, muller.document_issuer) == (
        "MÜLLER", "Anna Lena", "DEU", "DEU")  # read from Windows-1252; country name and alpha-2 code -> DEU
    assert (muller.kind, muller.occurred_on, muller.admission_class, muller.admitted_until, muller.mode) == (
        "arrival", date(2025, 2, 3), "B2", date(2025, 8, 2), "air")
    assert (nguyen.date_of_birth, nguyen.duration_of_status, nguyen.admitted_until) == ("1990-05", True, None)
    assert (smith.date_of_birth, smith.admission_class, smith.port) == ("1960", "WT", "BOS")
    assert dubois.sex is None and dubois.admission_class == "J1" and dubois.mode == "sea"
    [departure] = store.events_by_id(["BA-700105"])
    assert departure.kind == "departure" and departure.admission_class is None and not departure.duration_of_status


def test_quarantine_keeps_no_unmapped_column_of_the_export(store):
    mapping = load_mapping(EXAMPLES / "border_agency.toml")
    assert unmapped_columns(EXAMPLES / "border_agency.csv", mapping) == ["OFFICER_ID", "REMARKS"]
    ingest_example(store, "border_agency")
    raws = [stored.entry.raw for stored in store.quarantine_entries()]
    assert len(raws) == 2 and all('"RECORD_NO"' in raw for raw in raws)
    assert not any("OF-" in raw or "OFFICER_ID" in raw for raw in raws)


def test_the_carrier_exits_take_identity_from_the_mrz_and_refuse_a_misread_one(store):
    report = ingest_example(store, "carrier_exits")
    assert (report.records, report.added, report.quarantined) == (6, 4, 2)
    problems = quarantined(store)
    assert set(problems) == {"line 6", "line 7"}
    assert problems["line 6"].endswith("MRZ check digit fails (document_number, composite)")
    assert "cannot be read as an MRZ" in problems["line 7"] and "86 characters" in problems["line 7"]
    [oconnor] = store.events_by_id(["CX-EI104-20250810-001"])
    assert (oconnor.kind, oconnor.source, oconnor.occurred_on, oconnor.port, oconnor.carrier, oconnor.mode) == (
        "departure", "carrier", date(2025, 8, 10), "BOS", "EI", "air")
    assert (oconnor.surname, oconnor.given_names, oconnor.date_of_birth, oconnor.sex) == (
        "OCONNOR", "SEAN", "1988-04-23", "M")
    assert (oconnor.nationality, oconnor.document_type, oconnor.document_number, oconnor.document_issuer) == (
        "IRL", "P", "PA1234567", "IRL")
    [mueller, dubois] = store.events_by_id(["CX-LH401-20250328-003", "CX-AF91-20250610-004"])
    assert (mueller.surname, mueller.nationality) == ("MUELLER", "DEU")  # 'D<<' in the zone, lines split by a space
    assert (dubois.document_type, dubois.document_number) == ("I", "24AB56789")  # a TD1 identity card


def test_the_same_exits_as_parquet_give_the_same_events(store, tmp_path):
    with (EXAMPLES / "carrier_exits.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parquet = tmp_path / "carrier_exits.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    from_parquet = ingest_example(store, "carrier_exits", parquet)
    assert (from_parquet.added, from_parquet.quarantined) == (4, 2)
    again = ingest_example(store, "carrier_exits")  # the CSV: every event already present, identical
    assert (again.added, again.duplicates) == (0, 4)


def test_reingesting_an_export_adds_nothing(store):
    ingest_example(store, "border_agency")
    again = ingest_example(store, "border_agency")
    assert (again.added, again.duplicates, store.event_count()) == (0, 8, 8)


def _cli_has_mapping_option() -> bool:
    from stayledger.cli.main import ingest

    return "mapping" in ingest.__code__.co_varnames[: ingest.__code__.co_argcount]


@pytest.mark.skipif(not _cli_has_mapping_option(), reason="`stayledger ingest --mapping` is not wired yet")
def test_the_command_line_ingests_an_export_through_its_mapping(tmp_path):
    from typer.testing import CliRunner

    from stayledger.cli.main import app

    db = str(tmp_path / "cli.duckdb")
    result = CliRunner().invoke(app, ["ingest", str(EXAMPLES / "border_agency.csv"),
                                      "--mapping", str(EXAMPLES / "border_agency.toml"), "--db", db])
    assert result.exit_code == 3, result.output  # some records quarantined
    assert "10 records, 8 added" in result.output
    assert "ignored: OFFICER_ID, REMARKS" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text('[fields]\nsurname = { colum = "X" }\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(EXAMPLES / "border_agency.csv"), "--mapping", str(broken),
                                      "--db", db])
    assert result.exit_code == 2 and "fields.surname.colum: unknown option" in result.output


def test_a_field_over_the_csv_size_limit_quarantines_its_row_and_the_rest_lands(store, tmp_path):
    # issue 14 item 14, through a mapping: the row is kept in the quarantine with its text, not the file refused
    lines = (EXAMPLES / "carrier_exits.csv").read_text(encoding="utf-8").splitlines()
    huge = lines[2].replace("31A", "3" * 140_000)
    data = tmp_path / "carrier_exits.csv"
    data.write_text("\n".join([lines[0], lines[1], huge, *lines[3:]]) + "\n", encoding="utf-8")
    whole = ingest_example(store, "carrier_exits")
    other = DuckDBStore(tmp_path / "y.duckdb")
    try:
        report = ingest_example(other, "carrier_exits", data)
        assert report.records == whole.records and report.added == whole.added - 1
        entry = next(s.entry for s in other.quarantine_entries() if s.entry.location == "line 3")
        assert "field larger than field limit" in entry.reasons and entry.raw == huge
    finally:
        other.close()
