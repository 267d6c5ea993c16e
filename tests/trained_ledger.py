"""A small resolved DuckDB ledger with a trained linkage model, built once per test run (training takes seconds),
and the newest events held back for tests to post."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HELD = 60


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[Path, list[dict]]:
    from stayledger.formats.canonical import RawRecord
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.synth.generator import generate_population
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities
    from tests.access import ADMIN

    out = tmp_path_factory.mktemp("live")
    generate_population(400, 21, out / "pop")
    lines = (out / "pop" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    store = DuckDBStore(out / "base.duckdb")
    ingest_records(store, ADMIN, "events.jsonl", [RawRecord(f"line {i}", l, json.loads(l)) for i, l in enumerate(lines[:-HELD], 1)])
    assert resolve_identities(store, ADMIN).method == "splink"
    store.close()
    return out / "base.duckdb", [json.loads(l) for l in lines[-HELD:]]
