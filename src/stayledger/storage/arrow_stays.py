"""Stay determinations as Arrow tables: the one flat form the Spark job writes, the ledger's stays snapshot stores
and the equivalence test compares.

Flat on purpose: every column maps to one SQL column in every backend (DuckDB, PostgreSQL) and to Parquet as is.
The nested parts of a determination (its steps, evidence and unreviewed links) are canonical JSON text, and
``table_to_stays`` gives back exactly the ``StayDetermination`` that was written (floats round-trip through JSON).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Iterable, Mapping

import pyarrow as pa

from stayledger.domain.stays import ClosedBy, EvidenceEvent, HeldBecause, Status, StayDetermination

STAYS_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("arrival_event_id", pa.string(), nullable=False),
        pa.field("arrived_on", pa.date32(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("authorized_until", pa.date32()),
        pa.field("overstay_days", pa.int32(), nullable=False),
        pa.field("admission_class", pa.string(), nullable=False),
        pa.field("closing_event_id", pa.string()),
        pa.field("closed_by", pa.string(), nullable=False),
        pa.field("held_because", pa.string()),
        pa.field("pending", pa.bool_(), nullable=False),
        pa.field("rule_pack", pa.string(), nullable=False),
        pa.field("rule_version", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),  # JSON: [[event_id, kind, source, occurred_on, p], …]
        pa.field("uncertain_links", pa.string(), nullable=False),  # JSON: [event_id, …]
        pa.field("steps", pa.string(), nullable=False),  # JSON: ["step in words", …]
    ]
)
# The order of a snapshot: by person, then by arrival (the order in which the rule packs give a person's stays).
STAYS_ORDER = (("person_id", "ascending"), ("arrived_on", "ascending"), ("arrival_event_id", "ascending"))


# One encoder for every value: json.dumps with options builds a new encoder per call (a third of the time here).
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def stays_to_table(stays: Iterable[StayDetermination], arrived_on: Mapping[str, date]) -> pa.Table:
    """Determinations as rows of STAYS_SCHEMA; ``arrived_on``: each arrival event's date, by event id."""
    columns: dict[str, list[Any]] = {name: [] for name in STAYS_SCHEMA.names}
    for s in stays:
        columns["person_id"].append(s.person_id)
        columns["arrival_event_id"].append(s.arrival_event_id)
        columns["arrived_on"].append(arrived_on[s.arrival_event_id])
        columns["status"].append(s.status.value)
        columns["authorized_until"].append(s.authorized_until)
        columns["overstay_days"].append(s.overstay_days)
        columns["admission_class"].append(s.admission_class)
        columns["closing_event_id"].append(s.closing_event_id)
        columns["closed_by"].append(s.closed_by.value)
        columns["held_because"].append(s.held_because.value if s.held_because else None)
        columns["pending"].append(s.pending)
        columns["rule_pack"].append(s.rule_pack)
        columns["rule_version"].append(s.rule_version)
        columns["evidence"].append(_json([[e.event_id, e.kind, e.source, e.occurred_on.isoformat(), e.link_probability]
                                          for e in s.evidence]))
        columns["uncertain_links"].append(_json(list(s.uncertain_links)))
        columns["steps"].append(_json(list(s.steps)))
    return pa.Table.from_pydict(columns, schema=STAYS_SCHEMA)


def table_to_stays(table: pa.Table) -> list[StayDetermination]:
    """Determinations back from rows of STAYS_SCHEMA, in the table's order."""
    rows = table.select(STAYS_SCHEMA.names).to_pylist()
    return [
        StayDetermination(
            arrival_event_id=r["arrival_event_id"],
            person_id=r["person_id"],
            status=Status(r["status"]),
            authorized_until=r["authorized_until"],
            overstay_days=r["overstay_days"],
            admission_class=r["admission_class"],
            closing_event_id=r["closing_event_id"],
            closed_by=ClosedBy(r["closed_by"]),
            pending=r["pending"],
            rule_pack=r["rule_pack"],
            rule_version=r["rule_version"],
            steps=tuple(json.loads(r["steps"])),
            evidence=tuple(EvidenceEvent(e[0], e[1], e[2], date.fromisoformat(e[3]), e[4]) for e in json.loads(r["evidence"])),
            uncertain_links=tuple(json.loads(r["uncertain_links"])),
            held_because=HeldBecause(r["held_because"]) if r["held_because"] else None,
        )
        for r in rows
    ]


def in_snapshot_order(table: pa.Table) -> pa.Table:
    return table.sort_by(list(STAYS_ORDER))
