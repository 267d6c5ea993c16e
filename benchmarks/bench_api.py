"""The service under load on loopback: concurrent clients post single events; travellers check their status.

Targets (issue "the service"): with 1,000,000 resolved events loaded, 16 clients posting single events for 60 s:
p99 of POST → linked and determined <= 150 ms; traveller status p99 <= 50 ms.
Usage: python benchmarks/bench_api.py [--people 250000] [--clients 16] [--seconds 60] [--workdir DIR] [--db URL]
(the ledger is built once in --workdir and reused: synthesise, ingest all but the newest events, resolve).
--db postgresql://…/EMPTY_DB: the built ledger is copied there (`stayledger migrate`) and the service runs on it;
give an empty database each run (dropdb/createdb), as the run's posts stay in it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

HELD_BACK = 20_000  # the newest events, posted during the run


def build(workdir: Path, people: int) -> tuple[Path, list[dict]]:
    db = workdir / "bench.duckdb"
    population = workdir / "population"
    events = population / "events.jsonl"
    if not events.exists():
        subprocess.run([sys.executable, "-m", "stayledger", "synth", "--people", str(people), "--out", str(population)], check=True)
    lines = events.read_text(encoding="utf-8").splitlines()
    held = [json.loads(line) for line in lines[-HELD_BACK:]]
    if not db.exists():
        head = workdir / "head.jsonl"
        head.write_text("\n".join(lines[:-HELD_BACK]) + "\n", encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stayledger", "ingest", str(head), "--db", str(db)], check=True)
        subprocess.run([sys.executable, "-m", "stayledger", "resolve", "--db", str(db)], check=True)
        print(f"built the ledger ({len(lines) - HELD_BACK:,} events) in {time.perf_counter() - started:.0f} s")
    return db, held


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=250_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--workdir", type=Path, default=Path("bench-api"))
    parser.add_argument("--db", help="an empty PostgreSQL database to copy the ledger to and serve from")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    built, held = build(args.workdir, args.people)
    db: Path | str = built
    if args.db:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stayledger", "migrate", "--db", str(built), "--to", args.db], check=True,
                       env={**os.environ, "STAYLEDGER_ACTOR": "bench"})
        print(f"copied the ledger to {args.db} in {time.perf_counter() - started:.0f} s")
        db = args.db
    env = {**os.environ, "STAYLEDGER_ACTOR": "bench", "STAYLEDGER_AUDIT_KEY": str(args.workdir / "audit.pem")}
    name = f"feed-{int(time.time())}"
    made = subprocess.run([sys.executable, "-m", "stayledger", "users", "add", name, "--role", "ingest", "--json",
                           "--db", str(db)], check=True, capture_output=True, text=True, env=env)
    token = json.loads(made.stdout)["token"]
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "stayledger", "serve", "--port", str(args.port), "--db", str(db),
                               "--traveller-limit", "1000000"], env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        print(f"service ready (live linker built) {time.perf_counter() - started:.1f} s after start")
        posts: list[float] = []
        lookups: list[float] = []
        failures = [0]
        queue = iter(held)
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def client() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
                while time.monotonic() < deadline:
                    with lock:
                        event = next(queue, None)
                    if event is None:
                        return
                    started = time.perf_counter()
                    response = http.post("/v1/events", json=[event])
                    elapsed = time.perf_counter() - started
                    with lock:
                        if response.status_code == 200:
                            posts.append(elapsed)
                        else:
                            failures[0] += 1
                    if event.get("document_number") and event.get("kind") == "arrival":
                        identity = {"document_number": event["document_number"], "document_issuer": event["nationality"],
                                    "date_of_birth": event["date_of_birth"], "surname": event["surname"]}
                        started = time.perf_counter()
                        http.post("/v1/traveller/status", json=identity, headers={"Authorization": ""})
                        with lock:
                            lookups.append(time.perf_counter() - started)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        hits, misses = _hit_and_miss_timings(base, held)
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"machine: {os.cpu_count()} cores; clients {args.clients}; {wall:.0f} s")
    print(f"POST /v1/events (one event, linked and determined): {len(posts):,} ok, {failures[0]} failed; "
          f"{len(posts) / wall:.1f} per s; p50 {statistics.median(posts) * 1000:.0f} ms, "
          f"p99 {percentile(posts, 0.99) * 1000:.0f} ms (target <= 150 ms)")
    if lookups:
        print(f"traveller status: {len(lookups):,}; p50 {statistics.median(lookups) * 1000:.0f} ms, "
              f"p99 {percentile(lookups, 0.99) * 1000:.0f} ms (target <= 50 ms)")
    if hits and misses:
        print(f"traveller status, one client, found vs wrong birth date (should take about the same time): "
              f"{len(hits)} each; p50 {statistics.median(hits) * 1000:.1f} vs {statistics.median(misses) * 1000:.1f} ms, "
              f"p90 {percentile(hits, 0.9) * 1000:.1f} vs {percentile(misses, 0.9) * 1000:.1f} ms")


def _hit_and_miss_timings(base: str, held: list[dict], n: int = 100) -> tuple[list[float], list[float]]:
    """Alternate a lookup that finds the traveller with one whose birth date is off by a day, one client."""
    people = [e for e in held if e.get("kind") == "arrival" and e.get("document_number")
              and len(e.get("date_of_birth", "")) == 10][:n]
    hits: list[float] = []
    misses: list[float] = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for event in people:
            identity = {"document_number": event["document_number"], "document_issuer": event["nationality"],
                        "date_of_birth": event["date_of_birth"], "surname": event["surname"]}
            day = int(identity["date_of_birth"][8:])
            wrong = {**identity, "date_of_birth": identity["date_of_birth"][:8] + f"{day % 28 + 1:02d}"}
            for body, into in ((identity, hits), (wrong, misses)):
                started = time.perf_counter()
                http.post("/v1/traveller/status", json=body)
                into.append(time.perf_counter() - started)
    return hits, misses


if __name__ == "__main__":
    main()
