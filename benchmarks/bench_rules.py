"""Benchmark: determine the stays of many persons with the US-style pack.

Generates a typical mix of synthetic travel histories (about 2.5 events per person: round trips,
open stays, repeat visitors, extensions, students under duration of status, reported departures),
then times ``determine_all`` in one process and across worker processes. Target: 1,000,000 persons
in at most 60 s.

    python benchmarks/bench_rules.py                            # 1,000,000 persons, one process
    python benchmarks/bench_rules.py --persons 100000 --workers 1 2   # compare with two processes
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import date, timedelta
from typing import Sequence

from stayledger.domain.events import Event
from stayledger.rules import determine_all

AS_OF = date(2025, 10, 1)
_BASE = date(2023, 1, 1)


def _person_events(rng: random.Random, number: int) -> list[Event]:
    """One person's history; ids are unique across persons."""
    pid = f"P{number:07d}"
    common = {"source": "bench", "surname": "DOE", "date_of_birth": "1990-01-01", "nationality": "FRA"}
    events: list[Event] = []
    serial = 0

    def add(kind: str, day: date, **fields: object) -> None:
        nonlocal serial
        serial += 1
        event_id = f"{pid}-{serial}"
        event = Event(event_id=event_id, kind=kind, occurred_on=day, **common, **fields)  # type: ignore[arg-type]
        events.append(event)

    roll = rng.random()
    day = _BASE + timedelta(days=rng.randrange(900))
    if roll < 0.06:  # student under duration of status
        add("arrival", day, document_number="X1", admission_class="F1", duration_of_status=True)
        end = day + timedelta(days=rng.randrange(200, 700))
        add("status_change", end, change="program_ended")
        add("departure", end + timedelta(days=rng.randrange(90)))
        return events
    trips = 1 + (rng.random() < 0.2) + (rng.random() < 0.08)
    for _ in range(trips):
        until = day + timedelta(days=rng.choice((30, 90, 180)))
        add("arrival", day, document_number="X1", admission_class="B2", admitted_until=until)
        step = rng.random()
        if step < 0.05:
            add("status_change", until - timedelta(days=5), change="extension_filed")
            granted_until = until + timedelta(days=120)
            add("status_change", until + timedelta(days=20), change="extension_granted", new_until=granted_until)
            until += timedelta(days=120)
        if step < 0.80:
            add("departure", day + timedelta(days=rng.randrange((until - day).days + 15)))
        elif step < 0.85:
            add("departure_report", until + timedelta(days=rng.randrange(-10, 30)))
        day = until + timedelta(days=rng.randrange(10, 200))
    return events


def generate(persons: int, seed: int = 7) -> list[tuple[str, Sequence[Event]]]:
    rng = random.Random(seed)
    return [(f"P{n:07d}", _person_events(rng, n)) for n in range(persons)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--chunk-size", type=int, default=20_000)
    args = parser.parse_args()

    started = time.perf_counter()
    groups = generate(args.persons)
    events = sum(len(e) for _, e in groups)
    print(f"generated {args.persons:,} persons, {events:,} events ({events / args.persons:.2f} per person) "
          f"in {time.perf_counter() - started:.1f} s")

    for workers in args.workers:
        started = time.perf_counter()
        statuses: Counter[str] = Counter()
        stays = 0
        for determination in determine_all(groups, AS_OF, workers=workers, chunk_size=args.chunk_size):
            statuses[determination.status.value] += 1
            stays += 1
        elapsed = time.perf_counter() - started
        print(f"workers={workers}: {stays:,} stays of {args.persons:,} persons in {elapsed:.1f} s "
              f"= {args.persons / elapsed:,.0f} persons/s  {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
