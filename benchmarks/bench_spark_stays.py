"""Benchmark: every person's stays on Spark (local[1], local[2]) against in this process, end to end.

Builds a DuckDB ledger of synthetic travel histories (bench_rules' mix, ~2.5 events per person; identities
assigned as generated, so no linkage runs; some open review questions and correction cases, so holds occur), then
runs `record_stays` (the `stays determine` use case: read the ledger, determine, replace the stays snapshot) once
per engine, each in a fresh process. Reports wall time and peak memory of the whole process tree — the Python
driver, Spark's JVM and its Python workers — as the sum of each process's proportional set size (PSS, from
/proc/PID/smaps_rollup, sampled every 0.2 s; PSS shares pages between forked workers instead of counting them
twice). Each run's snapshot is fingerprinted: every engine must give the same stays.

    flock /work/notes/heavy.lock nice -n 10 python benchmarks/bench_spark_stays.py --persons 1000000
    python benchmarks/bench_spark_stays.py --persons 20000 --runs inprocess spark:local[2]     # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

AS_OF = date(2025, 10, 1)
CHUNK = 200_000


def build_ledger(path: Path, persons: int, seed: int = 7) -> int:
    """A ledger of ``persons`` synthetic travellers, identities assigned, with open review items and cases."""
    from bench_rules import _person_events

    from stayledger.storage.base import CorrectionCase, IdentityAssignment, ResolutionRun, ReviewItem, make_batch
    from stayledger.storage.duckdb_store import DuckDBStore

    rng = random.Random(seed)
    store = DuckDBStore(path)
    assignments: list[IdentityAssignment] = []
    exits: list[str] = []
    arrivals: list[str] = []
    chunk: list = []
    total = 0

    def flush() -> None:
        store.append_events(make_batch(chunk, ["bench"] * len(chunk), [""] * len(chunk), [""] * len(chunk)), [])
        chunk.clear()

    for number in range(persons):
        person = f"P{number:07d}"
        for event in _person_events(rng, number):
            chunk.append(event)
            # One in twenty events joined by a scored link, so probabilities reach the evidence.
            assignments.append(IdentityAssignment(event.event_id, person, 0.97 if rng.random() < 0.05 else None))
            (exits if event.kind == "departure" else arrivals if event.kind == "arrival" else []).append(event.event_id)
            total += 1
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    store.replace_identities(assignments, [], ResolutionRun("bench", None, total, persons, 0, 0))
    # Questions about one person in a thousand (their exits become possible departures of another), and cases.
    questions = [ReviewItem(rng.choice(arrivals), rng.choice(exits), 0.85) for _ in range(max(1, persons // 1000))]
    store.add_review_items(questions)
    for n in range(max(1, persons // 10_000)):
        store.open_case(CorrectionCase(f"C{n}", rng.choice(arrivals), "admitted_until", "2030-01-01", "bench", "h"))
    store.close()
    return total


def run_engine(db: Path, engine: str, master: str | None, partitions: int) -> None:
    """In a fresh process: one `record_stays` with this engine; prints a JSON line with the time and a fingerprint."""
    from stayledger.domain.access import AccessContext, Role
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.usecases.stays_snapshot import InProcessStays, StaysEngine, record_stays

    chosen: StaysEngine = InProcessStays()
    if engine == "spark":
        from stayledger.spark.session import SparkSettings, spark_session
        from stayledger.spark.stays_job import SparkStays

        settings = SparkSettings(master=master or "local[2]", shuffle_partitions=partitions, driver_memory="4g",
                                 extra_conf={"spark.ui.showConsoleProgress": "false"})
        started = time.perf_counter()
        spark_session(settings)  # the JVM's start, timed apart (a service would keep one running)
        jvm_start = time.perf_counter() - started
        chosen = SparkStays(settings)
    store = DuckDBStore(db)
    started = time.perf_counter()
    recorded = record_stays(store, AccessContext("bench", Role.ADMIN, "benchmark"), AS_OF, engine=chosen)
    elapsed = time.perf_counter() - started
    _, table = store.stays_snapshot()  # type: ignore[misc]
    digest = hashlib.sha256()
    for batch in table.to_batches(100_000):
        for column in batch.columns:
            digest.update(repr(column.to_pylist()).encode())
    store.close()
    print(json.dumps({"seconds": elapsed, "stays": recorded.stays, "persons": recorded.persons,
                      "by_status": recorded.by_status, "fingerprint": digest.hexdigest()[:16],
                      "jvm_start": jvm_start if engine == "spark" else 0.0}), flush=True)


def _tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measured(args: list[str]) -> tuple[dict, float, int]:
    """Run a child process; (its JSON line, wall seconds, peak PSS of its process tree in bytes)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_pss_bytes(p) for p in _tree(child.pid)))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit code {child.returncode}")
    return json.loads(out.strip().splitlines()[-1]), wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", nargs="+", default=["inprocess", "spark:local[1]", "spark:local[2]"],
                        help="engines to run, in order: inprocess, spark:MASTER")
    parser.add_argument("--partitions", type=int, default=8, help="Spark partitions (groups of persons)")
    parser.add_argument("--db", type=Path, help="ledger to use (built when missing); default: a temporary one")
    parser.add_argument("--child", nargs=2, metavar=("DB", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        engine, _, master = args.child[1].partition(":")
        run_engine(Path(args.child[0]), engine, master or None, args.partitions)
        return

    with tempfile.TemporaryDirectory(prefix="bench-spark-stays-") as tmp:
        db = args.db or Path(tmp) / "ledger.duckdb"
        if not db.exists():
            started = time.perf_counter()
            events = build_ledger(db, args.persons)
            print(f"built a ledger of {args.persons:,} persons, {events:,} events in {time.perf_counter() - started:.0f} s")
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        fingerprints = set()
        for run in args.runs:
            result, wall, peak = measured([sys.executable, __file__, "--partitions", str(args.partitions),
                                           "--child", str(db), run])
            fingerprints.add(result["fingerprint"])
            jvm = f", JVM start {result['jvm_start']:.1f} s before it" if result["jvm_start"] else ""
            print(f"{run:16} record_stays {result['seconds']:6.1f} s{jvm}; process {wall:6.1f} s; "
                  f"peak PSS {peak / 2**30:5.2f} GiB; {result['stays']:,} stays of {result['persons']:,} persons; "
                  f"{result['by_status']}")
        print("same stays from every engine" if len(fingerprints) == 1 else f"STAYS DIFFER: {fingerprints}")


if __name__ == "__main__":
    main()
