"""Use case: ingest files into the ledger. Valid records are appended; invalid ones are quarantined."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from stayledger.domain.events import Event, parse_event
from stayledger.errors import InvalidRecord
from stayledger.formats.canonical import RawRecord, detect_format, read_records
from stayledger.storage.base import EventStore, QuarantineEntry, make_batch

DEFAULT_CHUNK = 50_000


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

    @property
    def clean(self) -> bool:
        return self.quarantined == 0


def _refusal(origin: str, record: RawRecord, reasons: str, event_id: str | None) -> QuarantineEntry:
    return QuarantineEntry(origin=origin, location=record.location, raw=record.raw, reasons=reasons, event_id=event_id)


def ingest_records(
    store: EventStore,
    origin: str,
    records: Iterable[RawRecord],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    example_limit: int = 5,
) -> IngestReport:
    """Validate records and append them in chunks, each chunk one transaction.

    Re-running after an interruption completes the work: committed chunks come back as duplicates.
    """
    report = IngestReport(origin)
    events: list[Event] = []
    origins: list[str] = []
    locations: list[str] = []
    raws: list[str] = []
    refused: list[QuarantineEntry] = []

    def note_problem(text: str) -> None:
        if len(report.first_problems) < example_limit:
            report.first_problems.append(text)

    def flush() -> None:
        outcome = store.append_events(make_batch(events, origins, locations, raws), refused)
        report.added += outcome.added
        report.duplicates += outcome.duplicates
        report.quarantined += len(refused) + len(outcome.conflicts)
        for conflict in outcome.conflicts:
            note_problem(f"{conflict.location}: {conflict.reasons}")
        for buffer in (events, origins, locations, raws, refused):
            buffer.clear()

    for record in records:
        report.records += 1
        if record.fields is None:
            reason = record.problem or "unreadable record"
            refused.append(_refusal(origin, record, reason, None))
            note_problem(f"{record.location}: {reason}")
        else:
            try:
                event = parse_event(record.fields)
            except InvalidRecord as exc:
                event_id = record.fields.get("event_id")
                event_id = event_id if isinstance(event_id, str) and event_id else None
                reasons = "; ".join(str(e) for e in exc.errors)
                refused.append(_refusal(origin, record, reasons, event_id))
                who = f" (event {event_id})" if event_id else ""
                note_problem(f"{record.location}{who}: {reasons}")
            else:
                events.append(event)
                origins.append(origin)
                locations.append(record.location)
                raws.append(record.raw)
        if len(events) + len(refused) >= chunk_size:
            flush()
    if events or refused:
        flush()
    if report.records == 0:
        report.notes.append("no records found (the input is empty)")
    return report


def ingest_file(
    store: EventStore,
    path: Path,
    fmt: str = "auto",
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest one canonical file (JSON Lines, CSV or Parquet)."""
    chosen = detect_format(path) if fmt == "auto" else fmt
    return ingest_records(store, path.name, read_records(path, chosen, progress), chunk_size=chunk_size)
