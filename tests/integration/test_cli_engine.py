"""`resolve --engine`: choosing where the batch linkage runs, and one clear line when Spark cannot run here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
    source.write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(source), "--db", str(path), "--actor", "feed"]).exit_code == 0
    return path


def audit_count(db: Path) -> int:
    store = DuckDBStore(db)
    try:
        return len(list(store.audit_rows()))
    finally:
        store.close()


def test_without_pyspark_the_spark_engine_is_one_line_and_a_failure_before_the_ledger_is_touched(db, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now raises ImportError, as when not installed
    before = audit_count(db)
    result = runner.invoke(app, ["resolve", "--engine", "spark", "--db", str(db), "--actor", "ops"])
    assert result.exit_code == 1
    assert 'needs pyspark: pip install "stayledger[spark]"' in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert audit_count(db) == before  # refused before any work: nothing resolved, nothing to audit


def test_without_java_the_spark_engine_says_so(db, monkeypatch):
    pytest.importorskip("pyspark", reason='needs the spark extra: pip install -e ".[test,spark]"')
    import shutil

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    result = runner.invoke(app, ["resolve", "--engine", "spark", "--db", str(db), "--actor", "ops"])
    assert result.exit_code == 1
    assert "needs a Java runtime (17 or newer)" in result.output


def test_an_unknown_engine_is_a_usage_error(db):
    result = runner.invoke(app, ["resolve", "--engine", "flink", "--db", str(db), "--actor", "ops"])
    assert result.exit_code == 2
    assert "duckdb" in result.output and "spark" in result.output


def test_the_default_engine_is_duckdb_and_the_audit_entry_says_so(db):
    from stayledger.audit.log import parse_entry

    result = runner.invoke(app, ["resolve", "--db", str(db), "--actor", "ops"])
    assert result.exit_code == 0, result.output
    store = DuckDBStore(db)
    try:
        entry = parse_entry(list(store.audit_rows())[-1][1])
    finally:
        store.close()
    assert entry["action"] == "identities.resolve" and entry["objects"]["engine"] == "duckdb"


def test_resolve_help_says_what_runs_where():
    result = runner.invoke(app, ["resolve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for phrase in ("--engine", "--spark-master", "--spark-checkpoint-dir", "Incremental linking"):
        assert phrase in result.output
