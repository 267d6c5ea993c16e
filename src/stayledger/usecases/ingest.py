"""Use case: ingest files into the ledger. Valid records are appended; invalid ones are quarantined.

Work is done in chunks, each appended in one transaction together with its audit entry (origin, chunk number
and counts): an interruption keeps the chunks already committed, and re-running the same command completes the
rest (committed records come back as duplicates). Large JSON Lines files are validated by worker processes while
the main process appends.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import pyarrow as pa

from stayledger.domain.access import AccessContext, AccessDenied, Action
from stayledger.domain.events import Event, parse_event
from stayledger.errors import InvalidRecord, ParseError
from stayledger.formats.canonical import RawRecord, detect_format, jsonl_records, read_records, refuse_utf16
from stayledger.storage.base import AppendOutcome, EventIdsKnown, EventStore, QuarantineEntry, make_batch
from stayledger.usecases.accountability import Operation, operation
from stayledger.usecases.policy import authorize
from stayledger.worker_processes import worker_pool

if TYPE_CHECKING:
    from datetime import date

    from stayledger.audit.log import AuditRecord

    from stayledger.usecases.resolve import LiveLinker

    from stayledger.formats.airports import AirportTable
    from stayledger.formats.mapping import TabularMapping

DEFAULT_CHUNK = 50_000
PARALLEL_MIN_BYTES = 32 * 1024 * 1024  # below this, starting worker processes costs more than it saves
PARALLEL_CHUNK_BYTES = 8 * 1024 * 1024
IN_FLIGHT_PER_WORKER = 3
EXAMPLE_LIMIT = 5


@dataclass
class IngestReport:
    """What happened to one input."""

    origin: str
    records: int = 0
    added: int = 0
    duplicates: int = 0
    quarantined: int = 0  # records refused in this run (invalid or conflicting), whether new to quarantine or not
    notes: list[str] = field(default_factory=list)
    first_problems: list[str] = field(default_factory=list)  # a few examples, for the user
    chunks: int = 0  # chunks committed: the counts above are theirs, so after an error they say what was kept

    @property
    def clean(self) -> bool:
        return self.quarantined == 0

    def kept(self) -> str:
        """What an interrupted or failed ingest of this input left in the ledger, in words."""
        if self.chunks == 0:
            return "nothing from this file was ingested"
        return (f"the first {self.records:,} records of this file were committed ({self.added:,} added, "
                f"{self.duplicates:,} already present, {self.quarantined:,} quarantined); "
                "run the same command again to complete it (what was committed comes back as already present)")

    def note_problem(self, text: str) -> None:
        if len(self.first_problems) < EXAMPLE_LIMIT:
            self.first_problems.append(text)


@dataclass
class ValidatedChunk:
    """A chunk of records split into an append batch and refusals."""

    records: int
    batch: pa.Table
    refused: list[QuarantineEntry]
    problems: list[str]


def validate_records(origin: str, records: Iterable[RawRecord]) -> ValidatedChunk:
    """Parse every record into an event or a quarantine entry naming the location and the reasons."""
    return _validated(origin, records)[0]


def _validated(origin: str, records: Iterable[RawRecord]) -> tuple[ValidatedChunk, list[Event]]:
    """``validate_records``, and the valid events as parsed (the service links them: no reading them back)."""
    return _validated_parts([(origin, records)])[0]


def _validated_parts(parts: list[tuple[str, Iterable[RawRecord]]]) -> list[tuple[ValidatedChunk, list[Event]]]:
    """``_validated`` of each (origin, records), with one append batch made for all of them and cut per part: a
    posted group is many batches of an event or two, and Arrow's cost per call, not per row, is most of each."""
    parsed = [_Parsed.of(origin, records) for origin, records in parts]
    origins = [origin for (origin, _), p in zip(parts, parsed) for _ in p.events]
    batch = make_batch([e for p in parsed for e in p.events], origins, [loc for p in parsed for loc in p.locations],
                       [raw for p in parsed for raw in p.raws])
    validated, start = [], 0
    for p in parsed:
        validated.append((ValidatedChunk(p.count, batch.slice(start, len(p.events)), p.refused, p.problems), p.events))
        start += len(p.events)
    return validated


@dataclass
class _Parsed:
    """Records parsed into events (with where each came from) and refusals."""

    events: list[Event]
    locations: list[str]
    raws: list[str]
    refused: list[QuarantineEntry]
    problems: list[str]
    count: int

    @classmethod
    def of(cls, origin: str, records: Iterable[RawRecord]) -> "_Parsed":
        events: list[Event] = []
        locations: list[str] = []
        raws: list[str] = []
        refused: list[QuarantineEntry] = []
        problems: list[str] = []
        count = 0
        for record in records:
            count += 1
            if record.fields is None:
                reason = record.problem or "unreadable record"
                refused.append(QuarantineEntry(origin, record.location, record.raw, reason, None))
                if len(problems) < EXAMPLE_LIMIT:
                    problems.append(f"{record.location}: {reason}")
                continue
            try:
                event = parse_event(record.fields)
            except InvalidRecord as exc:
                event_id = record.fields.get("event_id")
                event_id = event_id if isinstance(event_id, str) and event_id else None
                reasons = "; ".join(str(e) for e in exc.errors)
                refused.append(QuarantineEntry(origin, record.location, record.raw, reasons, event_id))
                if len(problems) < EXAMPLE_LIMIT:
                    who = f" (event {event_id})" if event_id else ""
                    problems.append(f"{record.location}{who}: {reasons}")
                continue
            events.append(event)
            locations.append(record.location)
            raws.append(record.raw)
        return cls(events, locations, raws, refused, problems, count)


def _chunks(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    chunk: list[RawRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _append(op: Operation, report: IngestReport, chunk: ValidatedChunk) -> None:
    """Append one chunk and its audit entry in one transaction, and count it in the report."""
    with _interrupt_after():
        try:
            outcome = _commit_chunk(op, report, chunk, op.store.append_events_optimistically)
        except EventIdsKnown:  # ids already stored (a re-run): rolled back; the careful path sorts them out
            outcome = _commit_chunk(op, report, chunk, op.store.append_events)
        report.chunks += 1
        report.records += chunk.records
        report.added += outcome.added
        report.duplicates += outcome.duplicates
        report.quarantined += len(chunk.refused) + len(outcome.conflicts)
    for problem in chunk.problems:
        report.note_problem(problem)
    for conflict in outcome.conflicts:
        report.note_problem(f"{conflict.location}: {conflict.reasons}")


def _commit_chunk(
    op: Operation, report: IngestReport, chunk: ValidatedChunk,
    append: Callable[[pa.Table, list[QuarantineEntry]], AppendOutcome],
) -> AppendOutcome:
    with op.store.unit_of_work():
        outcome = append(chunk.batch, chunk.refused)
        op.log_part(origin=report.origin, chunk=op.parts_logged + 1, records=chunk.records, added=outcome.added,
                    duplicates=outcome.duplicates, quarantined=len(chunk.refused) + len(outcome.conflicts))
    return outcome


@contextmanager
def _interrupt_after() -> Iterator[None]:
    """Ctrl-C while a chunk is written takes effect once it is committed and counted, so the report says exactly
    what was kept (an interrupted COMMIT could not tell). Only the main thread gets signals: elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def _finish(report: IngestReport) -> IngestReport:
    if report.records == 0:
        report.notes.append("no records found (the input is empty)")
    return report


def ingest_records(
    store: EventStore, ctx: AccessContext, origin: str, records: Iterable[RawRecord], *, chunk_size: int = DEFAULT_CHUNK
) -> IngestReport:
    """Validate records and append them chunk by chunk, each chunk one transaction."""
    with operation(store, ctx, Action.INGEST_EVENTS, atomic=False, origin=origin) as op:
        return _ingest_chunks(op, origin, records, chunk_size)


def _ingest_chunks(
    op: Operation, origin: str, records: Iterable[RawRecord], chunk_size: int, report: IngestReport | None = None
) -> IngestReport:
    report = report if report is not None else IngestReport(origin)
    for chunk in _chunks(records, chunk_size):
        _append(op, report, validate_records(origin, chunk))
    return _finish(report)


def _byte_ranges(path: Path, chunk_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, end) offsets that cut the file at line ends."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = 0
        while start < size:
            handle.seek(min(start + chunk_bytes, size))
            handle.readline()
            end = min(handle.tell(), size)
            yield start, end
            start = end


def _validate_jsonl_range(origin: str, path: str, start: int, end: int, first_line: int) -> ValidatedChunk:
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    return validate_records(origin, jsonl_records(data.splitlines(keepends=True), first_line))


def _ingest_jsonl_parallel(
    op: Operation, path: Path, report: IngestReport, *, workers: int, progress: Callable[[int], None] | None = None
) -> IngestReport:
    """Validate byte ranges of a JSON Lines file in worker processes; append in file order here.

    At most ``IN_FLIGHT_PER_WORKER`` ranges per worker wait validated or in validation: when appending is the
    slower side, validated chunks would otherwise pile up in memory (gigabytes at ten million events)."""
    ranges = list(_byte_ranges(path, PARALLEL_CHUNK_BYTES))
    pending: deque[tuple[int, Future[ValidatedChunk]]] = deque()
    with worker_pool(workers) as pool, path.open("rb") as handle:
        line = 1

        def submit(start: int, end: int) -> None:
            nonlocal line
            pending.append((end, pool.submit(_validate_jsonl_range, path.name, str(path), start, end, line)))
            handle.seek(start)
            line += handle.read(end - start).count(b"\n")

        waiting = iter(ranges)
        try:
            for start, end in itertools.islice(waiting, workers * IN_FLIGHT_PER_WORKER):
                submit(start, end)
            while pending:
                end, future = pending.popleft()
                chunk = future.result()
                following = next(waiting, None)
                if following is not None:  # keep the workers busy while this chunk appends
                    submit(*following)
                _append(op, report, chunk)
                if progress is not None:
                    progress(end)
        except BaseException:
            for _, future in pending:
                future.cancel()
            raise
    return _finish(report)


def ingest_file(
    store: EventStore,
    ctx: AccessContext,
    path: Path,
    fmt: str = "auto",
    *,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Ingest one canonical file (JSON Lines, CSV or Parquet).

    ``report``: filled in as chunks commit (and returned), so that after an error or Ctrl-C the caller can say
    what was kept.
    """
    chosen = detect_format(path) if fmt == "auto" else fmt
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    report = report if report is not None else IngestReport(path.name)
    with operation(store, ctx, Action.INGEST_EVENTS, atomic=False, origin=path.name) as op:
        if chosen in ("jsonl", "csv"):
            refuse_utf16(path)  # before the parallel path, which does not go through read_records
        if chosen == "jsonl" and workers > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES and not _is_json_array(path):
            return _ingest_jsonl_parallel(op, path, report, workers=workers, progress=progress)
        return _ingest_chunks(op, path.name, read_records(path, chosen, progress), chunk_size or DEFAULT_CHUNK, report)


def ingest_mapped(
    store: EventStore,
    ctx: AccessContext,
    path: Path,
    mapping: "TabularMapping",
    *,
    today: "date",
    progress: Callable[[int], None] | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """An agency export read through its mapping; columns the mapping does not name are ignored and listed.
    ``report`` as for ``ingest_file``."""
    from stayledger.formats.mapping import mapped_records, unmapped_columns

    with operation(store, ctx, Action.INGEST_EVENTS, atomic=False, origin=path.name) as op:
        ignored = unmapped_columns(path, mapping)
        records = mapped_records(path, mapping, today=today, progress=progress)
        report = _ingest_chunks(op, path.name, records, DEFAULT_CHUNK, report)
        if ignored:
            report.notes.append(f"columns not in {mapping.name}, ignored: {', '.join(ignored)}")
        return report


def _is_json_array(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(1024).lstrip().startswith(b"[")


def read_text_file(path: Path) -> tuple[str, str | None]:
    """The file's text; EDIFACT feeds in UNOC/Latin-1 that are not UTF-8 are read as Latin-1, with a note."""
    return decode_interchange(path.read_bytes())


def decode_interchange(data: bytes) -> tuple[str, str | None]:
    """UTF-8, else ISO 8859-1 (EDIFACT syntax level UNOC) with a note saying so.

    A UTF-8 file with a few invalid bytes is not Latin-1: read so, each of its UTF-8 names would turn into
    mojibake without a word. It is read as UTF-8 with each invalid byte as U+FFFD, which the manifest's warnings
    name per traveller."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    if any(char > "\x7f" and char != "\ufffd" for char in text):  # real UTF-8 sequences beside the bad bytes
        bad = text.count("\ufffd")
        return text, f"the file is UTF-8 with {bad} invalid byte(s), each read as U+FFFD (named in the warnings)"
    return data.decode("latin-1"), "the file is not UTF-8; read as ISO 8859-1 (EDIFACT syntax level UNOC)"


def ingest_paxlst(
    store: EventStore, ctx: AccessContext, path: Path, country: str, airports: "AirportTable | None" = None
) -> IngestReport:
    """Turn each traveller on a flight leaving ``country`` into a departure event (an exit record).

    An inbound manifest carries no admission (class, admitted-until), so it becomes no arrival: it is
    reported and nothing is ingested from it. Travellers who cannot become a record are quarantined.
    ``airports``: the airport table to use (default the bundled one).
    """
    with operation(store, ctx, Action.INGEST_EVENTS, atomic=False, origin=path.name) as op:
        return _ingest_manifest(op, path, country, airports)


def _ingest_manifest(op: Operation, path: Path, country: str, airports: "AirportTable | None") -> IngestReport:
    from stayledger.formats.paxlst import UnknownAirport

    text, encoding_note = read_text_file(path)
    try:
        records, notes, manifests = _manifest_records(text, country, airports)
    except ParseError as exc:
        # A refused manifest is kept like any refused record: raw text and reason, in the quarantine.
        _ingest_chunks(op, path.name, [RawRecord("whole file", text, None, f"manifest refused: {exc}")], DEFAULT_CHUNK)
        hint = " (add it with --airports FILE.csv, columns iata,country)" if isinstance(exc, UnknownAirport) else ""
        raise ParseError(f"{exc.reason}{hint} (the manifest is kept in the quarantine)", exc.line, exc.column) from None
    report = _ingest_chunks(op, path.name, records, DEFAULT_CHUNK)
    if report.records == 0 and manifests:
        report.notes.clear()  # not empty: the warnings below say why nothing became a departure
    report.notes.extend(notes)  # inbound or domestic manifests, count mismatches, junk after UNZ
    if encoding_note:
        report.notes.append(encoding_note)
    return report


def _manifest_records(
    text: str, country: str, airports: "AirportTable | None" = None
) -> tuple[list[RawRecord], list[str], int]:
    """Travellers of a PAXLST interchange as records (refused ones with their reasons), the warnings, the manifests."""
    from stayledger.domain.countries import normalise_country
    from stayledger.errors import ConfigurationError
    from stayledger.formats.paxlst import paxlst_to_records

    receiving = normalise_country(country)
    if receiving is None:
        raise ConfigurationError(f"--country {country!r} is not an ISO 3166-1 alpha-3 code (e.g. USA)")
    try:
        converted = paxlst_to_records(text, receiving, airports)
    except ValueError as exc:  # an unknown receiving country
        raise ConfigurationError(str(exc)) from None
    records: list[RawRecord] = []
    for number, record in enumerate(converted.records, start=1):
        records.append(RawRecord(f"traveller {number}", json.dumps(record, ensure_ascii=False), dict(record)))
    for rejected in converted.rejected:
        location = f"line {rejected.line} (message {rejected.manifest_reference})"
        records.append(RawRecord(location, rejected.raw, None, rejected.reason))
    return records, list(converted.warnings), len(converted.manifests)


@dataclass
class RecordedEvents:
    """What a posted batch did: counts, refusals by position, and each accepted event's person and stays."""

    accepted: int
    duplicates: int
    quarantined: list[tuple[str, str | None, str]]  # (where in the input: "item 3", "traveller 2"; event id; reasons)
    persons: dict[str, str]  # event id -> person id
    stays: dict[str, list]  # person id -> StayDetermination list, as of the day given
    notes: list[str] = field(default_factory=list)


def record_events(
    store: EventStore, ctx: AccessContext, origin: str, records: list[object], *, as_of: "date",
    live: "LiveLinker | None" = None, pack: str = "us",
) -> RecordedEvents:
    """Append a batch from a port or carrier system, link each new event and re-determine its person's stays.

    One unit of work: the events, their quarantine entries, the links and the audit entry commit together, so a
    caller that gets an answer can rely on it; a caller that gets an error may simply send the batch again.
    ``live``: the service's linker kept between requests (rebuilt here when the ledger changed under it).
    """
    with operation(store, ctx, Action.INGEST_EVENTS, origin=origin, records=len(records)) as op:
        return _record(store, [(op, _raw_records(records))], as_of, live, pack)[0]


@dataclass(frozen=True)
class PostedEvents:
    """One caller's posted batch, waiting to be recorded together with other callers' (the service's group commit)."""

    ctx: AccessContext
    origin: str
    records: list[object]


def record_posted_together(
    store: EventStore, posted: list[PostedEvents], *, as_of: "date", live: "LiveLinker | None" = None, pack: str = "us",
) -> list[RecordedEvents | AccessDenied]:
    """Several callers' batches in one unit of work: one append, one linking pass, one read per step.

    Each caller is authorised and audited as its own operation (a refusal is logged and returned in its place).
    All or nothing: on an error every batch is rolled back, nothing of them is audited, and the error is raised;
    the caller must then record each batch on its own with ``record_events``, which audits its own outcome.
    """
    results: list[RecordedEvents | AccessDenied | None] = [None] * len(posted)
    ops: dict[int, Operation] = {}
    refusals: list[AuditRecord] = []
    for i, batch in enumerate(posted):
        op = Operation(store, batch.ctx, Action.INGEST_EVENTS, {"origin": batch.origin, "records": len(batch.records)})
        try:
            authorize(batch.ctx, Action.INGEST_EVENTS)
        except AccessDenied as exc:
            refusals.append(op.record(f"refused: {exc}"))
            results[i] = exc
        else:
            ops[i] = op
    results_of: dict[int, RecordedEvents] = {}
    with store.unit_of_work():  # the audit after the events: every worker takes its locks in one order
        if ops:
            recorded = _record(store, [(ops[i], _raw_records(posted[i].records)) for i in ops], as_of, live, pack)
            results_of = dict(zip(ops, recorded))
        store.append_audit([*refusals, *(op.record(op.outcome) for op in ops.values())])
    for i, result in results_of.items():
        results[i] = result
    return [r for r in results if r is not None]


def _raw_records(records: list[object]) -> list[RawRecord]:
    return [RawRecord(f"item {i}", json.dumps(r, ensure_ascii=False, default=str), r if isinstance(r, dict) else None,
                      None if isinstance(r, dict) else "expected a JSON object")
            for i, r in enumerate(records)]


def record_manifest(
    store: EventStore, ctx: AccessContext, origin: str, text: str, country: str, *, as_of: "date",
    live: "LiveLinker | None" = None, pack: str = "us",
) -> RecordedEvents:
    """A PAXLST interchange from a carrier: each traveller leaving ``country`` becomes a departure, linked at once."""
    with operation(store, ctx, Action.INGEST_EVENTS, origin=origin, format="paxlst") as op:
        raws, notes, _ = _manifest_records(text, country)
        result = _record(store, [(op, raws)], as_of, live, pack)[0]
        result.notes.extend(notes)
        return result


def _record(
    store: EventStore, parts: list[tuple[Operation, list[RawRecord]]], as_of: "date", live: "LiveLinker | None", pack: str
) -> list[RecordedEvents]:
    """Validate, append and link each part's records, then determine the stays of every person they touch."""
    from stayledger.usecases.lookup import persons_stays
    from stayledger.usecases.resolve import ensure_resolved

    validated = _validated_parts([(str(op.objects["origin"]), raws) for op, raws in parts])
    chunks = [chunk for chunk, _ in validated]
    valid = [event for _, events in validated for event in events]  # in batch order (each chunk's batch is these)
    # Scoring against the resolved events is done before the lock; under it, only what was linked meanwhile.
    prepared = live.prepare(valid) if live is not None else None
    store.lock_identities()  # another worker linking now would not see these events, nor we its: one at a time
    use_live = live is not None and live.valid_for(store)
    if live is not None and not use_live:
        ensure_resolved(store)  # the ledger changed under the linker: resolve what is new, then rebuild
        use_live = live.rebuild(store)  # False when there is no trained model yet
    try:
        outcomes = _append_parts(store, chunks)
        refused = [[(q.location, q.event_id, q.reasons) for q in [*chunk.refused, *outcome.conflicts]]
                   for chunk, outcome in zip(chunks, outcomes)]
        conflicting = {q[1] for part in refused for q in part if q[1] is not None}
        accepted_ids = [[e for e in chunk.batch.column("event_id").to_pylist() if e not in conflicting] for chunk in chunks]
        if use_live and live is not None:
            accepted = [e for e in valid if e.event_id not in conflicting]
            assignments = live.link(store, accepted, sum(outcome.added for outcome in outcomes),
                                    all_new=not any(outcome.duplicates for outcome in outcomes), prepared=prepared)
            linked = [outcome.added for outcome in outcomes]
        else:
            linked = [ensure_resolved(store), *[0] * (len(parts) - 1)]
            assignments = store.assignments_for(e for ids in accepted_ids for e in ids)
    except BaseException:
        if live is not None:
            live.invalidate()  # the unit of work rolls back: the linker's memory would no longer match
        raise
    persons = [{e: assignments[e].person_id for e in ids if e in assignments} for ids in accepted_ids]
    stays_of = persons_stays(store, sorted({p for part in persons for p in part.values()}), as_of, pack)
    results = []
    for (op, _), outcome, part_refused, part_persons, part_linked in zip(parts, outcomes, refused, persons, linked):
        stays = {p: stays_of[p] for p in sorted(set(part_persons.values()))}
        op.note(added=outcome.added, duplicates=outcome.duplicates, quarantined=len(part_refused), linked=part_linked,
                person_ids=sorted(stays))
        results.append(RecordedEvents(outcome.added, outcome.duplicates, part_refused, part_persons, stays))
    return results


def _append_parts(store: EventStore, chunks: list[ValidatedChunk]) -> list[AppendOutcome]:
    """Append each chunk; in one statement when every id of them all is new and given once (the usual case)."""
    batches = [chunk.batch for chunk in chunks]
    if len(chunks) > 1:
        combined = pa.concat_tables(batches)
        if store.append_new_events(combined, [q for chunk in chunks for q in chunk.refused]) is not None:
            return [AppendOutcome(added=batch.num_rows) for batch in batches]
    return [store.append_events(chunk.batch, chunk.refused) for chunk in chunks]
