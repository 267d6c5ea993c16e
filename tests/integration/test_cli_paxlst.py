"""PAXLST manifests from the command line: outbound travellers become departures, inbound creates nothing."""

from pathlib import Path

from typer.testing import CliRunner

from stayledger.cli.main import app
from stayledger.storage.duckdb_store import DuckDBStore

runner = CliRunner()
DATA = Path(__file__).parents[1] / "data" / "paxlst"
EXAMPLES = Path(__file__).parents[2] / "examples" / "paxlst"


def ingest(path: Path, db: Path, country: str = "USA"):
    return runner.invoke(app, ["ingest", str(path), "--format", "paxlst", "--country", country, "--db", str(db)])


def test_outbound_manifest_becomes_departures_and_is_idempotent(tmp_path):
    db = tmp_path / "l.duckdb"
    first = ingest(EXAMPLES / "passengers_jfk_lhr.edi", db)
    assert first.exit_code == 0 and "3 added" in first.output
    again = ingest(EXAMPLES / "passengers_jfk_lhr.edi", db)
    assert "0 added, 3 already present" in again.output
    store = DuckDBStore(db)
    kinds = set(store.events_table().column("kind").to_pylist())
    store.close()
    assert kinds == {"departure"}


def test_inbound_manifest_creates_no_arrival_and_says_why(tmp_path):
    result = ingest(EXAMPLES / "passengers_jfk_lhr.edi", tmp_path / "l.duckdb", country="GBR")
    assert result.exit_code == 0 and "0 added" in result.output
    assert "no admission class" in result.output


def test_travellers_without_surname_or_birth_date_are_quarantined_and_the_rest_lands(tmp_path):
    result = ingest(DATA / "missing_surname.edi", tmp_path / "l.duckdb")
    assert result.exit_code == 3
    assert "1 added" in result.output and "2 quarantined" in result.output
    assert "without surname" in result.output and "without birth date" in result.output


def test_paxlst_needs_a_country(tmp_path):
    result = runner.invoke(app, ["ingest", str(EXAMPLES / "passengers_jfk_lhr.edi"), "--format", "paxlst", "--db", str(tmp_path / "l.duckdb")])
    assert result.exit_code == 2 and "--country" in result.output
