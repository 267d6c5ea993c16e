"""Benchmark: the fiscal-year overstay report over many determined stays.

Generates synthetic ``StayFacts`` (a realistic mix of classes, 200 nationalities with a long tail of small
ones, air/sea/land, open-ended stays, every status), then times the pure aggregation with suppression,
and the CSV and HTML renderings (charts included). Target: aggregation of 1,000,000 stays in a few seconds.

    python benchmarks/bench_report.py                  # 1,000,000 stays
    python benchmarks/bench_report.py --stays 100000
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from stayledger.domain.countries import ISO_ALPHA3
from stayledger.domain.stays import Status
from stayledger.reports.overstays import StayFacts, aggregate_overstays
from stayledger.reports.render import overstay_csv, overstay_html

_CLASSES = ["WT"] * 40 + ["WB"] * 5 + ["B2"] * 25 + ["B1"] * 5 + ["F1"] * 6 + ["J1"] * 3 + ["M1"] + ["H1B"] * 8 + ["L1"] * 4 + ["E2"] * 3
_STATUSES = (
    [Status.DEPARTED] * 930 + [Status.DEPARTED_LATE] * 12 + [Status.OVERSTAY] * 10 + [Status.DEPARTURE_REPORTED] * 5
    + [Status.PENDING] * 8 + [Status.ADJUSTED] * 5 + [Status.NEEDS_REVIEW] * 10 + [Status.IN_STATUS] * 20
)
_MODES = ["air"] * 85 + ["sea"] * 5 + ["land"] * 8 + [None] * 2


def synthetic_stays(count: int, seed: int = 7) -> list[StayFacts]:
    rng = random.Random(seed)
    codes = sorted(ISO_ALPHA3)[:200]
    weights = [1 / (rank + 1) ** 1.3 for rank in range(len(codes))]  # a few large nationalities, a long tail
    nationalities = rng.choices(codes, weights, k=count)
    start = date(2024, 6, 1)
    stays = []
    for i in range(count):
        arrived = start + timedelta(days=rng.randrange(480))
        open_ended = rng.random() < 0.02
        status = rng.choice(_STATUSES)
        days = rng.randrange(1, 200) if status in (Status.DEPARTED_LATE, Status.OVERSTAY) else 0
        stays.append(StayFacts(
            admission_class=rng.choice(_CLASSES),
            nationality=nationalities[i],
            mode=rng.choice(_MODES),
            arrived_on=arrived,
            authorized_until=None if open_ended else arrived + timedelta(days=rng.choice((30, 90, 180, 365))),
            status=Status.IN_STATUS if open_ended else status,
            overstay_days=days,
        ))
    return stays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stays", type=int, default=1_000_000)
    args = parser.parse_args()

    began = time.perf_counter()
    stays = synthetic_stays(args.stays)
    print(f"generated {len(stays):,} stays in {time.perf_counter() - began:.1f} s (not part of the target)")

    began = time.perf_counter()
    report = aggregate_overstays(stays, 2025, as_of=date(2026, 1, 15))
    aggregated = time.perf_counter() - began
    total = report.total
    print(f"aggregate_overstays: {aggregated:.2f} s for {len(stays):,} stays "
          f"({len(stays) / aggregated:,.0f} stays/s); cohort {total.expected_departures:,}, "
          f"{len(report.by_nationality) - 1} nationalities")

    began = time.perf_counter()
    csv_text = overstay_csv(report)
    print(f"overstay_csv: {time.perf_counter() - began:.3f} s ({len(csv_text):,} characters)")

    began = time.perf_counter()
    html = overstay_html(report)
    print(f"overstay_html with two charts: {time.perf_counter() - began:.2f} s ({len(html):,} characters)")


if __name__ == "__main__":
    main()
