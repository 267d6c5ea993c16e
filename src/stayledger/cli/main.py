"""The ``stayledger`` command line: parse input, call one use case, render the result.

Every command that touches the ledger runs for an actor (``--actor``, ``$STAYLEDGER_ACTOR`` or the login name) in
role admin, with a purpose where the policy asks for one, and is recorded in the audit log. Exit codes: see
``cli/common.py`` (0 ok, 1 failure, 2 usage, 3 some records quarantined, 4 refused by the access policy).
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

from stayledger.cli.common import (
    EXIT_FAILURE,
    EXIT_QUARANTINED,
    EXIT_USAGE,
    ActorOption,
    CaseRefOption,
    DbOption,
    PurposeOption,
    access_context,
    check_output,
    console,
    err_console,
    fail,
    ledger,
    parse_day,
    reported_errors,
)
from stayledger.cli.audit_commands import audit_app
from stayledger.cli.migrate_command import migrate
from stayledger.cli.service_commands import serve, users_app
from stayledger.cli.stays_commands import stays_app
from stayledger.cli.render import (
    print_evaluation,
    print_held,
    print_ingest_report,
    print_pair,
    print_person,
    print_uncut,
    uncut_table,
    write_chart,
)
from stayledger.errors import StayledgerError

if TYPE_CHECKING:
    from stayledger.formats.airports import AirportTable

app = typer.Typer(
    help=(
        "stayledger: entry/exit records you can trust.\n\n"
        "Typical flow: `stayledger ingest events.jsonl`, `stayledger resolve`, "
        "`stayledger export stays --as-of 2025-12-31 --out stays.csv --purpose \"monthly backup\"`. "
        "Every read and write of personal data is attributed (--actor) and recorded in a tamper-evident audit "
        "log (`stayledger audit verify`). Try `stayledger demo` for a complete run on a synthetic population."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
quarantine_app = typer.Typer(help="Records that were refused, with their raw text and reasons.", no_args_is_help=True)
export_app = typer.Typer(help="Bulk exports for an admin (purpose required, audited): events (JSONL), identities (CSV), stays (CSV).", no_args_is_help=True)
calc_app = typer.Typer(help="Calculators that need no database.", no_args_is_help=True)
report_app = typer.Typer(help="Aggregate statistics (no personal data).", no_args_is_help=True)
review_app = typer.Typer(help="Clerical review of uncertain (grey-zone) identity links.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(report_app, name="report")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(calc_app, name="calc")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(stays_app, name="stays")
app.command()(serve)
app.command()(migrate)


class InputFormat(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    paxlst = "paxlst"


PROGRESS_THRESHOLD_BYTES = 1_000_000  # roughly a few thousand records


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files of canonical events (JSON Lines, CSV or Parquet), or PAXLST manifests with --format paxlst.")],
    fmt: Annotated[InputFormat, typer.Option("--format", help="Input format; auto chooses by file name and content. paxlst: UN/EDIFACT API manifests (needs --country).")] = InputFormat.auto,
    country: Annotated[Optional[str], typer.Option("--country", help="With --format paxlst: the receiving country (alpha-3); travellers on flights leaving it become departures.")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML mapping of an agency's own CSV/Parquet layout onto canonical fields (see examples/mappings/README.md).")] = None,
    airports: Annotated[Optional[Path], typer.Option("--airports", help="With --format paxlst: a CSV of airports the bundled table lacks (columns iata,country; country alpha-3); it wins over the bundled table.")] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Append events (JSON Lines, CSV, Parquet or PAXLST manifests) to the ledger. Invalid records are quarantined
    with the reason, never lost.

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
    from stayledger.usecases.ingest import IngestReport, ingest_file, ingest_mapped, ingest_paxlst

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise fail(f"no such file: {', '.join(missing)}", EXIT_USAGE)
    if fmt is InputFormat.paxlst and not country:
        raise fail("--format paxlst needs --country (the receiving country, e.g. USA)", EXIT_USAGE)
    if country and fmt is not InputFormat.paxlst:
        raise fail("--country only applies to --format paxlst", EXIT_USAGE)
    airport_table = _airport_table(airports, fmt) if airports is not None else None
    mapped = None
    if mapping is not None:
        from stayledger.formats.mapping import load_mapping

        if fmt is not InputFormat.auto:
            raise fail("--mapping takes the file format from the mapping (source.format); leave out --format", EXIT_USAGE)
        try:
            mapped = load_mapping(mapping)
        except StayledgerError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    ctx = access_context(actor)
    any_quarantined = False
    any_failed = False
    with ledger(db) as store:
        done: list[Path] = []
        path = files[0]
        report = IngestReport(path.name)
        try:
            for path in files:
                report = IngestReport(path.name)  # filled as chunks commit: after an error it says what was kept
                try:
                    if fmt is InputFormat.paxlst:
                        report = ingest_paxlst(store, ctx, path, country or "", airport_table)
                    elif mapped is not None:
                        from stayledger.formats.mapping import source_format

                        with _progress_bar(path, source_format(path, mapped)) as advance:
                            report = ingest_mapped(store, ctx, path, mapped, today=date.today(), progress=advance,
                                                   report=report)
                    else:
                        chosen = detect_format(path) if fmt is InputFormat.auto else fmt.value
                        with _progress_bar(path, chosen) as advance:
                            report = ingest_file(store, ctx, path, chosen, progress=advance, report=report)
                except StayledgerError as exc:
                    any_failed = True
                    err_console.print(f"[bold red]error:[/] {escape(f'{path}: {exc}')} — {report.kept()}", soft_wrap=True)
                    continue
                done.append(path)
                print_ingest_report(path, report)
                any_quarantined |= not report.clean
        except KeyboardInterrupt:
            before = f"; {', '.join(map(str, done))} ingested whole before it" if done else ""
            err_console.print(f"[yellow]interrupted[/] while ingesting {escape(str(path))}: {report.kept()}"
                              f"{escape(before)}", soft_wrap=True)
            raise typer.Exit(130) from None
    if any_failed:
        raise typer.Exit(EXIT_FAILURE)
    if any_quarantined:
        raise typer.Exit(EXIT_QUARANTINED)


def _airport_table(path: Path, fmt: InputFormat) -> "AirportTable":
    """The bundled airport table with the user's airports added (theirs win); a bad file is a usage error."""
    from stayledger.formats.airports import AirportTable, bundled_airports

    if fmt is not InputFormat.paxlst:
        raise fail("--airports only applies to --format paxlst", EXIT_USAGE)
    try:
        extra = AirportTable.from_csv_text(path.read_text(encoding="utf-8-sig"), source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"--airports {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})", EXIT_USAGE) from None
    except StayledgerError as exc:
        raise fail(f"--airports: {exc}", EXIT_USAGE) from None
    return bundled_airports().merged(extra)


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


@app.command()
def schema() -> None:
    """Print the canonical event schema (JSON Schema); the same document is docs/event-schema.json."""
    import json

    from stayledger.formats.json_schema import event_json_schema

    typer.echo(json.dumps(event_json_schema(), indent=2))


@quarantine_app.command("list")
def quarantine_list(
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many entries (0: all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line (origin, location, event_id, reasons, raw).")] = False,
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """List quarantined records: where they came from, why, and their raw text (names, documents: a purpose is required).

    Example: `stayledger quarantine list --purpose "fix carrier feed errors"`.
    """
    from stayledger.usecases.quarantine import list_quarantine

    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        entries, total = list_quarantine(store, ctx, None if limit == 0 else limit)
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
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Link identities: decide which events are the same person. Person ids stay stable between runs.

    The first run on a store without a model trains one (Splink) and says so; a store too small to train on
    is linked by exact document keys. By default only new events are linked (incremental); uncertain links go
    to the clerical review queue.
    """
    from stayledger.usecases.resolve import resolve_identities

    ctx = access_context(actor)
    with ledger(db) as store, err_console.status("resolving identities…"):
        report = resolve_identities(store, ctx, full=full, train=train)
    for note in report.notes:
        console.print(note)
    if report.method == "unchanged":
        console.print(f"{report.events:,} events, {report.persons:,} persons (as resolved before)")
        return
    console.print(
        f"{report.events:,} events → {report.persons:,} persons ({report.method}); "
        f"{report.merges} merges, {report.splits} splits recorded (run {report.run_id})"
    )


@export_app.command("events")
def export_events_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.")],
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """The ledger as canonical JSON Lines (ingesting it into an empty store gives the same ledger).

    An admin's backup tool: every name and document leaves the ledger, so a purpose is required and the export
    is audited with its count. Example: `stayledger export events --out backup.jsonl --purpose "weekly backup"`.
    """
    from stayledger.usecases.export import export_events

    check_output(out)
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        count = export_events(store, ctx, out)
    console.print(f"wrote {count} events to {out}")


@export_app.command("identities")
def export_identities_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (event_id,person_id).")],
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """One row per ingested event: event_id,person_id (resolves unresolved events first; purpose required)."""
    from stayledger.usecases.export import export_identities

    check_output(out)
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        count = export_identities(store, ctx, out)
    console.print(f"wrote {count} rows to {out}")


@export_app.command("stays")
def export_stays_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine statuses as of this day (YYYY-MM-DD). Default: today.")] = None,
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """One row per arrival: arrival_event_id,person_id,status,authorized_until,overstay_days,… with evidence (purpose required)."""
    from stayledger.usecases.export import export_stays

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    check_output(out)
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        count = export_stays(store, ctx, day, out)
    console.print(f"wrote {count} stays (as of {day}) to {out}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Directory to write events.jsonl and the truth files into.")],
    people: Annotated[int, typer.Option("--people", min=1, help="Number of travellers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 1,
    as_of: Annotated[str, typer.Option("--as-of", help="The population's 'today' (YYYY-MM-DD).")] = "2025-12-31",
    register: Annotated[int, typer.Option(
        "--register", min=0,
        help="Distinct travellers of the register whose share of exact namesakes the sample keeps (0: none added).",
    )] = 50_000_000,
    placeholder_documents: Annotated[bool, typer.Option(
        "--placeholder-documents/--no-placeholder-documents",
        help="Sources sometimes write placeholder document numbers (123456789, UNKNOWN) and copied booking numbers.",
    )] = True,
) -> None:
    """Write a synthetic population with ground truth (events.jsonl, truth_identities.csv, truth_stays.csv)."""
    from stayledger.synth.generator import BOOKING_COPIES_LEAD_NUMBER_RATE, HardCases, generate_population

    cases = HardCases(register_travellers=register, placeholder_documents=placeholder_documents,
                      booking_copies_lead_number=BOOKING_COPIES_LEAD_NUMBER_RATE if placeholder_documents else 0.0)
    summary = generate_population(people, seed, out, as_of=parse_day(as_of, "--as-of"), cases=cases)
    console.print(f"wrote {summary.events} events of {summary.people} travellers to {out}")


@app.command()
def evaluate(
    truth_dir: Annotated[Path, typer.Argument(help="Directory with truth_identities.csv (and truth_stays.csv).")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Day for the status comparison; default from manifest.json.")] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Measure identity resolution (pair precision/recall/F1, by nationality) and status accuracy against truth."""
    from stayledger.usecases.evaluate import evaluate_ledger, truth_as_of

    day = parse_day(as_of, "--as-of") if as_of else truth_as_of(truth_dir)
    ctx = access_context(actor)
    with ledger(db) as store:
        result, _ = evaluate_ledger(store, ctx, truth_dir, day)
    print_evaluation(result)
    table = Table("nationality", "persons", "precision", "recall", "F1", title="identity by nationality")
    for nationality, metrics in sorted(result.by_nationality.items(), key=lambda kv: kv[1].f1):
        table.add_row(nationality, str(metrics.true_persons), f"{metrics.precision:.4f}", f"{metrics.recall:.4f}", f"{metrics.f1:.4f}")
    console.print(table)


@app.command()
def demo(
    people: Annotated[int, typer.Option("--people", min=100, help="Synthetic travellers to generate.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    workdir: Annotated[Path, typer.Option("--dir", help="Where the demo's data and database go.")] = Path("demo-data"),
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier demo ledger even if it holds review decisions or corrections.")] = False,
    actor: ActorOption = None,
) -> None:
    """Synthesise a population, ingest, resolve, determine stays, and show the overstay summary and accuracy."""
    from stayledger.cli.demo import run_demo

    ctx = access_context(actor, "demonstration on synthetic data")
    with reported_errors():
        run_demo(console, ctx, people=people, seed=seed, workdir=workdir, force=force)


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
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Overstays of a fiscal year by admission-class group and nationality.

    Cohort: air and sea arrivals whose authorised stay ends in the fiscal year. Cells under 10 are withheld
    (with secondary suppression), and the report holds no personal data.
    """
    from stayledger.reports.render import overstay_csv, overstay_html, terminal_report
    from stayledger.usecases.report import report_overstays

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    check_output(out)
    if as_of is None:
        err_console.print(f"statuses as of today, {day} (--as-of to choose)")
    ctx = access_context(actor)
    with ledger(db) as store:
        report = report_overstays(store, ctx, fiscal_year, day)
    if fmt is ReportFormat.table:
        if out is None:
            console.print(terminal_report(report))
            return
        with reported_errors(), out.open("w", encoding="utf-8") as handle:
            Console(file=handle, width=200, no_color=True).print(terminal_report(report))
    else:
        try:
            text = overstay_csv(report) if fmt is ReportFormat.csv else overstay_html(report)
        except StayledgerError as exc:
            raise fail(str(exc)) from None
        if out is None:
            sys.stdout.write(text)
            return
        with reported_errors():
            out.write_text(text, encoding="utf-8", newline="")
    err_console.print(f"wrote the FY{fiscal_year} overstay report (statuses as of {day}) to {out}")


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="A person id from `export identities` (e.g. P1A2B3C4D5E6).")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine stays as of this day. Default: today.")] = None,
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """One person's timeline: events with the link probability that joined each, and each stay's status and evidence.

    A purpose is required, and every lookup is in the audit log (who, why, whom), found or not.
    Example: `stayledger person P1A2B3C4D5E6 --purpose "traveller enquiry" --case-ref ENQ-2291`.
    """
    from stayledger.usecases.lookup import look_up_person

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        view = look_up_person(store, ctx, person_id, day)
    print_person(view, day)


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
        raise fail(f"MRZ {exc}") from None
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
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Record a correction: a new event that replaces EVENT_ID. It joins EVENT_ID's person at once, so `person`,
    `export stays` and the service use it straight away (an EVENT_ID not resolved yet is linked by the next `resolve`).

    Example: `stayledger correct BRD-17 --set date_of_birth=1980-02-11 --source traveller --purpose "rebuttal"`.
    The audit log records the events and the fields changed, never the values.
    """
    from stayledger.usecases.correct import record_correction

    parsed: dict[str, str] = {}
    for item in changes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise fail(f"--set {item!r}: expected FIELD=VALUE", EXIT_USAGE)
        parsed[name.strip()] = value.strip()
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        correction = record_correction(store, ctx, event_id, parsed, source=source, event_id=new_id)
    console.print(f"recorded {correction.event_id} correcting {event_id}; it joins {event_id}'s person at once "
                  f"(were {event_id} not resolved yet, the next `stayledger resolve` links both)")


@app.command()
def explain(
    event_a: Annotated[str, typer.Argument(help="First event id.")],
    event_b: Annotated[str, typer.Argument(help="Second event id.")],
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Also write the waterfall chart (.svg, .png or .html).")] = None,
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Why two events are (not) linked: each comparison's level and match weight, as a text waterfall.

    Shows both records, so a purpose is required (audited). Example:
    `stayledger explain BRD-17 APIS-4 --purpose "overstay check" --chart why.svg`.
    """
    from stayledger.usecases.review import explain_pair

    check_output(chart, "--chart")
    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        view = explain_pair(store, ctx, event_a, event_b)
    print_pair(view)
    if chart is not None:
        if view.explanation is None:
            raise fail("no linkage model yet: no chart to draw")
        from stayledger.reports.waterfall import waterfall_chart_spec

        with reported_errors():
            write_chart(waterfall_chart_spec(view.explanation), chart)
        console.print(f"wrote the waterfall chart to {chart}")


REVIEW_STATUSES = ("open", "accepted", "rejected", "all")


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option("--status", help="open, accepted, rejected or all.")] = "open",
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many (0: all).")] = 50,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Links awaiting a decision (strongest first), or decided ones."""
    from stayledger.usecases.review import list_review

    if status not in REVIEW_STATUSES:
        raise fail(f"--status {status!r}: use one of {', '.join(REVIEW_STATUSES)}", EXIT_USAGE)
    ctx = access_context(actor)
    with ledger(db) as store:
        items = list_review(store, ctx, None if status == "all" else status)
    if not items:
        console.print(f"no {status} review items")
        console.print(HELD_HINT)
        return
    shown = items if limit == 0 else items[:limit]
    table = uncut_table("event A", "event B", "probability", "status", "decided by", "note",
                        whole=("event A", "event B", "probability", "status"))
    for item in shown:
        p = "-" if item.match_probability != item.match_probability else f"{item.match_probability:.3f}"
        table.add_row(item.event_id_l, item.event_id_r, p, item.status, item.decided_by or "", item.note or "")
    print_uncut(table)
    if len(shown) < len(items):
        err_console.print(f"{len(shown)} of {len(items)} shown; --limit 0 shows all")
    console.print("look closer: `stayledger review show EVENT_A EVENT_B --purpose \"clerical review\"`")
    console.print(HELD_HINT)


HELD_HINT = ("These questions are about identities. Stays are also needs_review for reasons no question here "
             "answers (a departure date unknown, no authorised stay on the arrival, a disputed record): "
             "`stayledger review held` counts them and says what settles each.")


@review_app.command("held")
def review_held(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Day to determine stays on (YYYY-MM-DD). Default today.")] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Why stays are needs_review: counts by reason, and the work that settles each (counts only, audited).

    Only identity questions are in `review list`; a stay whose departure date is unknown (a later arrival
    shows the traveller left, but not when) waits for an exit record, and one without an admitted-until date
    for a correction.
    """
    from stayledger.usecases.review import count_held_stays

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    if not as_of:
        console.print(f"as of {day} (today; pass --as-of to choose)")
    ctx = access_context(actor)
    with ledger(db) as store:
        held = count_held_stays(store, ctx, day)
    print_held({reason.value: n for reason, n in held.by_reason.items()}, held.open_questions)


@review_app.command("show")
def review_show(
    event_a: Annotated[str, typer.Argument()],
    event_b: Annotated[str, typer.Argument()],
    purpose: PurposeOption = None,
    case_ref: CaseRefOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Both records side by side, every decision so far, and the model's explanation (purpose required; audited)."""
    from stayledger.usecases.review import show_review

    ctx = access_context(actor, purpose, case_ref)
    with ledger(db) as store:
        view = show_review(store, ctx, event_a, event_b)
    print_pair(view)


def _decide(event_a: str, event_b: str, accept: bool, actor: str | None, note: str | None, db: str | None) -> None:
    from stayledger.usecases.review import decide

    ctx = access_context(actor)
    with ledger(db) as store, err_console.status("recording the decision and re-linking…"):
        item = decide(store, ctx, event_a, event_b, accept=accept, note=note)
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
    """The two events are the same person: every later run must link them (a later decision replaces this one)."""
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
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Enforce retention limits: 3 years after the last exit, 5 years after the stay's end when no exit is known.

    Without --apply nothing is erased: it counts the persons and events due. With --apply the records (and the
    identities, quarantine entries and review items derived from them) are erased and the erasure is logged by
    count and reason only. Quarantine entries are kept 365 days, and go earlier with the records of a person whose
    event ids or document numbers they carry. Erasure erases: the name frequencies in the linkage model are
    rebuilt without the erased persons, and the ledger file is rewritten so that no erased value remains in it.
    """
    from stayledger.usecases.retention import enforce_retention

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    if as_of is None:
        err_console.print(f"retention judged as of today, {day} (--as-of to choose)")
    ctx = access_context(actor)
    with ledger(db) as store, err_console.status("erasing and rewriting the ledger…" if apply else "checking retention…"):
        report = enforce_retention(store, ctx, day, apply=apply)
    if apply:
        console.print(f"erased {report.erased:,} events of {report.persons_due:,} persons whose retention ended before {day}, "
                      f"and {report.quarantine_due:,} quarantine entries; the ledger file was rewritten without them")
    else:
        console.print(f"{report.events_due:,} events of {report.persons_due:,} persons and {report.quarantine_due:,} "
                      f"quarantine entries are past retention as of {day}; run again with --apply to erase them")


@calc_app.command("schengen")
def calc_schengen(
    on: Annotated[str, typer.Option("--on", help="The day to check (YYYY-MM-DD): e.g. a planned entry or today.")],
    stays: Annotated[Optional[list[str]], typer.Option("--stay", help="A stay as START/END (YYYY-MM-DD/YYYY-MM-DD), entry and exit days included. Repeat for each stay; none for a first trip.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print days_used, overstay_days, latest_exit, max_stay_days as JSON.")] = False,
) -> None:
    """Schengen short stay: 90 days in any 180-day period.

    Counts the days of presence in the 180 days ending on --on, the overstay, and the last day one may stay if
    present continuously from --on. Example: `stayledger calc schengen --stay 2014-08-15/2014-09-30 --stay
    2014-11-01/2014-11-30 --on 2014-11-30` (may stay until 2014-12-13).
    """
    from stayledger.rules.schengen import render_text, schengen_calc, to_json_dict

    parsed: list[tuple[date, date]] = []
    for text in stays or []:
        start_text, sep, end_text = text.partition("/")
        if not sep:
            raise fail(f"--stay {text!r}: expected START/END, e.g. 2024-01-10/2024-02-03", EXIT_USAGE)
        start, end = parse_day(start_text, f"--stay {text}"), parse_day(end_text, f"--stay {text}")
        if end < start:
            raise fail(f"--stay {text!r}: the end {end} is before the start {start}", EXIT_USAGE)
        parsed.append((start, end))
    try:
        result = schengen_calc(parsed, parse_day(on, "--on"))
    except OverflowError:  # a 180-day window or a 90-day horizon beyond year 1..9999
        raise fail(f"--on {on}: too close to the ends of the calendar (years 1 and 9999) to count a 180-day period",
                   EXIT_USAGE) from None
    if as_json:
        typer.echo(json.dumps(to_json_dict(result)))
    else:
        typer.echo(render_text(result))


def main() -> None:  # pragma: no cover - console entry point
    app()
