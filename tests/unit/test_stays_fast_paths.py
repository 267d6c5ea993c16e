"""The shortcuts that make determining stays at scale cheaper give what the plain code gave: the JSON of the stays
snapshot, events decoded from Arrow, and the holds' checks skipped for persons with nothing unsettled."""

from __future__ import annotations

import json
import math
from datetime import date

import pyarrow as pa
import pytest

from stayledger.domain.events import Event
from stayledger.domain.stays import HeldBecause, Status
from stayledger.rules import get_pack
from stayledger.rules.determination import UnsettledLinks, determine_person
from stayledger.storage.arrow_events import EVENT_SCHEMA, events_to_table, table_to_events
from stayledger.storage.arrow_stays import _json
from tests.unit.test_rules_us import arrival, change, departure

AS_OF = date(2025, 1, 1)


@pytest.mark.parametrize("value", [
    [],
    (),
    ("arrival A1 on 2024-01-05 admitted B2 until 2024-03-01", "no departure in window; as_of 2025-01-01 > 2024-03-01 → overstay 306 days"),
    ['a "quoted" \\ back\\slash', "tab\tnew\nline\r\x00\x1f", "ÆØÅ 中文 emoji 🛂", "\u2028\u2029"],
    [["E1", "arrival", "border", "2024-01-05", None], ["E2", "departure", "carrier", "2024-02-01", 0.97]],
    [0.1, 1e-7, 123456789.125, 1e300, -0.0, 2, True, False, None, math.inf, -math.inf],
])
def test_the_snapshot_json_is_json_dumps_compact_and_unescaped(value: list[object] | tuple[object, ...]) -> None:
    assert _json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_the_snapshot_json_writes_nan_as_json_dumps_does() -> None:
    assert _json([math.nan]) == json.dumps([math.nan], ensure_ascii=False, separators=(",", ":")) == "[NaN]"


def test_events_come_back_from_arrow_with_missing_dates_and_flags() -> None:
    events = [
        arrival("A1", "2024-01-05", "2024-03-01"),
        arrival("A2", "2024-06-01", ds=True),  # no admitted_until
        change("C1", "2024-06-02", "extension_granted", new_until="2024-12-31"),
        departure("D1", "2024-01-05"),  # the same day as A1: one decoded day shared
    ]
    table = events_to_table(events)
    assert list(table_to_events(table)) == events
    nulls = table.set_column(table.schema.get_field_index("duration_of_status"), "duration_of_status",
                             pa.array([None, True, None, None], pa.bool_()))
    assert [e.duration_of_status for e in table_to_events(nulls)] == [False, True, False, False]
    untyped = table.set_column(table.schema.get_field_index("duration_of_status"), "duration_of_status", pa.nulls(4))
    assert [e.duration_of_status for e in table_to_events(untyped)] == [False] * 4
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])  # dates decoded across chunks
    assert list(table_to_events(chunked)) == events
    without = table.drop_columns(["admitted_until", "duration_of_status"])
    assert [(e.admitted_until, e.duration_of_status) for e in table_to_events(without)] == [(None, False)] * 4
    assert list(table_to_events(EVENT_SCHEMA.empty_table())) == []


def test_holds_apply_to_the_persons_whose_events_are_unsettled_and_to_no_one_else() -> None:
    """The ledger-wide sets of unreviewed and disputed events name other persons' events too; a person with none of
    theirs keeps the plain determination, one with theirs is held."""
    rules = get_pack("us")
    unreviewed = [arrival("U-A", "2024-01-05", "2024-03-01"), departure("U-D", "2024-02-01")]
    disputed = [arrival("X-A", "2024-01-05", "2024-03-01")]  # an overstay, disputed
    plain = [arrival("P-A", "2024-01-05", "2024-03-01")]  # an overstay, nothing unsettled
    unsettled = UnsettledLinks(within_person=frozenset({"U-D", "ELSEWHERE-1"}), exits_elsewhere={},
                               disputed=frozenset({"X-A", "ELSEWHERE-2"}))
    by_id = {e.event_id: e for e in [*unreviewed, *disputed, *plain]}

    def held(person: str, events: list[Event]) -> tuple[Status, HeldBecause | None]:
        [stay] = determine_person(rules, person, events, AS_OF, probabilities={}, unsettled=unsettled, events_by_id=by_id)
        return stay.status, stay.held_because

    assert held("U", unreviewed) == (Status.NEEDS_REVIEW, HeldBecause.IDENTITY_LINK)
    assert held("X", disputed) == (Status.NEEDS_REVIEW, HeldBecause.DISPUTED)
    assert held("P", plain) == (Status.OVERSTAY, None)
