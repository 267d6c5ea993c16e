"""Stays determined on Spark equal, field for field, the stays determined in this process (the same rules through
the same function), holds included; they come back into the ledger's snapshot, and no Parquet of them is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stayledger.domain.stays import HeldBecause, Status
from stayledger.storage.arrow_stays import table_to_stays
from stayledger.usecases.stays import determine_stays, determine_stays_table
from stayledger.usecases.stays_snapshot import record_stays
from tests.access import ADMIN
from tests.stays_ledgers import AS_OF, ledger_with_holds


@pytest.fixture(scope="module")
def holds(trained: tuple[Path, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = ledger_with_holds(trained[0], tmp_path_factory.mktemp("holds"))
    yield store
    store.close()


def spark_engine(spark: Any, work_dir: Path) -> Any:
    from stayledger.spark.session import SparkSettings
    from stayledger.spark.stays_job import SparkStays

    return SparkStays(SparkSettings(master="local[2]", shuffle_partitions=2), str(work_dir), session=spark)


def test_spark_determines_every_stay_exactly_as_this_process_does_and_the_ledger_keeps_them(spark, holds, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    recorded = record_stays(holds, ADMIN, AS_OF, engine=spark_engine(spark, work))

    expected = list(determine_stays(holds, AS_OF))
    run, table = holds.stays_snapshot()
    assert (run.run_id, run.engine, run.as_of, run.stays) == (recorded.run_id, "spark", AS_OF, len(expected))
    assert table_to_stays(table) == expected  # every field: status, dates, closing event, held_because, steps, evidence
    assert table.equals(determine_stays_table(holds, AS_OF))  # arrival dates too
    held = {s.arrival_event_id: s for s in expected if s.status is Status.NEEDS_REVIEW}
    assert held["HELD-A"].held_because is HeldBecause.IDENTITY_LINK and "HELD-D" in held["HELD-A"].uncertain_links
    assert held["DISP-A"].held_because is HeldBecause.DISPUTED
    assert sum(s.status is Status.OVERSTAY for s in expected) > 0 and len({s.person_id for s in expected}) > 300
    assert list(work.iterdir()) == []  # the Parquet of identified records is gone


def test_spark_and_this_process_agree_under_the_schengen_pack_too(spark, holds, tmp_path):
    on_spark = spark_engine(spark, tmp_path).determine(holds, AS_OF, "schengen")
    assert table_to_stays(on_spark) == list(determine_stays(holds, AS_OF, pack="schengen"))


def test_the_command_determines_on_spark_prints_counts_only_and_audits_the_run(spark, tmp_path):
    import json

    from typer.testing import CliRunner

    from stayledger.audit.log import parse_entry
    from stayledger.cli.main import app
    from stayledger.storage.duckdb_store import DuckDBStore
    from tests.stays_ledgers import HELD_ARRIVAL

    db, work = tmp_path / "l.duckdb", tmp_path / "work"
    work.mkdir()
    (tmp_path / "e.jsonl").write_text(json.dumps(HELD_ARRIVAL) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(tmp_path / "e.jsonl"), "--db", str(db), "--actor", "t"]).exit_code == 0
    result = runner.invoke(app, ["stays", "determine", "--engine", "spark", "--as-of", "2025-01-01", "--work-dir",
                                 str(work), "--partitions", "2", "--db", str(db), "--actor", "ops-1"])
    assert result.exit_code == 0, result.output
    assert "1 stays of 1 persons as of 2025-01-01 (spark), kept as stays run 1: overstay 1" in result.output
    assert "MISHRA" not in result.output and "HELD-A" not in result.output and list(work.iterdir()) == []
    store = DuckDBStore(db)
    try:
        entry = parse_entry(list(store.audit_rows())[-1][1])
        assert (entry["action"], entry["actor"], entry["objects"]["engine"], entry["objects"]["stays"]) == (
            "stays.determine", "ops-1", "spark", 1)
        assert store.stays_snapshot()[0].engine == "spark"
    finally:
        store.close()
