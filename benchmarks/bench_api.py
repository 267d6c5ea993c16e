"""The service under load on loopback: concurrent clients post single events; travellers check their status.

Targets (issue "the service"): with 1,000,000 resolved events loaded, 16 clients posting single events for 60 s:
p99 of POST → linked and determined <= 150 ms; traveller status p99 <= 50 ms.
Usage: python benchmarks/bench_api.py [--people 250000] [--clients 16] [--seconds 60] [--workdir DIR] [--db URL]
       [--workers N] [--compare] [--traveller-floor-ms 25] [--with-misses] [--settle 65] [--timeline FILE.csv]
       [--rate POSTS_PER_S] [--warm-up SECONDS]
By default the clients post again as soon as answered: the service is saturated, and what it sustains is the
throughput. --rate R paces the load instead: posts fall due R times a second on average, at random moments, and are
timed from when they fell due (a post waiting for a free client counts as waiting): the answers' times at a given
load, below what saturates the service, which is how a latency target is met in service. --warm-up S: the same
load for S seconds first, not counted (a service just started holds its first traveller lookups at its start floor).
--with-misses: every other traveller lookup of the load has the birth date a day off, and found and not-found
lookups are timed apart: under load, whether the service's --traveller-floor-ms still hides which is which.
(the ledger is built once in --workdir and reused: synthesise, ingest all but the newest events, resolve).
--db postgresql://…/EMPTY_DB: the built ledger is copied there (`stayledger migrate`) and the service runs on it
with --workers processes; give an empty database each run (dropdb/createdb), as the run's posts stay in it.
--compare --db postgresql://…/postgres --workers 4: three runs on fresh copies of the same ledger, side by side:
DuckDB in one process, PostgreSQL with one worker, PostgreSQL with 4 workers (databases stayledger_bench_w1 and
stayledger_bench_w4 are made on that server, and left for a look afterwards; --db-prefix names them otherwise).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class Figures:
    label: str
    wall: float
    posts: list[float] = field(default_factory=list)
    lookups: list[float] = field(default_factory=list)
    failures: int = 0
    ready_after: float = 0.0
    hits: list[float] = field(default_factory=list)
    misses: list[float] = field(default_factory=list)
    load_hits: list[float] = field(default_factory=list)  # --with-misses: the load's lookups, found and not
    load_misses: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the load (_cpu_seconds)
    timeline: list[tuple[float, str, float]] = field(default_factory=list)  # (answered at, what, seconds taken)


def serve_and_load(db: Path | str, workers: int, held: list[dict], args: argparse.Namespace, label: str) -> Figures:
    """Start `stayledger serve` on ``db`` with ``workers`` processes, run the clients, stop it; the figures."""
    env = {**os.environ, "STAYLEDGER_ACTOR": "bench", "STAYLEDGER_AUDIT_KEY": str(args.workdir / "audit.pem")}
    name = f"feed-{int(time.time())}"
    made = subprocess.run([sys.executable, "-m", "stayledger", "users", "add", name, "--role", "ingest", "--json",
                           "--db", str(db)], check=True, capture_output=True, text=True, env=env)
    token = json.loads(made.stdout)["token"]
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "stayledger", "serve", "--port", str(args.port), "--db", str(db),
                               "--traveller-limit", "1000000", "--workers", str(workers),
                               "--traveller-floor-ms", str(args.traveller_floor_ms)], env=env)
    base = f"http://127.0.0.1:{args.port}"
    figures = Figures(label, 0.0)
    try:
        for _ in range(1200):
            if server.poll() is not None:  # it refused its options or failed to start: it said why above
                raise SystemExit(f"[{label}] the service exited with status {server.returncode} before it was ready")
            try:
                if httpx.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        if workers > 1:
            _wait_for_all_workers(server.pid)
        figures.ready_after = time.perf_counter() - started
        rss = _resident_mib(server.pid)
        print(f"[{label}] service ready (live linkers built) {figures.ready_after:.1f} s after start; "
              f"resident memory {' + '.join(f'{r:,.0f}' for r in rss)} MiB")
        lock = threading.Lock()
        lookups = itertools.count()
        began = time.perf_counter()
        measured_from = began + args.warm_up  # what falls due before this is the warm-up's: sent, not counted
        deadline = measured_from + args.seconds

        def post_then_look_up(http: httpx.Client, event: dict, due: float) -> None:
            """Post one event; for an arrival, that traveller then checks their status. A post is timed from
            ``due``: in the paced load, from when it was due to start, not from when a client was free for it.
            What falls due in the warm-up is sent alike but not counted."""
            counted = due >= measured_from
            try:
                response = http.post("/v1/events", json=[event])
            except httpx.TransportError:  # e.g. the server closed an idle kept-alive connection as this post went
                with lock:
                    figures.failures += counted
                return
            elapsed = time.perf_counter() - due
            if counted:
                with lock:
                    figures.timeline.append((time.perf_counter() - measured_from, "post", elapsed))
                    if response.status_code == 200:
                        figures.posts.append(elapsed)
                    else:
                        figures.failures += 1
            if event.get("document_number") and event.get("kind") == "arrival":
                identity = {"document_number": event["document_number"], "document_issuer": event["nationality"],
                            "date_of_birth": event["date_of_birth"], "surname": event["surname"]}
                miss = args.with_misses and next(lookups) % 2 == 1 and len(identity["date_of_birth"]) == 10
                if miss:  # the birth date a day off: the same work up to the comparison, then not found
                    identity["date_of_birth"] = _a_day_off(identity["date_of_birth"])
                started = time.perf_counter()
                http.post("/v1/traveller/status", json=identity, headers={"Authorization": ""})
                elapsed = time.perf_counter() - started
                if counted:
                    with lock:
                        figures.timeline.append((time.perf_counter() - measured_from, "miss" if miss else "found", elapsed))
                        figures.lookups.append(elapsed)
                        if args.with_misses:
                            (figures.load_misses if miss else figures.load_hits).append(elapsed)

        def connected() -> httpx.Client:
            return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

        events = iter(held)

        def closed_loop_client() -> None:
            """As fast as the service answers: the next post as soon as the last answer came."""
            with connected() as http:
                while time.perf_counter() < deadline:
                    with lock:
                        event = next(events, None)
                    if event is None:
                        return
                    post_then_look_up(http, event, time.perf_counter())

        due_posts: queue.SimpleQueue[tuple[float, dict] | None] = queue.SimpleQueue()

        def paced_client() -> None:
            with connected() as http:
                while (item := due_posts.get()) is not None:
                    post_then_look_up(http, item[1], item[0])

        def pace() -> None:
            """Posts due at --rate a second on average, at random moments (a Poisson process), whatever the answers."""
            rng = random.Random(20261207)
            due = time.perf_counter()
            for event in held:
                due += rng.expovariate(args.rate)
                if due >= deadline:
                    break
                time.sleep(max(0.0, due - time.perf_counter()))
                due_posts.put((due, event))
            for _ in range(clients):
                due_posts.put(None)

        clients = args.clients or (64 if args.rate else 16)
        cpu_before: dict[str, float] = {}
        warmed = threading.Timer(max(0.0, measured_from - time.perf_counter()),
                                 lambda: cpu_before.update(_cpu_seconds(server.pid)))
        warmed.start()
        threads = [threading.Thread(target=paced_client if args.rate else closed_loop_client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        if args.rate:
            pace()
        for thread in threads:
            thread.join()
        warmed.join()
        figures.wall = time.perf_counter() - measured_from
        figures.cpu = {k: v - cpu_before[k] for k, v in _cpu_seconds(server.pid).items()}
        time.sleep(args.settle)  # the answer floor follows the last minute's found lookups: let the load's age out
        figures.hits, figures.misses = _hit_and_miss_timings(base, held)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return figures


def _wait_for_all_workers(server: int, seconds: float = 900) -> None:
    """Health answers once one worker is up; a worker still building its live linker does not accept yet.
    Wait until the workers' CPU time stops growing (all warm-up done), as seen in /proc."""
    def cpu() -> float:
        total = 0
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if entry.name.isdigit() and int(fields[1]) == server:
                    total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return total / os.sysconf("SC_CLK_TCK")

    deadline = time.monotonic() + seconds
    before = cpu()
    while time.monotonic() < deadline:
        time.sleep(2)
        now = cpu()
        if now - before < 0.2:
            return
        before = now


def _cpu_seconds(server: int) -> dict[str, float]:
    """CPU seconds used so far by the load's clients (this process), the service (its processes; of that, their main
    threads: the event loops) and PostgreSQL's processes, and by the whole machine: where the two cores went."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"clients": time.process_time(), "service": 0.0, "event loops": 0.0, "postgresql": 0.0}
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
            if int(entry.name) == server or int(fields[1]) == server:
                used["service"] += seconds
                main = (entry / "task" / entry.name / "stat").read_text().rsplit(")", 1)[1].split()
                used["event loops"] += (int(main[11]) + int(main[12])) / tick  # each process's main thread
            elif name.startswith("postgres"):
                used["postgresql"] += seconds
        except (OSError, IndexError, ValueError):
            continue
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    used["machine"] = (sum(int(v) for v in busy) - int(busy[3]) - int(busy[4])) / tick  # all but idle and iowait
    return used


def _resident_mib(server: int) -> list[float]:
    """Resident memory of the server process and of each worker process it started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if int(entry.name) == server or parent == server:
                status = (entry / "status").read_text()
                found.append(int(status.split("VmRSS:")[1].split()[0]) / 1024)
        except (OSError, IndexError, ValueError):
            continue
    return found


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the server of ``server_url`` (dropped first if a former run left it)."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    head, _, _ = server_url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name


def fresh_copy(built: Path) -> Path:
    """A copy of the built ledger for one run: the run's posts stay in it, so the next run posts new events again
    (posting the held-back events a second time would measure the path for duplicates, not for new events)."""
    copy = built.with_name("run.duckdb")
    Path(f"{copy}.wal").unlink(missing_ok=True)  # a former run's log would not match the fresh copy
    shutil.copy(built, copy)
    return copy


def copy_to(built: Path, url: str) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stayledger", "migrate", "--db", str(built), "--to", url], check=True,
                   env={**os.environ, "STAYLEDGER_ACTOR": "bench"}, stdout=subprocess.DEVNULL)
    print(f"copied the ledger to {url} in {time.perf_counter() - started:.0f} s")


def report(figures: Figures, args: argparse.Namespace) -> None:
    posts, lookups = figures.posts, figures.lookups
    load = (f"paced: {args.rate:g} posts due a second, at most {args.clients or 64} in flight" if args.rate
            else f"clients {args.clients or 16}, each posting again as soon as answered")
    warmed = f", counted after {args.warm_up:g} s of the same load" if args.warm_up else ""
    print(f"[{figures.label}] {load}; {figures.wall:.0f} s{warmed}")
    timed = ", timed from when due" if args.rate else ""
    print(f"  POST /v1/events (one event, linked and determined{timed}): {len(posts):,} ok, {figures.failures} failed; "
          f"{len(posts) / figures.wall:.1f} per s; p50 {statistics.median(posts) * 1000:.0f} ms, "
          f"p99 {percentile(posts, 0.99) * 1000:.0f} ms (target <= 150 ms)")
    if lookups:
        print(f"  traveller status: {len(lookups):,}; p50 {statistics.median(lookups) * 1000:.0f} ms, "
              f"p99 {percentile(lookups, 0.99) * 1000:.0f} ms (target <= 50 ms)")
    if figures.cpu:
        cores = os.cpu_count() or 1
        print(f"  CPU during the load ({cores} cores, {figures.wall * cores:.0f} core-s): machine {figures.cpu['machine']:.0f} s; "
              f"service {figures.cpu['service']:.0f} s (its event loop {figures.cpu['event loops']:.0f} s), PostgreSQL {figures.cpu['postgresql']:.0f} s, "
              f"the clients {figures.cpu['clients']:.0f} s")
    if figures.load_hits and figures.load_misses:
        print(f"  traveller status under the load, found vs wrong birth date: {len(figures.load_hits)} vs "
              f"{len(figures.load_misses)}; p50 {statistics.median(figures.load_hits) * 1000:.1f} vs "
              f"{statistics.median(figures.load_misses) * 1000:.1f} ms, p90 {percentile(figures.load_hits, 0.9) * 1000:.1f} vs "
              f"{percentile(figures.load_misses, 0.9) * 1000:.1f} ms, p99 {percentile(figures.load_hits, 0.99) * 1000:.1f} vs "
              f"{percentile(figures.load_misses, 0.99) * 1000:.1f} ms")
    if figures.hits and figures.misses:
        print(f"  traveller status, one client, found vs wrong birth date (should take about the same time): "
              f"{len(figures.hits)} each; p50 {statistics.median(figures.hits) * 1000:.1f} vs "
              f"{statistics.median(figures.misses) * 1000:.1f} ms, p90 {percentile(figures.hits, 0.9) * 1000:.1f} vs "
              f"{percentile(figures.misses, 0.9) * 1000:.1f} ms, p99 {percentile(figures.hits, 0.99) * 1000:.1f} vs "
              f"{percentile(figures.misses, 0.99) * 1000:.1f} ms")


def write_timeline(figures: Figures, path: Path) -> None:
    """The load's answers in order of time, one CSV per run (the run's label joined to the file's name)."""
    import csv

    out = path.with_name(f"{path.stem}-{figures.label.split(',')[0].lower()}{path.suffix or '.csv'}")
    with out.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["at_s", "what", "ms"])
        writer.writerows((f"{at:.3f}", what, f"{seconds * 1000:.1f}") for at, what, seconds in sorted(figures.timeline))
    print(f"  timeline of the load's answers: {out}")


def side_by_side(runs: list[Figures]) -> None:
    print("\n| run | posts/s | post p50 | post p99 | status/s | status p50 | status p99 | failed |")
    print("|---|---|---|---|---|---|---|---|")
    for f in runs:
        print(f"| {f.label} | {len(f.posts) / f.wall:.1f} | {statistics.median(f.posts) * 1000:.0f} ms | "
              f"{percentile(f.posts, 0.99) * 1000:.0f} ms | {len(f.lookups) / f.wall:.1f} | "
              f"{statistics.median(f.lookups) * 1000 if f.lookups else float('nan'):.0f} ms | "
              f"{percentile(f.lookups, 0.99) * 1000:.0f} ms | {f.failures} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=250_000)
    parser.add_argument("--clients", type=int, help="clients posting at once (default 16); with --rate, the most posts "
                                                    "in flight at once (default 64)")
    parser.add_argument("--warm-up", type=float, default=0.0, help="seconds of the same load before the counted ones "
                                                                  "(sent, not counted): a service just started "
                                                                  "holds its first lookups at its start floor")
    parser.add_argument("--rate", type=float, help="posts due per second, at random moments, however long the answers "
                                                   "take (a paced load); without it each client posts again as soon as "
                                                   "answered (the service saturated)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--workdir", type=Path, default=Path("bench-api"))
    parser.add_argument("--db", help="an empty PostgreSQL database to copy the ledger to and serve from (with "
                                     "--compare: any database on the server; the runs make their own)")
    parser.add_argument("--db-prefix", default="stayledger_bench",
                        help="with --compare: the runs' databases are PREFIX_w1 and PREFIX_wN")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes (PostgreSQL only)")
    parser.add_argument("--traveller-floor-ms", type=int, default=25, help="the service's --traveller-floor-ms (its least floor)")
    parser.add_argument("--with-misses", action="store_true", help="every other lookup of the load has the birth date "
                                                                   "a day off (not found): found and not found timed apart")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait after the load before the one-client "
                                                                   "lookups (65: a quiet service's answer floor)")
    parser.add_argument("--compare", action="store_true", help="run DuckDB (one process), then PostgreSQL with one "
                                                               "worker and with --workers, each on a fresh copy")
    parser.add_argument("--timeline", type=Path, help="write every answer of the load to this CSV (seconds into the "
                                                        "load, post/found/miss, ms taken): when the slow ones came")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    built, held = build(args.workdir, args.people)
    print(f"machine: {os.cpu_count()} cores (shared: figures are noisy)")
    runs: list[Figures] = []
    if args.compare:
        if not args.db:
            parser.error("--compare needs --db postgresql://… (a server on which the runs may create databases)")
        runs.append(serve_and_load(fresh_copy(built), 1, held, args, "DuckDB, 1 process"))
        for workers in dict.fromkeys((1, args.workers)):
            url = fresh_database(args.db, f"{args.db_prefix}_w{workers}")
            copy_to(built, url)
            runs.append(serve_and_load(url, workers, held, args, f"PostgreSQL, {workers} worker{'s' * (workers > 1)}"))
    elif args.db:
        copy_to(built, args.db)
        runs.append(serve_and_load(args.db, args.workers, held, args, f"PostgreSQL, {args.workers} worker(s)"))
    else:
        if args.workers > 1:
            parser.error("--workers needs --db postgresql://… (the DuckDB file is owned by one process)")
        runs.append(serve_and_load(fresh_copy(built), 1, held, args, "DuckDB, 1 process"))
    for figures in runs:
        report(figures, args)
        if args.timeline:
            write_timeline(figures, args.timeline)
    if len(runs) > 1:
        side_by_side(runs)


def _a_day_off(birth_date: str) -> str:
    day = int(birth_date[8:])
    return birth_date[:8] + f"{day % 28 + 1:02d}"


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
            wrong = {**identity, "date_of_birth": _a_day_off(identity["date_of_birth"])}
            for body, into in ((identity, hits), (wrong, misses)):
                started = time.perf_counter()
                http.post("/v1/traveller/status", json=body)
                into.append(time.perf_counter() - started)
    return hits, misses


if __name__ == "__main__":
    main()
