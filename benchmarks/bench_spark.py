"""Identity resolution on Spark against DuckDB: the same events, wall time and peak memory side by side.

A synthetic population (240,000 travellers give about 1,000,000 events) is ingested once into a DuckDB ledger and
resolved once on DuckDB (which trains the model). Each configuration then re-links a copy of that ledger in a child
process of its own: `resolve --full` (score every blocked pair on the engine, cluster, store the identities), or
with ``--train`` `resolve --full --train` (training on the engine first). Batch linking is what grows with the
ledger; training samples a bounded number of pairs (``max_pairs``) whatever its size.

- duckdb            Splink on DuckDB in process (the default engine);
- spark local[2]    training and batch prediction on Spark with two local cores;
- spark local[1]    the same with one core (with local[2], the measured scaling with executor cores).

Peak memory is that of the child's whole process tree (the Python process and, for Spark, the JVM it starts),
sampled every 0.2 s from /proc (VmRSS summed over the tree). Spark runs in local mode: driver and executors share
one JVM whose heap is ``--driver-memory``. The runs' person assignments are compared (Spark against DuckDB).

Usage: python benchmarks/bench_spark.py [--people 240000] [--seed 5] [--configs duckdb,spark:2,spark:1]
                                       [--driver-memory 6g] [--train]
Big runs hold the shared lock: flock /work/notes/heavy.lock nice -n 10 python benchmarks/bench_spark.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def tree_rss_bytes(root: int) -> int:
    """VmRSS of ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def run_measured(command: list[str]) -> tuple[float, int, str]:
    """Run ``command``; its wall time, the peak RSS of its process tree, and its standard output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-3000:]}")
    return seconds, peak, out


def child(args: argparse.Namespace) -> None:
    """One resolution in this process: print a JSON line with what it did."""
    import logging

    from stayledger.domain.access import AccessContext, Role
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.usecases.resolve import resolve_identities

    logging.getLogger("splink").setLevel(logging.ERROR)
    engine = None
    if args.engine == "spark":
        from stayledger.identity.engines.splink_spark import SplinkSparkEngine
        from stayledger.spark.session import SparkSettings

        engine = SplinkSparkEngine(SparkSettings(master=args.master, checkpoint_dir=args.checkpoint_dir,
                                                 driver_memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions))
    store = DuckDBStore(Path(args.ledger))
    started = time.perf_counter()
    report = resolve_identities(store, AccessContext("benchmark", Role.ADMIN, "benchmark run"), engine=engine,
                                full=args.relink, train=args.train)
    seconds = time.perf_counter() - started
    blocked = None
    if args.count_pairs:  # how many pairs the blocking rules give (what batch prediction scores), for sizing
        from stayledger.identity.engines.duckdb_splink import blocking_rule_counts
        from stayledger.identity.features import build_features

        blocked = blocking_rule_counts(build_features(store.events_table()))[-1]["cumulative"]
    store.close()
    print(json.dumps({"seconds": seconds, "method": report.method, "events": report.events, "persons": report.persons,
                      "engine": report.engine, "steps": list(report.engine_steps), "blocked_pairs": blocked}))


def persons_of(ledger: Path) -> dict[str, str]:
    from stayledger.storage.duckdb_store import DuckDBStore

    store = DuckDBStore(ledger)
    try:
        return {e: a.person_id for e, a in store.identity_assignments().items()}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=240_000, help="240,000 travellers give about 1,000,000 events")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--configs", default="duckdb,spark:2,spark:1", help="duckdb and spark:N (local[N]), in order")
    parser.add_argument("--driver-memory", default="6g", help="the JVM heap in local mode (driver and executors)")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--train", action="store_true", help="each configuration trains the model on its engine too")
    # the child's options
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    parser.add_argument("--master", default="local[2]", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--relink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count-pairs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stayledger", "synth", "--people", str(args.people), "--seed", str(args.seed),
                        "--out", str(work / "pop")], check=True, capture_output=True)
        print(f"synthesised {args.people:,} travellers in {time.perf_counter() - started:.1f} s")
        base = work / "base.duckdb"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stayledger", "ingest", str(work / "pop" / "events.jsonl"), "--db", str(base),
                        "--actor", "benchmark"], check=True, capture_output=True)
        print(f"ingested in {time.perf_counter() - started:.1f} s")
        seconds, peak, out = run_measured([sys.executable, __file__, "--child", "--count-pairs", "--ledger", str(base)])
        first = json.loads(out.strip().splitlines()[-1])
        print(f"first resolve on duckdb (trains the model): {first['events']:,} events → {first['persons']:,} persons "
              f"in {seconds:.1f} s, peak {peak / 1e9:.2f} GB; the blocking rules give {first['blocked_pairs']:,} pairs "
              f"({first['blocked_pairs'] / first['events']:.1f} per event)")
        print(f"{'configuration':<16} {'wall s':>8} {'peak GB':>8}  persons   what ran where")
        results: dict[str, dict[str, str]] = {}
        for config in args.configs.split(","):
            engine, _, cores = config.partition(":")
            ledger = work / f"{config.replace(':', '-')}.duckdb"
            shutil.copy(base, ledger)
            command = [sys.executable, __file__, "--child", "--relink", "--engine", engine, "--ledger", str(ledger),
                       *(["--train"] if args.train else []),
                       "--driver-memory", args.driver_memory, "--shuffle-partitions", str(args.shuffle_partitions)]
            label = "duckdb"
            if engine == "spark":
                label = f"spark local[{cores or 2}]"
                checkpoints = work / f"checkpoints-{cores}"
                command += ["--master", f"local[{cores or 2}]", "--checkpoint-dir", str(checkpoints)]
            seconds, peak, out = run_measured(command)
            report = json.loads(out.strip().splitlines()[-1])
            where = f"{report['engine']}: {', '.join(report['steps'])}" if report["steps"] else report["engine"]
            print(f"{label:<16} {seconds:8.1f} {peak / 1e9:8.2f}  {report['persons']:,}  {report['events']:,} events, "
                  f"resolve {report['seconds']:.1f} s in process; {where}", flush=True)
            results[label] = persons_of(ledger)
            ledger.unlink()
        if "duckdb" in results:
            for label, persons in results.items():
                if label != "duckdb":
                    differ = sum(1 for e, p in results["duckdb"].items() if persons.get(e) != p)
                    print(f"{label} vs duckdb: {differ:,} of {len(persons):,} events assigned another person")


if __name__ == "__main__":
    main()
