"""A posted group's records are validated into one append batch cut per caller: each caller's part must be what
validating its records alone gives (the same rows, provenance, refusals and counts)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.formats.canonical import RawRecord
from stayledger.storage.arrow_events import EVENT_SCHEMA, events_to_table
from stayledger.storage.base import BATCH_PROVENANCE, BATCH_SCHEMA, make_batch
from stayledger.usecases.ingest import _validated, _validated_parts


def _arrival(n: int) -> dict:
    return {"event_id": f"E{n}", "kind": "arrival", "occurred_on": "2026-03-01", "source": "carrier",
            "surname": f"NAME{n}", "given_names": "ANA", "date_of_birth": "1990-04-02", "nationality": "FRA",
            "document_type": "P", "document_number": f"X{n:07d}", "port": "JFK", "mode": "air",
            "admission_class": "WT", "admitted_until": "2026-05-30"}


def _raw(i: int, record: object) -> RawRecord:
    text = json.dumps(record)
    if not isinstance(record, dict):
        return RawRecord(f"item {i}", text, None, "expected a JSON object")
    return RawRecord(f"item {i}", text, record, None)


# A part's records: valid arrivals, records with a wrong field (refused by validation), non-objects.
_records = st.lists(
    st.one_of(
        st.integers(0, 10**6).map(_arrival),
        st.integers(0, 10**6).map(lambda n: {**_arrival(n), "occurred_on": "2026-02-30"}),
        st.just([1, 2]),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["api", "api-manifest"]), _records), min_size=1, max_size=6))
def test_each_callers_part_of_the_group_batch_is_what_its_records_give_alone(parts):
    raws = [(origin, [_raw(i, r) for i, r in enumerate(records)]) for origin, records in parts]
    together = _validated_parts(raws)
    assert len(together) == len(parts)
    for (origin, records), (chunk, events) in zip(raws, together):
        alone, alone_events = _validated(origin, records)
        assert events == alone_events
        assert chunk.records == alone.records
        assert chunk.refused == alone.refused and chunk.problems == alone.problems
        assert chunk.batch.schema == alone.batch.schema == BATCH_SCHEMA
        assert chunk.batch.to_pylist() == alone.batch.to_pylist()


def test_an_append_batch_is_the_events_columns_then_their_provenance():
    from stayledger.domain.events import parse_event

    events = [parse_event(_arrival(1)), parse_event({**_arrival(2), "given_names": None})]
    batch = make_batch(events, ["api", "api"], ["item 0", "item 1"], ["{}", "{ }"])
    assert batch.schema.names == [*EVENT_SCHEMA.names, *BATCH_PROVENANCE]
    assert batch.select(EVENT_SCHEMA.names).equals(events_to_table(events))
    assert batch.column("location").to_pylist() == ["item 0", "item 1"]
    assert make_batch([], [], [], []).schema == BATCH_SCHEMA
