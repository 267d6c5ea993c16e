"""The ``stayledger`` command line: parse input, call one use case, render the result.

Exit codes: 0 success, 1 failure (the message says what and where), 2 usage error, 3 some records quarantined.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stayledger.bootstrap import DB_ENV, DEFAULT_DB, Settings, open_store
from stayledger.errors import StayledgerError
from stayledger.storage.base import EventStore

if TYPE_CHECKING:
    from stayledger.formats.mapping import TabularMapping
    from stayledger.usecases.ingest import IngestReport

EXIT_FAILURE = 1
EXIT_QUARANTINED = 3

app = typer.Typer(
    help=(
        "stayledger: entry/exit records you can trust.\n\n"
        "Typical flow: `stayledger ingest events.jsonl`, `stayledger resolve`, "
        "`stayledger export stays --as-of 2025-12-31 --out stays.csv`. "
        "Try `stayledger demo` for a complete run on a synthetic population."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
quarantine_app = typer.Typer(help="Records that were refused, with their raw text and reasons.", no_args_is_help=True)
export_app = typer.Typer(help="Stable exports: events (JSONL), identities (CSV), stays (CSV).", no_args_is_help=True)
calc_app = typer.Typer(help="Calculators that need no database.", no_args_is_help=True)
report_app = typer.Typer(help="Aggregate statistics (no personal data).", no_args_is_help=True)
review_app = typer.Typer(help="Clerical review of uncertain (grey-zone) identity links.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(report_app, name="report")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(calc_app, name="calc")
app.add_typer(export_app, name="export")

# Piped output is not wrapped at 80 columns: tables stay readable in logs and files.
_PIPED_WIDTH = None if sys.stdout.isatty() else 140
console = Console(highlight=False, width=_PIPED_WIDTH)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)

DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help=f"DuckDB file of the ledger (created on first use). Default ./{DEFAULT_DB}, or ${DB_ENV}.",
        show_default=False,
    ),
]


def _fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def _store(db: str | None, *, read_only: bool = False) -> EventStore:
    try:
        return open_store(Settings.load(db), read_only=read_only)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option}: {text!r} is not a date (use YYYY-MM-DD)", 2) from None


class InputFormat(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    paxlst = "paxlst"


PROGRESS_THRESHOLD_BYTES = 1_000_000  # roughly a few thousand records


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files of canonical events (JSON Lines, CSV or Parquet).")],
    fmt: Annotated[InputFormat, typer.Option("--format", help="Input format; auto chooses by file name and content. paxlst: UN/EDIFACT API manifests (needs --country).")] = InputFormat.auto,
    country: Annotated[Optional[str], typer.Option("--country", help="With --format paxlst: the receiving country (alpha-3); travellers on flights leaving it become departures.")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML mapping of an agency's own CSV/Parquet layout onto canonical fields (see examples/mappings/README.md).")] = None,
    db: DbOption = None,
) -> None:
    """Append events to the ledger. Invalid records are quarantined with the reason, never lost.

    PAXLST: `stayledger ingest manifest.edi --format paxlst --country USA` turns every traveller (crew included)
    on a flight leaving the country into a departure event; an inbound manifest creates nothing (it carries no
    admission) and says so.

    Agency exports: `stayledger ingest export.csv --mapping agency.toml` reads the agency's own columns, date
    formats and code lists (or an MRZ column) as the mapping says; columns it does not map are ignored.

    Re-ingesting an identical record does nothing; a different record with a known event_id is quarantined as
    a conflict. An interrupted run leaves the ledger consistent: run the same command again to complete it.
    Exit code 0 when everything was accepted, 3 when some records were quarantined.
    """
    from stayledger.formats.canonical import detect_format
    from stayledger.usecases.ingest import ingest_file, ingest_paxlst

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}", 2)
    if fmt is InputFormat.paxlst and not country:
        raise _fail("--format paxlst needs --country (the receiving country, e.g. USA)", 2)
    if country and fmt is not InputFormat.paxlst:
        raise _fail("--country only applies to --format paxlst", 2)
    mapped = None
    if mapping is not None:
        from stayledger.formats.mapping import load_mapping

        if fmt is not InputFormat.auto:
            raise _fail("--mapping takes the file format from the mapping (source.format); leave out --format", 2)
        try:
            mapped = load_mapping(mapping)
        except StayledgerError as exc:
            raise _fail(str(exc), 2) from None
    store = _store(db)
    any_quarantined = False
    any_failed = False
    try:
        for path in files:
            try:
                if fmt is InputFormat.paxlst:
                    report = ingest_paxlst(store, path, country or "")
                elif mapped is not None:
                    report = _ingest_mapped(store, path, mapped)
                else:
                    chosen = detect_format(path) if fmt is InputFormat.auto else fmt.value
                    with _progress_bar(path, chosen) as advance:
                        report = ingest_file(store, path, chosen, progress=advance)
            except StayledgerError as exc:
                any_failed = True
                err_console.print(f"[bold red]error:[/] {escape(f'{path}: {exc}')} — nothing from this file was ingested")
                continue
            _print_ingest_report(path, report)
            any_quarantined |= not report.clean
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: completed chunks are kept; run the same command again to finish")
        raise typer.Exit(130) from None
    finally:
        store.close()
    if any_failed:
        raise typer.Exit(EXIT_FAILURE)
    if any_quarantined:
        raise typer.Exit(EXIT_QUARANTINED)


@contextmanager
def _progress_bar(path: Path, fmt: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on the terminal for inputs over a few thousand records; yields the advance callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from stayledger.formats.canonical import progress_total

    total = progress_total(path, fmt)
    show = sys.stderr.isatty() and (total > PROGRESS_THRESHOLD_BYTES or (fmt == "parquet" and total > 5000))
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeRemainingColumn(),
        console=err_console, transient=True, disable=not show,
    ) as progress:
        task = progress.add_task(f"ingesting {path.name}", total=total or None)
        yield lambda done: progress.update(task, completed=done)


def _ingest_mapped(store: EventStore, path: Path, mapping: TabularMapping) -> IngestReport:
    """An agency export read through its mapping."""
    from stayledger.formats.mapping import mapped_records, source_format, unmapped_columns
    from stayledger.usecases.ingest import ingest_records

    chosen = source_format(path, mapping)
    ignored = unmapped_columns(path, mapping)
    with _progress_bar(path, chosen) as advance:
        report = ingest_records(store, path.name, mapped_records(path, mapping, today=date.today(), progress=advance))
    if ignored:
        report.notes.append(f"columns not in {mapping.name}, ignored: {', '.join(ignored)}")
    return report


@app.command()
def schema() -> None:
    """Print the canonical event schema (JSON Schema); the same document is docs/event-schema.json."""
    import json

    from stayledger.formats.json_schema import event_json_schema

    typer.echo(json.dumps(event_json_schema(), indent=2))


def _print_ingest_report(path: Path, report: object) -> None:
    from stayledger.usecases.ingest import IngestReport

    assert isinstance(report, IngestReport)
    status = "[green]ok[/]" if report.clean else "[yellow]some records quarantined[/]"
    console.print(
        f"{path}: {report.records} records, {report.added} added, {report.duplicates} already present, "
        f"{report.quarantined} quarantined — {status}"
    )
    for note in report.notes:
        console.print(f"  note: {escape(note)}")
    for problem in report.first_problems:
        console.print(f"  [yellow]quarantined[/] {escape(problem)}")
    if report.quarantined > len(report.first_problems):
        console.print(f"  … and {report.quarantined - len(report.first_problems)} more: `stayledger quarantine list`")


@quarantine_app.command("list")
def quarantine_list(
    limit: Annotated[int, typer.Option(help="Show at most this many entries (0: all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line (origin, location, event_id, reasons, raw).")] = False,
    db: DbOption = None,
) -> None:
    """List quarantined records: where they came from, why, and their raw text."""
    store = _store(db, read_only=True)
    try:
        total = store.quarantine_count()
        entries = store.quarantine_entries(None if limit == 0 else limit)
    finally:
        store.close()
    if not entries:
        console.print("quarantine is empty")
        return
    for stored in entries:
        e = stored.entry
        if as_json:
            record = {"origin": e.origin, "location": e.location, "event_id": e.event_id, "reasons": e.reasons,
                      "raw": e.raw, "quarantined_at": stored.quarantined_at.isoformat()}
            typer.echo(json.dumps(record, ensure_ascii=False))
            continue
        who = f" event {e.event_id}" if e.event_id else ""
        typer.echo(f"{e.origin} {e.location}{who}: {e.reasons}")
        typer.echo(f"    raw: {e.raw if len(e.raw) <= 300 else e.raw[:297] + '...'}")
    if total > len(entries):
        err_console.print(f"{len(entries)} of {total} shown; --limit 0 shows all")


@app.command()
def resolve(
    full: Annotated[bool, typer.Option("--full", help="Re-link everything from scratch (person ids still stay stable).")] = False,
    train: Annotated[bool, typer.Option("--train", help="Retrain the linkage model on the data in the store first.")] = False,
    db: DbOption = None,
) -> None:
    """Link identities: decide which events are the same person. Person ids stay stable between runs.

    The first run on a store without a model trains one (Splink) and says so; a store too small to train on
    is linked by exact document keys. By default only new events are linked (incremental); uncertain links go
    to the clerical review queue.
    """
    from stayledger.usecases.resolve import resolve_identities

    store = _store(db)
    try:
        with err_console.status("resolving identities…"):
            report = resolve_identities(store, full=full, train=train)
    finally:
        store.close()
    for note in report.notes:
        console.print(note)
    if report.method == "unchanged":
        console.print(f"{report.events:,} events, {report.persons:,} persons (as resolved before)")
        return
    console.print(
        f"{report.events:,} events → {report.persons:,} persons ({report.method}); "
        f"{report.merges} merges, {report.splits} splits recorded (run {report.run_id})"
    )


def _ensure_resolved(store: EventStore) -> None:
    from stayledger.usecases.resolve import resolve_identities, unresolved_count

    pending = unresolved_count(store)
    if pending:
        err_console.print(f"{pending} events not yet resolved: resolving identities first")
        resolve_identities(store)


@export_app.command("events")
def export_events_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.")],
    db: DbOption = None,
) -> None:
    """The ledger as canonical JSON Lines (ingesting it into an empty store gives the same ledger)."""
    from stayledger.usecases.export import export_events

    store = _store(db, read_only=True)
    try:
        count = export_events(store, out)
    finally:
        store.close()
    console.print(f"wrote {count} events to {out}")


@export_app.command("identities")
def export_identities_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (event_id,person_id).")],
    db: DbOption = None,
) -> None:
    """One row per ingested event: event_id,person_id (resolves unresolved events first)."""
    from stayledger.usecases.export import export_identities

    store = _store(db)
    try:
        _ensure_resolved(store)
        count = export_identities(store, out)
    finally:
        store.close()
    console.print(f"wrote {count} rows to {out}")


@export_app.command("stays")
def export_stays_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine statuses as of this day (YYYY-MM-DD). Default: today.")] = None,
    db: DbOption = None,
) -> None:
    """One row per arrival: arrival_event_id,person_id,status,authorized_until,overstay_days,… with evidence."""
    from stayledger.usecases.export import export_stays

    day = _parse_day(as_of, "--as-of") if as_of else date.today()
    store = _store(db)
    try:
        _ensure_resolved(store)
        count = export_stays(store, day, out)
    finally:
        store.close()
    console.print(f"wrote {count} stays (as of {day}) to {out}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write events.jsonl and the truth files into.")],
    people: Annotated[int, typer.Option("--people", min=1, help="Number of travellers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 1,
    as_of: Annotated[str, typer.Option("--as-of", help="The population's 'today' (YYYY-MM-DD).")] = "2025-12-31",
) -> None:
    """Write a synthetic population with ground truth (events.jsonl, truth_identities.csv, truth_stays.csv)."""
    from stayledger.synth.generator import generate_population

    summary = generate_population(people, seed, out, as_of=_parse_day(as_of, "--as-of"))
    console.print(f"wrote {summary.events} events of {summary.people} travellers to {out}")


def _print_evaluation(evaluation: object) -> None:
    from stayledger.usecases.evaluate import Evaluation

    assert isinstance(evaluation, Evaluation)
    m = evaluation.identity
    console.print(
        f"identity: pair precision {m.precision:.4f}, recall {m.recall:.4f}, F1 {m.f1:.4f} "
        f"({m.true_persons} true persons, {m.predicted_persons} resolved; "
        f"{m.exact_cluster_rate:.2%} of persons resolved exactly)"
    )
    worst = sorted(evaluation.by_nationality.items(), key=lambda kv: kv[1].f1)[:5]
    if worst:
        console.print("  lowest pair F1 by nationality: " + ", ".join(f"{k} {v.f1:.4f} ({v.true_persons})" for k, v in worst))
    s = evaluation.status
    if s is not None:
        console.print(
            f"stays (as of {evaluation.as_of}): status accuracy {s.accuracy:.4f} over {s.matched} stays; "
            f"false-overstay rate {s.false_overstay_rate:.3%} ({s.false_overstays} stays); "
            f"missed-overstay rate {s.missed_overstay_rate:.2%} ({s.missed_overstays} of {s.true_overstays})"
        )
    b = evaluation.status_with_true_identities
    if s is not None and b is not None:
        console.print(
            f"  with the true identities (perfect linkage): status accuracy {b.accuracy:.4f}; "
            f"false-overstay rate {b.false_overstay_rate:.3%} ({b.false_overstays}); missed {b.missed_overstays} — "
            "errors no linkage can remove (such as an exit nobody recorded)"
        )
        console.print(
            f"  so linkage accounts for {s.false_overstays - b.false_overstays:+d} false overstays "
            f"({(s.false_overstays - b.false_overstays) / s.matched if s.matched else 0:+.3%} of stays) and "
            f"{s.missed_overstays - b.missed_overstays:+d} missed overstays"
        )


@app.command()
def evaluate(
    truth_dir: Annotated[Path, typer.Argument(help="Directory with truth_identities.csv (and truth_stays.csv).")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Day for the status comparison; default from manifest.json.")] = None,
    db: DbOption = None,
) -> None:
    """Measure identity resolution (pair precision/recall/F1, by nationality) and status accuracy against truth."""
    from stayledger.usecases.evaluate import evaluate as run_evaluation
    from stayledger.usecases.evaluate import truth_as_of
    from stayledger.usecases.stays import determine_stays

    day = _parse_day(as_of, "--as-of") if as_of else truth_as_of(truth_dir)
    store = _store(db)
    try:
        _ensure_resolved(store)
        determinations = list(determine_stays(store, day)) if day else None
        result = run_evaluation(store, truth_dir, determinations, day)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    _print_evaluation(result)
    table = Table("nationality", "persons", "precision", "recall", "F1", title="identity by nationality")
    for nationality, metrics in sorted(result.by_nationality.items(), key=lambda kv: kv[1].f1):
        table.add_row(nationality, str(metrics.true_persons), f"{metrics.precision:.4f}", f"{metrics.recall:.4f}", f"{metrics.f1:.4f}")
    console.print(table)


@app.command()
def demo(
    people: Annotated[int, typer.Option("--people", min=100, help="Synthetic travellers to generate.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    workdir: Annotated[Path, typer.Option("--dir", help="Where the demo's data and database go.")] = Path("demo-data"),
) -> None:
    """Synthesise a population, ingest, resolve, determine stays, and show the overstay summary and accuracy."""
    from stayledger.cli.demo import run_demo

    try:
        run_demo(console, people=people, seed=seed, workdir=workdir)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None


class ReportFormat(str, Enum):
    table = "table"
    csv = "csv"
    html = "html"


@report_app.command("overstays")
def report_overstays_cmd(
    fiscal_year: Annotated[int, typer.Option("--fiscal-year", min=2, max=9999, help="US federal fiscal year: FY2025 is 2024-10-01 .. 2025-09-30.")],
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table (terminal), csv, or html (self-contained page with charts).")] = ReportFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", help="File to write. Default: standard output.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine statuses as of this day (YYYY-MM-DD). Default: today.")] = None,
    db: DbOption = None,
) -> None:
    """Overstays of a fiscal year by admission-class group and nationality.

    Cohort: air and sea arrivals whose authorised stay ends in the fiscal year. Cells under 10 are withheld
    (with secondary suppression), and the report holds no personal data.
    """
    from stayledger.reports.render import overstay_csv, overstay_html, terminal_report
    from stayledger.usecases.report import report_overstays

    day = _parse_day(as_of, "--as-of") if as_of else date.today()
    store = _store(db)
    try:
        _ensure_resolved(store)
        report = report_overstays(store, fiscal_year, day)
    finally:
        store.close()
    if fmt is ReportFormat.table:
        if out is None:
            console.print(terminal_report(report))
            return
        with out.open("w", encoding="utf-8") as handle:
            Console(file=handle, width=200, no_color=True).print(terminal_report(report))
    else:
        try:
            text = overstay_csv(report) if fmt is ReportFormat.csv else overstay_html(report)
        except StayledgerError as exc:
            raise _fail(str(exc)) from None
        if out is None:
            sys.stdout.write(text)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8", newline="")
    err_console.print(f"wrote the FY{fiscal_year} overstay report (statuses as of {day}) to {out}")


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="A person id from `export identities` (e.g. P1A2B3C4D5E6).")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine stays as of this day. Default: today.")] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="Why you are looking (recorded in the lookup log).")] = "record check",
    actor: Annotated[Optional[str], typer.Option("--actor", envvar="USER", help="Who is looking (recorded). Default: $USER.")] = None,
    db: DbOption = None,
) -> None:
    """One person's timeline: events with the link probability that joined each, and each stay's status and evidence.

    Every lookup is logged (who, why, whom).
    """
    from stayledger.usecases.lookup import look_up_person

    day = _parse_day(as_of, "--as-of") if as_of else date.today()
    store = _store(db)
    try:
        view = look_up_person(store, person_id, day, actor=actor or "unknown", purpose=purpose)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    console.print(f"[bold]person {view.person_id}[/] — {len(view.events)} events, as of {day} (lookup logged)")
    table = Table("date", "kind", "event", "source", "name", "born", "nat.", "document", "class / until", "link p")
    for event, probability in view.events:
        detail = event.admission_class or event.change or ""
        if event.event_id in view.superseded:
            detail = f"[strike]{detail}[/strike] superseded"
        if event.corrects:
            detail += f" (corrects {event.corrects})"
        until = event.admitted_until or event.new_until
        if until:
            detail += f" → {until}"
        if event.duration_of_status:
            detail += " D/S"
        table.add_row(
            str(event.occurred_on), event.kind, event.event_id, event.source,
            f"{event.surname}, {event.given_names or ''}".strip(", "), event.date_of_birth, event.nationality,
            event.document_number or "", detail, "key" if probability is None else f"{probability:.3f}",
        )
    console.print(table)
    for stay in view.stays:
        console.print(
            f"\n[bold]stay {stay.arrival_event_id}[/]: [bold]{stay.status.value}[/]"
            + (f", {stay.overstay_days} days over" if stay.overstay_days else "")
            + f"; authorised until {stay.authorized_until or 'open-ended (D/S)'} ({stay.rule_pack} {stay.rule_version})"
        )
        for step in stay.steps:
            console.print(f"  • {step}")
        if stay.uncertain_links:
            console.print(f"  [yellow]relies on unreviewed links:[/] {', '.join(stay.uncertain_links)}")
        misses = view.near_misses.get(stay.arrival_event_id)
        if misses:
            console.print("  nearest departure records not linked to this person (check before acting):")
            for miss in misses:
                console.print(f"    {miss.event_id} {miss.kind} on {miss.occurred_on}, link probability {miss.probability:.3g}")
                for reason in miss.against:
                    console.print(f"      against: {escape(reason)}")
            console.print("    if one is this traveller: `stayledger review accept ARRIVAL DEPARTURE --note WHY`")
        elif stay.status.value == "overstay":
            console.print("  no departure record of anyone else comes close")


@app.command()
def mrz(
    lines: Annotated[list[str], typer.Argument(help="The MRZ lines (2 or 3), or one string with all of them; quote each line.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: format, document_code, issuing_state, surname, given_names, document_number, nationality, date_of_birth, expiry_date, sex, checks, valid.")] = False,
) -> None:
    """Parse an ICAO 9303 machine readable zone (TD1, TD2, TD3, MRV-A, MRV-B) and verify every check digit.

    Example: `stayledger mrz 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<' 'L898902C36UTO7408122F1204159ZE184226B<<<<<10'`.
    Exit code 0 when every check digit is valid, 3 when some are not, 1 when the lines cannot be parsed.
    """
    from stayledger.errors import ParseError
    from stayledger.formats.mrz import parse_mrz, render_text, to_json_dict

    try:
        result = parse_mrz(lines if len(lines) > 1 else lines[0], date.today())
    except ParseError as exc:
        raise _fail(f"MRZ {exc}") from None
    if as_json:
        typer.echo(json.dumps(to_json_dict(result), ensure_ascii=False))
    else:
        typer.echo(render_text(result))
    if not result.valid:
        raise typer.Exit(EXIT_QUARANTINED)


@app.command()
def correct(
    event_id: Annotated[str, typer.Argument(help="The event to correct (it stays in the ledger, marked superseded).")],
    changes: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE to change (repeat); FIELD= removes the field.")],
    source: Annotated[str, typer.Option("--source", help="Who corrects: e.g. officer, traveller (a rebuttal).")] = "officer",
    new_id: Annotated[Optional[str], typer.Option("--event-id", help="Id of the correction event (default: EVENT_ID~fixN).")] = None,
    db: DbOption = None,
) -> None:
    """Record a correction: a new event that replaces EVENT_ID; statuses are re-determined from it.

    Example: `stayledger correct BRD-17 --set date_of_birth=1980-02-11 --source traveller`.
    """
    from stayledger.usecases.correct import record_correction

    parsed: dict[str, str] = {}
    for item in changes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _fail(f"--set {item!r}: expected FIELD=VALUE", 2)
        parsed[name.strip()] = value.strip()
    store = _store(db)
    try:
        correction = record_correction(store, event_id, parsed, source=source, event_id=new_id)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    console.print(f"recorded {correction.event_id} correcting {event_id}; run `stayledger resolve` to re-link")


ActorOption = Annotated[Optional[str], typer.Option("--actor", envvar="USER", help="Who is acting (recorded). Default: $USER.")]


def _print_pair(view: object) -> None:
    from stayledger.identity.splink_linker import PairExplanation, render_waterfall_text
    from stayledger.usecases.review import PairView

    assert isinstance(view, PairView)
    table = Table("field", view.left.event_id, view.right.event_id)
    for name in ("kind", "occurred_on", "source", "surname", "given_names", "date_of_birth", "sex", "nationality",
                 "document_type", "document_number", "document_issuer"):
        a, b = getattr(view.left, name), getattr(view.right, name)
        mark = "" if a == b else "[yellow]"
        table.add_row(name, f"{mark}{escape(str(a or ''))}", f"{mark}{escape(str(b or ''))}")
    console.print(table)
    console.print(f"currently {'the same person' if view.same_person else 'different persons'}"
                  + (f"; review: {view.item.status}" + (f" by {view.item.decided_by}" if view.item.decided_by else "") if view.item else ""))
    if isinstance(view.explanation, PairExplanation):
        typer.echo(render_waterfall_text(view.explanation))
    else:
        console.print("no linkage model yet (run `stayledger resolve`): no probabilistic explanation")


@app.command()
def explain(
    event_a: Annotated[str, typer.Argument(help="First event id.")],
    event_b: Annotated[str, typer.Argument(help="Second event id.")],
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Also write the waterfall chart (.svg, .png or .html).")] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="Why you are looking (recorded in the lookup log).")] = "link explanation",
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Why two events are (not) linked: each comparison's level and match weight, as a text waterfall."""
    from stayledger.usecases.review import view_pair

    store = _store(db)
    try:
        view = view_pair(store, event_a, event_b, actor=actor or "unknown", purpose=purpose)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    _print_pair(view)
    if chart is not None:
        if view.explanation is None:
            raise _fail("no linkage model yet: no chart to draw")
        from stayledger.identity.splink_linker import waterfall_chart_spec

        _write_chart(waterfall_chart_spec(view.explanation), chart)
        console.print(f"wrote the waterfall chart to {chart}")


def _write_chart(spec: dict, out: Path) -> None:
    import vl_convert as vlc

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".png":
        out.write_bytes(vlc.vegalite_to_png(spec, scale=2))
    elif suffix == ".html":
        svg = vlc.vegalite_to_svg(spec)
        out.write_text(f"<!doctype html><meta charset='utf-8'><title>link explanation</title>{svg}", encoding="utf-8")
    else:
        out.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option("--status", help="open, accepted, rejected or all.")] = "open",
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all).")] = 50,
    db: DbOption = None,
) -> None:
    """Links awaiting a decision (strongest first), or decided ones."""
    store = _store(db, read_only=True)
    try:
        items = store.review_items(None if status == "all" else status)
    finally:
        store.close()
    if not items:
        console.print(f"no {status} review items")
        return
    items.sort(key=lambda i: -(i.match_probability if i.match_probability == i.match_probability else 1.0))
    shown = items if limit == 0 else items[:limit]
    table = Table("event A", "event B", "probability", "status", "decided by", "note")
    for item in shown:
        p = "-" if item.match_probability != item.match_probability else f"{item.match_probability:.3f}"
        table.add_row(item.event_id_l, item.event_id_r, p, item.status, item.decided_by or "", item.note or "")
    console.print(table)
    if len(shown) < len(items):
        err_console.print(f"{len(shown)} of {len(items)} shown; --limit 0 shows all")
    console.print("look closer: `stayledger review show EVENT_A EVENT_B`")


@review_app.command("show")
def review_show(
    event_a: Annotated[str, typer.Argument()],
    event_b: Annotated[str, typer.Argument()],
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Both records side by side and the model's explanation (the lookup is logged)."""
    from stayledger.usecases.review import view_pair

    store = _store(db)
    try:
        view = view_pair(store, event_a, event_b, actor=actor or "unknown", purpose="clerical review")
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    _print_pair(view)


def _decide(event_a: str, event_b: str, accept: bool, actor: str | None, note: str | None, db: str | None) -> None:
    from stayledger.usecases.review import decide

    store = _store(db)
    try:
        with err_console.status("recording the decision and re-linking…"):
            item = decide(store, event_a, event_b, accept=accept, actor=actor or "unknown", note=note)
    except StayledgerError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    verb = "must link" if accept else "must never link"
    console.print(f"{item.event_id_l} and {item.event_id_r} {verb} ({item.status} by {item.decided_by}); identities re-linked")


@review_app.command("accept")
def review_accept(
    event_a: Annotated[str, typer.Argument()],
    event_b: Annotated[str, typer.Argument()],
    note: Annotated[Optional[str], typer.Option("--note", help="Why (kept with the decision).")] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """The two events are the same person: every later run must link them."""
    _decide(event_a, event_b, True, actor, note, db)


@review_app.command("reject")
def review_reject(
    event_a: Annotated[str, typer.Argument()],
    event_b: Annotated[str, typer.Argument()],
    note: Annotated[Optional[str], typer.Option("--note", help="Why (kept with the decision).")] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """The two events are different persons: no later run may link them."""
    _decide(event_a, event_b, False, actor, note, db)


@app.command()
def retention(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="The day retention is judged on. Default: today.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Erase for real (default: only count what is due).")] = False,
    db: DbOption = None,
) -> None:
    """Enforce retention limits: 3 years after the last exit, 5 years after the stay's end when no exit is known.

    Without --apply nothing is erased: it counts the persons and events due. With --apply the records (and the
    identities, quarantine entries and review items derived from them) are erased and the erasure is logged by
    count and reason only.
    """
    from stayledger.usecases.resolve import resolve_identities, unresolved_count
    from stayledger.usecases.retention import enforce_retention

    day = _parse_day(as_of, "--as-of") if as_of else date.today()
    store = _store(db)
    try:
        if unresolved_count(store):
            resolve_identities(store)
        report = enforce_retention(store, day, apply=apply)
    finally:
        store.close()
    if apply:
        console.print(f"erased {report.erased:,} events of {report.persons_due:,} persons whose retention ended before {day}")
    else:
        console.print(f"{report.events_due:,} events of {report.persons_due:,} persons are past retention as of {day}; "
                      "run again with --apply to erase them")


@calc_app.command("schengen")
def calc_schengen(
    stays: Annotated[list[str], typer.Option("--stay", help="A stay as START/END (YYYY-MM-DD/YYYY-MM-DD), entry and exit days included. Repeat for each stay.")],
    on: Annotated[str, typer.Option("--on", help="The day to check (YYYY-MM-DD): e.g. a planned entry or today.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print days_used, overstay_days, latest_exit, max_stay_days as JSON.")] = False,
) -> None:
    """Schengen short stay: 90 days in any 180-day period.

    Counts the days of presence in the 180 days ending on --on, the overstay, and the last day one may stay if
    present continuously from --on. Example: `stayledger calc schengen --stay 2014-08-15/2014-09-30 --stay
    2014-11-01/2014-11-30 --on 2014-11-30` (may stay until 2014-12-13).
    """
    from stayledger.rules.schengen import render_text, schengen_calc, to_json_dict

    parsed: list[tuple[date, date]] = []
    for text in stays:
        start_text, sep, end_text = text.partition("/")
        if not sep:
            raise _fail(f"--stay {text!r}: expected START/END, e.g. 2024-01-10/2024-02-03", 2)
        start, end = _parse_day(start_text, f"--stay {text}"), _parse_day(end_text, f"--stay {text}")
        if end < start:
            raise _fail(f"--stay {text!r}: the end {end} is before the start {start}", 2)
        parsed.append((start, end))
    result = schengen_calc(parsed, _parse_day(on, "--on"))
    if as_json:
        typer.echo(json.dumps(to_json_dict(result)))
    else:
        typer.echo(render_text(result))


def main() -> None:  # pragma: no cover - console entry point
    app()
