"""Events as Arrow tables: the columnar form shared by storage backends, linkage and exports."""

from __future__ import annotations

from typing import Iterable, Sequence

import pyarrow as pa

from stayledger.domain.events import DATE_FIELDS, FIELDS, Event

EVENT_SCHEMA = pa.schema(
    [
        pa.field(
            name,
            pa.date32()
            if name in DATE_FIELDS
            else pa.bool_()
            if name == "duration_of_status"
            else pa.string(),
            nullable=name not in ("event_id", "kind", "occurred_on", "source", "surname", "date_of_birth", "nationality", "duration_of_status"),
        )
        for name in FIELDS
    ]
)


def events_to_table(events: Sequence[Event]) -> pa.Table:
    """Columnar copy of events, in EVENT_SCHEMA."""
    columns = {name: [getattr(e, name) for e in events] for name in FIELDS}
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA)


def table_to_events(table: pa.Table) -> Iterable[Event]:
    """Events back from a table in EVENT_SCHEMA (or any table with those columns)."""
    for row in table.select(list(FIELDS)).to_pylist():
        if row["duration_of_status"] is None:
            row["duration_of_status"] = False
        yield Event(**row)
