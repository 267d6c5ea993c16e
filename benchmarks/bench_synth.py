"""Benchmark the synthetic population generator: seconds, events per second, peak memory.

Targets: 20,000 people in a few seconds; about 1,000,000 events (≈ 240,000 people) well under two
minutes. Run: python benchmarks/bench_synth.py [--people 20000 240000] [--seed 42] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from stayledger.synth import generate_population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, nargs="+", default=[20_000, 240_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = args.out or Path(scratch)
        for people in args.people:
            out = base / f"synth-{people}"
            start = time.perf_counter()
            summary = generate_population(people, args.seed, out)
            seconds = time.perf_counter() - start
            manifest = json.loads(summary.manifest_path.read_text(encoding="utf-8"))
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            size_mb = summary.events_path.stat().st_size / 1e6
            print(f"{people:>9,} people  {summary.events:>10,} events  {summary.arrivals:>9,} arrivals  "
                  f"{seconds:7.2f} s  {summary.events / seconds:>9,.0f} events/s  "
                  f"events.jsonl {size_mb:7.1f} MB  peak RSS {peak_mb:7.0f} MB")
            print(f"          stays by status: {dict(summary.stays_by_status)}")
            rates = {g: v["rate"] for g, v in manifest["overstay_rates_air_sea"].items()}
            print(f"          overstay rate of air/sea expected departures by group: {rates}")


if __name__ == "__main__":
    main()
