"""Events as Arrow tables: the columnar form shared by storage backends, linkage and exports."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

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
    if not events:
        return EVENT_SCHEMA.empty_table()
    return pa.Table.from_pydict(event_columns(events), schema=EVENT_SCHEMA)


def event_columns(events: Sequence[Event]) -> dict[str, tuple[Any, ...]]:
    """The events' values by field, in FIELDS order (non-empty ``events``)."""
    by_name = dict(zip(Event._fields, zip(*events)))  # events are tuples: one transpose gives the columns
    return {name: by_name[name] for name in FIELDS}


def table_to_events(table: pa.Table) -> Iterable[Event]:
    """Events back from a table in EVENT_SCHEMA (or any table with those columns)."""
    columns = [_values(table, name) for name in Event._fields]
    return map(Event._make, zip(*columns))


def _values(table: pa.Table, name: str) -> list[Any]:
    if name not in table.column_names:
        return [False if name == "duration_of_status" else None] * table.num_rows
    column = table.column(name)
    if name == "duration_of_status":
        return [False if value is None else value for value in column.to_pylist()]
    if pa.types.is_date(column.type):
        # Arrow makes a date object per row, slowly; a ledger's dates repeat, so decode each distinct day once.
        encoded = column.combine_chunks().dictionary_encode()
        days = encoded.dictionary.to_pylist()
        return [None if i is None else days[i] for i in encoded.indices.to_pylist()]
    return column.to_pylist()
