"""Ingest into a PostgreSQL ledger: the COPY append path on its own, then whole files through the product path.

Target: >= 50,000 events/s through COPY (``PostgresStore.append_events`` on validated batches).
Also prints the whole ingest (read JSON Lines, validate, append, audit) beside DuckDB's on the same file, and
the time to read the events back as Arrow (what resolve does first).
Makes a fresh database on the server (dropped afterwards).

With --writers W, W processes then ingest W files of their own (distinct ids) into one ledger at once.

Usage: python benchmarks/bench_pg_ingest.py [--events 500000] [--writers 4] [--server postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import ADMIN, write_events  # noqa: E402 - the same synthetic file as the DuckDB benchmark

from stayledger.formats.canonical import read_records  # noqa: E402
from stayledger.storage.duckdb_store import DuckDBStore  # noqa: E402
from stayledger.storage.postgres import PostgresStore  # noqa: E402
from stayledger.usecases.ingest import DEFAULT_CHUNK, ingest_file, validate_records  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--writers", type=int, default=0, help="also ingest with this many processes at once")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"stayledger_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin, tempfile.TemporaryDirectory() as tmp:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        url = args.server.rsplit("/", 1)[0] + "/" + name
        try:
            run(args.events, url, Path(tmp))
            if args.writers:
                concurrent(args.events, args.writers, url, Path(tmp))
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


def run(n: int, url: str, tmp: Path) -> None:
    source = tmp / "events.jsonl"
    write_events(source, n)
    print(f"file: {n:,} events, {source.stat().st_size / 1e6:.0f} MB; chunks of {DEFAULT_CHUNK:,}")

    # 1. The COPY path alone: batches validated beforehand, appended one transaction per chunk.
    chunks, records = [], []
    for record in read_records(source, "jsonl"):
        records.append(record)
        if len(records) == DEFAULT_CHUNK:
            chunks.append(validate_records("events.jsonl", records).batch)
            records = []
    if records:
        chunks.append(validate_records("events.jsonl", records).batch)
    store = PostgresStore(url)
    started = time.perf_counter()
    added = sum(store.append_events(batch, []).added for batch in chunks)
    elapsed = time.perf_counter() - started
    print(f"COPY append (PostgreSQL): {added:,} events in {elapsed:.2f} s = {added / elapsed:,.0f} events/s (target >= 50,000)")
    started = time.perf_counter()
    duplicates = sum(store.append_events(batch, []).duplicates for batch in chunks)
    elapsed = time.perf_counter() - started
    print(f"COPY append again (all duplicates): {duplicates:,} in {elapsed:.2f} s = {duplicates / elapsed:,.0f} events/s")
    started = time.perf_counter()
    table = store.events_table()
    print(f"events back as Arrow (COPY TO): {table.num_rows:,} in {time.perf_counter() - started:.2f} s")
    store.close()

    # 2. Whole files through the product path, PostgreSQL (a fresh schema) and DuckDB.
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE SCHEMA whole")
    whole = PostgresStore(url + "?options=-csearch_path%3Dwhole")
    for label, target in (("PostgreSQL", whole), ("DuckDB", DuckDBStore(tmp / "bench.duckdb"))):
        started = time.perf_counter()
        report = ingest_file(target, ADMIN, source)
        elapsed = time.perf_counter() - started
        print(f"whole ingest ({label}): {report.added:,} added in {elapsed:.2f} s = {report.added / elapsed:,.0f} events/s")
        target.close()


def _ingest_one(url: str, path: str) -> int:
    store = PostgresStore(url)
    try:
        return ingest_file(store, ADMIN, Path(path), workers=1).added
    finally:
        store.close()


def concurrent(n: int, writers: int, url: str, tmp: Path) -> None:
    """W processes, each its own file, one ledger (a fresh schema): total events/s with writers contending."""
    import multiprocessing

    source = (tmp / "events.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    share = n // writers
    paths = []
    for k in range(writers):
        path = tmp / f"writer{k}.jsonl"
        path.write_text("".join(line.replace('"event_id": "E', f'"event_id": "W{k}E', 1)
                                for line in source[k * share:(k + 1) * share]), encoding="utf-8")
        paths.append(str(path))
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE SCHEMA concurrent")
    target = url + "?options=-csearch_path%3Dconcurrent"
    PostgresStore(target).close()
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        started = time.perf_counter()
        added = sum(pool.starmap(_ingest_one, [(target, p) for p in paths]))
        elapsed = time.perf_counter() - started
    print(f"{writers} writers at once (PostgreSQL): {added:,} added in {elapsed:.2f} s = {added / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
