"""Where a group of posted events spends its time: the service's write path, step by step and statement by statement.

The service commits the posts waiting at one moment as one group (api/ledger.py `_together` →
`record_posted_together`). This script runs that path directly, without HTTP, on a copy of a built ledger, and prints
per group: the wall time (p50, p99), the time of each step and store call (median per group, wall and CPU: the CPU
time of the whole process meanwhile, less distorted by other work on a shared machine) and how many SQL statements the
store ran.

Usage: python benchmarks/bench_post_group.py [--workdir bench-api] [--group 15] [--groups 40] [--db postgresql://…/EMPTY]
(the ledger is the one benchmarks/bench_api.py builds in --workdir; --db: copied to that empty PostgreSQL database
and run there instead of on a DuckDB copy.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import build, percentile  # noqa: E402

AS_OF = date(2025, 12, 31)


class Timings:
    """Durations and counts per name, for the group being run."""

    def __init__(self) -> None:
        self.current: dict[str, list[float]] = defaultdict(list)
        self.current_cpu: dict[str, list[float]] = defaultdict(list)
        self.groups: list[dict[str, list[float]]] = []
        self.groups_cpu: list[dict[str, list[float]]] = []
        self.statements = 0
        self.statements_per_group: list[int] = []

    def add(self, name: str, seconds: float, cpu_seconds: float = 0.0) -> None:
        self.current[name].append(seconds)
        self.current_cpu[name].append(cpu_seconds)

    def next_group(self) -> None:
        self.groups.append(self.current)
        self.groups_cpu.append(self.current_cpu)
        self.statements_per_group.append(self.statements)
        self.current = defaultdict(list)
        self.current_cpu = defaultdict(list)
        self.statements = 0


def timed(timings: Timings, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            timings.add(name, time.perf_counter() - started, time.process_time() - cpu)
    return wrapper


class CountingConnection:
    """A DuckDB connection that counts the statements run on it."""

    def __init__(self, con: Any, timings: Timings) -> None:
        self._con, self._timings = con, timings

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._con.execute(*args, **kwargs)

    def sql(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._con.sql(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._con.executemany(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def instrument(store: Any, timings: Timings) -> None:
    """Time every store call and the write path's steps; count statements."""
    import stayledger.usecases.ingest as ingest
    import stayledger.usecases.lookup as lookup
    import stayledger.usecases.resolve as resolve
    import stayledger.usecases.stays as stays

    for name in ("latest_run", "event_position", "events_after", "events_by_id", "append_events", "assignments_for",
                 "add_identities", "review_items", "review_items_touching", "events_of_persons", "person_event_ids",
                 "cases", "append_audit", "lock_identities", "add_review_items", "persons_events",
                 "group_view", "identities_version", "run_and_position", "append_new_events"):
        if hasattr(store, name):
            setattr(store, name, timed(timings, f"store.{name}", getattr(store, name)))
    for module, name in ((ingest, "validate_records"), (ingest, "_append_parts"), (lookup, "persons_stays"),
                         (stays, "unsettled_links")):
        setattr(module, name, timed(timings, f"step {name}", getattr(module, name)))
    for cls, name in ((resolve.LiveLinker, "valid_for"), (resolve.LiveLinker, "link"), (resolve.LiveLinker, "prepare"),
                      (resolve.RealtimeLinker, "link_all"), (resolve.RealtimeLinker, "_link_one")):
        if hasattr(cls, name):  # (older code, for a before/after comparison, may lack some)
            setattr(cls, name, timed(timings, f"step {cls.__name__}.{name}", getattr(cls, name)))
    import stayledger.identity.features as features
    import stayledger.identity.pair_scores as pair_scores
    from stayledger.identity.engines import duckdb_splink

    features.build_features = timed(timings, "step build_features", features.build_features)
    pair_scores.score_candidates_of_each = timed(timings, "step score_candidates_of_each", pair_scores.score_candidates_of_each)
    duckdb_splink.DuckDBCandidateIndex._keys_of = timed(timings, "step DuckDBCandidateIndex._keys_of",
                                                        duckdb_splink.DuckDBCandidateIndex._keys_of)
    if hasattr(store, "_con"):
        store._con = CountingConnection(store._con, timings)
    elif hasattr(store, "_cursor"):
        original = store._cursor

        @contextmanager
        def counting_cursor() -> Iterator[Any]:
            with original() as cur:
                yield CountingCursor(cur, timings)
        store._cursor = counting_cursor


class CountingCursor:
    def __init__(self, cur: Any, timings: Timings) -> None:
        self._cur, self._timings = cur, timings

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._cur.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._cur.executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        self._timings.statements += 1
        return self._cur.copy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("bench-api"))
    parser.add_argument("--people", type=int, default=250_000, help="used only when --workdir holds no ledger yet")
    parser.add_argument("--group", type=int, default=15, help="posts (one event each) per group")
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--db", help="an empty PostgreSQL database to copy the ledger to and run on")
    args = parser.parse_args()

    from stayledger.domain.access import AccessContext, Role
    from stayledger.usecases.ingest import PostedEvents, record_posted_together
    from stayledger.usecases.resolve import LiveLinker

    built, held = build(args.workdir, args.people)
    scratch = Path(tempfile.mkdtemp(prefix="bench-post-group-"))
    try:
        if args.db:
            from stayledger.storage.duckdb_store import DuckDBStore
            from stayledger.storage.postgres import PostgresStore
            from stayledger.storage.transfer import copy_ledger

            source, store = DuckDBStore(built, read_only=True), PostgresStore(args.db)
            copy_ledger(source, store)
            source.close()
            backend = "PostgreSQL"
        else:
            from stayledger.storage.duckdb_store import DuckDBStore

            shutil.copy(built, scratch / "run.duckdb")
            store = DuckDBStore(scratch / "run.duckdb")
            backend = "DuckDB"
        live = LiveLinker()
        started = time.perf_counter()
        assert live.rebuild(store), "the ledger has no trained model"
        print(f"{backend}, {store.event_count():,} events; live linker built in {time.perf_counter() - started:.1f} s")
        timings = Timings()
        instrument(store, timings)
        walls: list[float] = []
        feed = iter(held)
        for _ in range(args.groups + 2):  # the first two groups warm caches up and are not counted
            posted = [PostedEvents(AccessContext(f"feed-{i}", Role.INGEST), "api", [next(feed)]) for i in range(args.group)]
            started, cpu = time.perf_counter(), time.process_time()
            live.valid_for(store)  # the writer's catch-up outside the lock
            with store.unit_of_work():
                results = record_posted_together(store, posted, as_of=AS_OF, live=live)
                committing, cpu_committing = time.perf_counter(), time.process_time()
            ended, cpu_ended = time.perf_counter(), time.process_time()
            timings.add("commit", ended - committing, cpu_ended - cpu_committing)
            walls.append(ended - started)
            timings.add("whole group", ended - started, cpu_ended - cpu)
            assert all(not isinstance(r, BaseException) and r.accepted == 1 for r in results), results
            timings.next_group()
        walls, groups, counts = walls[2:], timings.groups[2:], timings.statements_per_group[2:]
        groups_cpu = timings.groups_cpu[2:]
        print(f"groups of {args.group} posts: {len(walls)}; wall p50 {statistics.median(walls) * 1000:.0f} ms, "
              f"p99 {percentile(walls, 0.99) * 1000:.0f} ms; SQL statements per group: median "
              f"{statistics.median(counts):.0f} (min {min(counts)}, max {max(counts)})")
        names = sorted({name for group in groups for name in group})
        print("| step or store call | calls per group | median ms per group | median CPU ms per group | max ms |")
        print("|---|---|---|---|---|")
        for name in sorted(names, key=lambda n: -statistics.median(sum(g.get(n, [0.0])) for g in groups)):
            per_group = [sum(g.get(name, [0.0])) for g in groups]
            cpu_per_group = [sum(g.get(name, [0.0])) for g in groups_cpu]
            calls = statistics.median(len(g.get(name, [])) for g in groups)
            print(f"| {name} | {calls:g} | {statistics.median(per_group) * 1000:.1f} | "
                  f"{statistics.median(cpu_per_group) * 1000:.1f} | {max(per_group) * 1000:.1f} |")
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
