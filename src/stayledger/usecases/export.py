"""Use cases: the stable exports other tools and evaluations read."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import TextIO

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.stays import StayDetermination
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation
from stayledger.usecases.resolve import ensure_resolved
from stayledger.usecases.stays import map_stays

IDENTITY_HEADER = ("event_id", "person_id")
STAYS_HEADER = (
    "arrival_event_id",
    "person_id",
    "status",
    "authorized_until",
    "overstay_days",
    "admission_class",
    "departure_event_id",
    "closed_by",
    "held_because",
    "pending",
    "rule_pack",
    "rule_version",
    "evidence",
)


def _open(out: Path) -> TextIO:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.open("w", encoding="utf-8", newline="")


def export_events(store: EventStore, ctx: AccessContext, out: Path) -> int:
    """The ledger as canonical JSON Lines, in append order; ingesting it into an empty store gives the same ledger.

    An admin's backup tool: every name and document number leaves the ledger, so it needs a purpose and is
    audited with the count.
    """
    with operation(store, ctx, Action.EXPORT_EVENTS) as op:
        count = 0
        with _open(out) as handle:
            for event in table_to_events(store.events_table()):
                handle.write(json.dumps(event.to_record(), ensure_ascii=False))
                handle.write("\n")
                count += 1
        op.note(count=count)
        return count


def export_identities(store: EventStore, ctx: AccessContext, out: Path) -> int:
    """``event_id,person_id``, one row per ingested event (in append order); unresolved events are resolved first."""
    with operation(store, ctx, Action.EXPORT_IDENTITIES) as op:
        op.note(resolved_first=ensure_resolved(store))
        count = _write_identities(store, out)
        op.note(count=count)
        return count


def _write_identities(store: EventStore, out: Path) -> int:
    assignments = store.identity_assignments()
    count = 0
    with _open(out) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(IDENTITY_HEADER)
        for event_id in store.events_table().column("event_id").to_pylist():
            assignment = assignments.get(event_id)
            writer.writerow((event_id, assignment.person_id if assignment else ""))
            count += 1
    return count


def export_stays(store: EventStore, ctx: AccessContext, as_of: date, out: Path, *, pack: str = "us") -> int:
    """One row per arrival on or before ``as_of``, with status and evidence; unresolved events are resolved first."""
    with operation(store, ctx, Action.EXPORT_STAYS, as_of=as_of.isoformat()) as op:
        op.note(resolved_first=ensure_resolved(store))
        count = _write_stays(store, as_of, out, pack)
        op.note(count=count)
        return count


def _write_stays(store: EventStore, as_of: date, out: Path, pack: str) -> int:
    count = 0
    with _open(out) as handle:
        csv.writer(handle, lineterminator="\n").writerow(STAYS_HEADER)
        for rows, written in map_stays(store, as_of, stays_csv_rows, pack=pack):
            handle.write(rows)
            count += written
    return count


def stays_csv_rows(stays: list[StayDetermination]) -> tuple[str, int]:
    """The stays as rows of the stays CSV (``STAYS_HEADER``), and how many (made in a worker process: text is
    cheap to send back)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        (
            stay.arrival_event_id,
            stay.person_id,
            stay.status,  # a StrEnum: written as its value
            stay.authorized_until.isoformat() if stay.authorized_until else "",
            stay.overstay_days,
            stay.admission_class,
            stay.departure_event_id or "",
            stay.closed_by,
            stay.held_because or "",
            "true" if stay.pending else "false",
            stay.rule_pack,
            stay.rule_version,
            stay.evidence_summary(),
        )
        for stay in stays
    )
    return buffer.getvalue(), len(stays)
