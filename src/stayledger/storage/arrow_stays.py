"""Stay determinations as Arrow tables: the one flat form the Spark job writes, the ledger's stays snapshot stores
and the equivalence test compares.

Flat on purpose: every column maps to one SQL column in every backend (DuckDB, PostgreSQL) and to Parquet as is.
The nested parts of a determination (its steps, evidence and unreviewed links) are canonical JSON text, and
``table_to_stays`` gives back exactly the ``StayDetermination`` that was written (floats round-trip through JSON).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Callable, Iterable, Mapping

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


def _list_encoder() -> Callable[[list[Any] | tuple[Any, ...]], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` of a list or tuple, built once.

    json.dumps with options builds a new encoder per call (a third of the time here), and even a kept
    ``JSONEncoder.encode`` builds its C encoder anew on each call: this builds that C encoder once (half the time
    again), with the arguments ``JSONEncoder.iterencode`` gives it. Without the C encoder (an internal of CPython's json): ``encode``."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    try:
        iterencode = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    except TypeError:  # no C encoder, or an interpreter whose internal signature differs
        return encoder.encode
    return lambda value: "".join(iterencode(value, 0))


_json = _list_encoder()


def stays_to_table(stays: Iterable[StayDetermination], arrived_on: Mapping[str, date]) -> pa.Table:
    """Determinations as rows of STAYS_SCHEMA; ``arrived_on``: each arrival event's date, by event id."""
    rows = [
        (
            s.person_id,
            s.arrival_event_id,
            arrived_on[s.arrival_event_id],
            s.status.value,
            s.authorized_until,
            s.overstay_days,
            s.admission_class,
            s.closing_event_id,
            s.closed_by.value,
            s.held_because.value if s.held_because else None,
            s.pending,
            s.rule_pack,
            s.rule_version,
            _json([[e.event_id, e.kind, e.source, e.occurred_on.isoformat(), e.link_probability] for e in s.evidence]),
            _json(s.uncertain_links) if s.uncertain_links else "[]",
            _json(s.steps),
        )
        for s in stays
    ]
    columns = zip(*rows) if rows else [()] * len(STAYS_SCHEMA)  # rows to columns in one pass
    return pa.Table.from_arrays([pa.array(values, f.type) for values, f in zip(columns, STAYS_SCHEMA)],
                                schema=STAYS_SCHEMA)


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
