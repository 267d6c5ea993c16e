"""``stayledger demo``: the whole path on a synthetic population, with accuracy against its ground truth."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from stayledger.bootstrap import Settings, open_store
from stayledger.cli.render import print_evaluation, print_held
from stayledger.domain.access import AccessContext
from stayledger.domain.stays import Status
from stayledger.errors import StayledgerError
from stayledger.reports.groups import class_group
from stayledger.usecases.evaluate import evaluate_ledger, truth_as_of
from stayledger.usecases.ingest import ingest_file
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.review import list_review


class DemoWouldWipe(StayledgerError):
    """Re-running the demo would erase review decisions or corrections made in its ledger."""


# What a person did in a demo ledger that re-running the demo would wipe: (table, condition, what it is).
_HUMAN_WORK = (
    ("review_decisions", "true", "review decisions"),
    ("events", "corrects IS NOT NULL", "corrections"),
    ("correction_cases", "true", "correction cases"),
)


def human_work(db_path: Path) -> list[str]:
    """Counts of decisions and corrections held in an existing demo ledger, e.g. ["3 review decisions"]."""
    import duckdb

    if not db_path.exists():
        return []
    found: list[str] = []
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return []  # not a ledger we can read: nothing of a person's work to keep
    try:
        for table, condition, what in _HUMAN_WORK:
            try:
                row = con.execute(f"SELECT count(*) FROM {table} WHERE {condition}").fetchone()
            except duckdb.Error:  # an older schema without this table
                continue
            if row and row[0]:
                found.append(f"{row[0]:,} {what}")
    finally:
        con.close()
    return found


def run_demo(console: Console, ctx: AccessContext, *, people: int, seed: int, workdir: Path,
             force: bool = False) -> None:
    from stayledger.synth.generator import generate_population

    started = time.perf_counter()
    population = workdir / "population"
    db_path = workdir / "stayledger.duckdb"
    kept = [] if force else human_work(db_path)
    if kept:
        raise DemoWouldWipe(
            f"{db_path} holds {', '.join(kept)}; the demo would replace that ledger. "
            f"Use --dir NEW_DIR for a fresh demo, or --force to start over"
        )
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)

    with console.status(f"synthesising {people:,} travellers (seed {seed})…"):
        summary = generate_population(people, seed, population)
    console.print(f"[bold]1. synthesised[/] {summary.events:,} events of {summary.people:,} travellers → {population}")

    store = open_store(Settings.load(str(db_path)))
    try:
        with console.status("ingesting…"):
            report = ingest_file(store, ctx, population / "events.jsonl")
        console.print(
            f"[bold]2. ingested[/] {report.added:,} events ({report.quarantined} quarantined) into {db_path}"
        )
        with console.status("resolving identities…"):
            resolved = resolve_identities(store, ctx)
        for note in resolved.notes:
            console.print(f"   {note}")
        console.print(f"[bold]3. resolved[/] {resolved.events:,} events into {resolved.persons:,} persons ({resolved.method})")

        as_of = truth_as_of(population)
        assert as_of is not None
        with console.status("determining stays and measuring accuracy…"):
            evaluation, stays = evaluate_ledger(store, ctx, population, as_of)
        assert stays is not None
        console.print(f"[bold]4. determined[/] {len(stays):,} stays as of {as_of}")
        _print_summary(console, stays)
        held = Counter(s.held_because.value for s in stays if s.held_because is not None)
        print_held(dict(held), len(list_review(store, ctx)), indent="   ")
    finally:
        store.close()

    console.print("[bold]accuracy against the ground truth[/]")
    print_evaluation(evaluation)
    elapsed = time.perf_counter() - started
    console.print(f"\ndone in {elapsed:.1f} s. The database is {db_path}. Try next:")
    for hint in (
        f"stayledger report overstays --db {db_path} --fiscal-year {as_of.year - (as_of.month < 10)} --as-of {as_of} --format html --out overstays.html",
        f"stayledger review list --db {db_path}",
        f"stayledger review held --db {db_path} --as-of {as_of}   # why the other needs_review stays are held",
        f"stayledger audit list --db {db_path}",
        f"stayledger audit verify --db {db_path}",
        f"stayledger export stays --db {db_path} --as-of {as_of} --out stays.csv --purpose 'demo walkthrough'",
        f"stayledger export identities --db {db_path} --out identities.csv --purpose 'demo walkthrough'",
        f"stayledger quarantine list --db {db_path} --purpose 'demo walkthrough'",
        f"stayledger evaluate {population} --db {db_path}",
        f"stayledger users add me --role admin --db {db_path}   # then: stayledger serve --db {db_path}",
    ):
        console.print(f"  {hint}")


def _print_summary(console: Console, stays: list) -> None:
    by_status = Counter(s.status.value for s in stays)
    table = Table("status", "stays", "share", title="stays by status")
    for status in Status:
        n = by_status.get(status.value, 0)
        table.add_row(status.value, f"{n:,}", f"{n / len(stays):.2%}" if stays else "-")
    console.print(table)

    groups: dict[str, Counter[str]] = {}
    for stay in stays:
        groups.setdefault(class_group(stay.admission_class), Counter())[stay.status.value] += 1
    table = Table("class group", "stays", "departed late", "overstay (suspected in-country)", "needs review", title="overstays by admission-class group")
    for group, counts in sorted(groups.items()):
        total = sum(counts.values())
        table.add_row(
            group,
            f"{total:,}",
            f"{counts['departed_late']:,}",
            f"{counts['overstay']:,} ({counts['overstay'] / total:.2%})",
            f"{counts['needs_review']:,}",
        )
    console.print(table)
