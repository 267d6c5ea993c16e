"""Benchmark: the analyst's live figures (``usecases/figures.live_figures``) over a large DuckDB ledger.

The console page asks for them every 30 s per open page, so one answer must stay well under that. Builds a ledger
of synthetic events over two years (1% of them travellers' departure reports, each assigned to a
person with a carrier exit two days out for half of them), then times the use case a few times and prints figures.

    python benchmarks/bench_figures.py                   # 100,000 events
    python benchmarks/bench_figures.py --events 20000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from stayledger.domain.access import AccessContext, Role
from stayledger.domain.events import parse_event
from stayledger.storage.base import IdentityAssignment, make_batch
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.figures import live_figures

TODAY = date(2026, 12, 5)


def build(store: DuckDBStore, count: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    events, assignments = [], []
    for i in range(count):
        kind = rng.choices(["arrival", "departure", "departure_report"], [50, 49, 1])[0]
        day = TODAY - timedelta(days=rng.randrange(730))
        raw = {"event_id": f"E{i}", "kind": kind, "occurred_on": day.isoformat(),
               "source": {"arrival": "border", "departure": "carrier", "departure_report": "traveller"}[kind],
               "surname": f"S{i % 5000}", "date_of_birth": "1980-01-01", "nationality": "FRA",
               "document_number": f"D{i:08d}"}
        if kind == "arrival":
            raw.update(admission_class="WT", admitted_until=(day + timedelta(days=90)).isoformat())
        events.append(parse_event(raw))
        assignments.append(IdentityAssignment(f"E{i}", f"P{i}", None))
        if kind == "departure_report" and rng.random() < 0.5:  # a carrier's exit two days later, same person
            exit_day = day + timedelta(days=2)
            events.append(parse_event({**raw, "event_id": f"X{i}", "kind": "departure", "source": "carrier",
                                       "occurred_on": exit_day.isoformat()}))
            assignments.append(IdentityAssignment(f"X{i}", f"P{i}", 0.99))
    for start in range(0, len(events), 50_000):
        chunk = events[start:start + 50_000]
        store.append_events(make_batch(chunk, ["bench"] * len(chunk), [""] * len(chunk), [""] * len(chunk)), [])
    store.add_identities(assignments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "bench.duckdb")
        started = time.perf_counter()
        build(store, args.events)
        print(f"built {store.event_count():,} events in {time.perf_counter() - started:.1f} s")
        ctx = AccessContext("bench-analyst", Role.ANALYST)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            figures = live_figures(store, ctx, TODAY)
            timings.append(time.perf_counter() - started)
        print(f"live_figures: best {min(timings):.2f} s, worst {max(timings):.2f} s over {args.repeat} runs")
        print(f"  events today {figures.events_today}, reported {figures.departures_reported:,}, "
              f"confirmed {figures.departures_confirmed:,}")
        store.close()


if __name__ == "__main__":
    main()
