"""Batch identity resolution on PostgreSQL data beside DuckDB, on the same synthetic population.

Splink runs on DuckDB in process either way; with PostgreSQL the events reach it by COPY (as Arrow) and the
identities go back by COPY. Target (issue 12): PostgreSQL within 1.5x of the DuckDB time.
Makes a fresh database on the server (dropped afterwards).

Usage: python benchmarks/bench_pg_resolve.py [--people 24000] [--server postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from stayledger.domain.access import AccessContext, Role
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.storage.postgres import PostgresStore
from stayledger.usecases.ingest import ingest_file
from stayledger.usecases.resolve import resolve_identities

ADMIN = AccessContext("benchmark", Role.ADMIN, "benchmark run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=24_000, help="240,000 travellers give about 1,000,000 events")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"stayledger_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin, tempfile.TemporaryDirectory() as tmp:
        population = Path(tmp) / "pop"
        subprocess.run([sys.executable, "-m", "stayledger", "synth", "--people", str(args.people), "--seed",
                        str(args.seed), "--out", str(population)], check=True, capture_output=True)
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        try:
            stores = (("DuckDB", DuckDBStore(Path(tmp) / "ledger.duckdb")),
                      ("PostgreSQL", PostgresStore(args.server.rsplit("/", 1)[0] + "/" + name)))
            seconds = {}
            for label, store in stores:
                ingest_file(store, ADMIN, population / "events.jsonl")
                started = time.perf_counter()
                report = resolve_identities(store, ADMIN)
                seconds[label] = time.perf_counter() - started
                started = time.perf_counter()
                events = store.events_table()
                read = time.perf_counter() - started
                print(f"{label}: resolve ({report.method}) {report.events:,} events -> {report.persons:,} persons in "
                      f"{seconds[label]:.1f} s (of which reading the events as Arrow: {read:.2f} s for {events.num_rows:,})")
                store.close()
            print(f"PostgreSQL / DuckDB: {seconds['PostgreSQL'] / seconds['DuckDB']:.2f}x (target <= 1.5x)")
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
