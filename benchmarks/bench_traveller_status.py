"""How long a traveller status lookup really takes, found and not found: what the answer-time floor must cover.

The service answers a traveller no sooner than ``traveller_floor`` (api/app.py), so that the time does not tell a
guesser whether the details were right. The floor only hides the difference if it is above the time a found
record takes to read. This script times ``check_stay`` itself (no HTTP, no floor, the audit entry kept aside as
the service's readers do) on a copy of the ledger bench_api.py builds: alternately a traveller's own details (found)
and the same with the birth date a day off (not found), one at a time; with --posting, while another thread
records groups of posted events as the service's writer does (the lookups then share the two cores with linking).
Prints p50, p99, p99.9 and the maximum of each.

With --access-log N: times ``who_looked`` (a traveller's "who looked at my record") instead, after growing the
audit log by N entries, each naming a person of the ledger as staff lookups and posts do (a service audits every
read: a busy one logs millions of entries a month).

Usage: python benchmarks/bench_traveller_status.py [--workdir bench-api] [--lookups 1000] [--posting]
       [--access-log ENTRIES] [--db postgresql://…/EMPTY]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import HELD_BACK, build, percentile  # noqa: E402

AS_OF = date(2025, 12, 31)


class KeptAside:
    """A reader whose audit appends are kept, not written (the service hands them to its writer)."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def append_audit(self, records: list[Any]) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def identities(workdir: Path, n: int) -> list[dict[str, str]]:
    """Travellers' own details, from arrivals in the built ledger (not the held-back events, which are not in it)."""
    lines = (workdir / "population" / "events.jsonl").read_text(encoding="utf-8").splitlines()[:-HELD_BACK]
    step = max(1, len(lines) // (n * 4))
    found = []
    for line in lines[::step]:
        event = json.loads(line)
        if event.get("kind") == "arrival" and event.get("document_number") and len(event.get("date_of_birth", "")) == 10:
            found.append({"document_number": event["document_number"], "document_issuer": event["nationality"],
                          "date_of_birth": event["date_of_birth"], "surname": event["surname"]})
            if len(found) == n:
                break
    return found


def grow_audit_log(store: Any, entries: int) -> None:
    """Append ``entries`` audit entries naming persons of the ledger, as officers' lookups and posts would."""
    import random

    from stayledger.audit.log import AuditRecord

    persons = sorted({a.person_id for a in store.identity_assignments().values()})
    draw = random.Random(7)
    started = time.perf_counter()
    for done in range(0, entries, 1000):
        records = [AuditRecord("person.view", "officer-7", "officer", "ok", "border check",
                               objects={"person_id": draw.choice(persons)}) for _ in range(min(1000, entries - done))]
        with store.unit_of_work():
            store.append_audit(records)
    print(f"audit log grown by {entries:,} entries in {time.perf_counter() - started:.0f} s")


def summary(name: str, times: list[float]) -> str:
    return (f"{name}: {len(times)}; p50 {statistics.median(times) * 1000:.1f} ms, p99 {percentile(times, 0.99) * 1000:.1f} "
            f"ms, p99.9 {percentile(times, 0.999) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("bench-api"))
    parser.add_argument("--people", type=int, default=250_000, help="used only when --workdir holds no ledger yet")
    parser.add_argument("--lookups", type=int, default=1000, help="found lookups (and as many not found)")
    parser.add_argument("--posting", action="store_true", help="post groups of 15 events meanwhile, as the writer does")
    parser.add_argument("--db", help="an empty PostgreSQL database to copy the ledger to and run on")
    parser.add_argument("--access-log", type=int, metavar="ENTRIES",
                        help="time the traveller's access log instead, with the audit log grown by ENTRIES first")
    args = parser.parse_args()

    from stayledger.domain.access import AccessContext, Role
    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.usecases.ingest import PostedEvents, record_posted_together
    from stayledger.usecases.resolve import LiveLinker
    from stayledger.usecases.traveller import TravellerIdentity, check_stay, who_looked

    built, held = build(args.workdir, args.people)
    scratch = Path(tempfile.mkdtemp(prefix="bench-traveller-status-"))
    try:
        store: Any
        if args.db:
            from stayledger.storage.postgres import PostgresStore
            from stayledger.storage.transfer import copy_ledger

            # Opened to write: a ledger built by older code is brought to this code's schema before it is copied.
            source, store = DuckDBStore(built), PostgresStore(args.db)
            copy_ledger(source, store)
            source.close()
        else:
            shutil.copy(built, scratch / "run.duckdb")
            store = DuckDBStore(scratch / "run.duckdb")
        if args.access_log:
            grow_audit_log(store, args.access_log)
        reader = KeptAside(store.reader() or store)
        ctx = AccessContext("traveller-self-service", Role.TRAVELLER, "own record")
        lookup = ((lambda identity: bool(who_looked(reader, ctx, identity))) if args.access_log
                  else (lambda identity: check_stay(reader, ctx, identity, AS_OF)[0]))
        people = identities(args.workdir, args.lookups)
        stop = threading.Event()
        posted = [0]

        def post() -> None:
            live = LiveLinker()
            live.rebuild(store)
            feed = iter(held)
            while not stop.is_set():
                group = [PostedEvents(AccessContext(f"feed-{i}", Role.INGEST), "api", [next(feed)]) for i in range(15)]
                live.valid_for(store)
                with store.unit_of_work():
                    record_posted_together(store, group, as_of=AS_OF, live=live)
                posted[0] += 15

        poster = threading.Thread(target=post, daemon=True)
        if args.posting:
            poster.start()
            time.sleep(40)  # the live linker is built (about 25 s at a million events) and posting
        hits: list[float] = []
        misses: list[float] = []
        for i, person in enumerate([*people[:20], *people]):  # the first 20 warm caches up and are not counted
            day = int(person["date_of_birth"][8:])
            wrong = {**person, "date_of_birth": person["date_of_birth"][:8] + f"{day % 28 + 1:02d}"}
            for details, into, expected in ((person, hits, True), (wrong, misses, False)):
                started = time.perf_counter()
                found = lookup(TravellerIdentity(**details))
                elapsed = time.perf_counter() - started
                if i >= 20:
                    into.append(elapsed)
                assert not found or expected, details  # a wrong birth date never finds anyone
        stop.set()
        if args.posting:
            poster.join(timeout=120)  # its group done: the store's connection is free again
        print(f"{'DuckDB' if not args.db else 'PostgreSQL'}, {store.event_count():,} events"
              + (f", {sum(1 for _ in store.audit_rows()):,} audit entries; the access log" if args.access_log else "")
              + (f"; meanwhile {posted[0]:,} events posted in groups of 15" if args.posting else "; nothing else running"))
        print("  " + summary("found", hits))
        print("  " + summary("not found (birth date a day off)", misses))
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
