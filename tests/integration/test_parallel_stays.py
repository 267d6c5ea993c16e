"""Stays determined in worker processes, a table of persons each, come out exactly as determined in process."""

from __future__ import annotations

import os
from datetime import date

import pytest

from stayledger.domain.events import parse_event
from stayledger.domain.stays import StayDetermination
from stayledger.storage.base import CorrectionCase, ReviewItem, make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.export import stays_csv_rows
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.stays import determine_stays, map_stays
from tests.access import ADMIN
from tests.stays_ledgers import DISPUTED_ARRIVAL, HELD_ARRIVAL, HELD_DEPARTURE

AS_OF = date(2025, 1, 1)


def rows_and_process(stays: list[StayDetermination]) -> tuple[str, int, int]:
    rows, count = stays_csv_rows(stays)
    return rows, count, os.getpid()


@pytest.fixture
def store() -> MemoryStore:
    memory = MemoryStore()
    others = [{**HELD_ARRIVAL, "event_id": f"OTHER-{i}", "surname": f"TRAVELLER{chr(65 + i)}", "document_number": f"X{i}7731"}
              for i in range(6)]
    raws = [HELD_ARRIVAL, HELD_DEPARTURE, DISPUTED_ARRIVAL, *others]
    memory.append_events(make_batch([parse_event(r) for r in raws], ["t"] * len(raws), [str(i) for i in range(len(raws))],
                                    ["raw"] * len(raws)), [])
    resolve_identities(memory, ADMIN)
    memory.add_review_items([ReviewItem("HELD-A", "HELD-D", 0.71)])  # a hold that needs the review context
    memory.open_case(CorrectionCase("C1", "DISP-A", "admitted_until", "2024-12-31", "a year", "h"))
    return memory


def test_stays_from_worker_processes_equal_the_stays_determined_in_process(store: MemoryStore) -> None:
    expected_rows, expected_count = stays_csv_rows(list(determine_stays(store, AS_OF)))
    parts = list(map_stays(store, AS_OF, rows_and_process, workers=2, rows_per_table=1))
    assert len(parts) > 2 and {pid for *_, pid in parts} - {os.getpid()}  # a table each, in worker processes
    assert "".join(rows for rows, *_ in parts) == expected_rows
    assert sum(count for _, count, _ in parts) == expected_count >= 8
    held = {line.split(",")[8] for line in expected_rows.splitlines()}
    assert {"identity_link", "disputed"} <= held  # the review context reached the workers


def test_one_worker_determines_in_process(store: MemoryStore) -> None:
    parts = list(map_stays(store, AS_OF, rows_and_process, workers=1, rows_per_table=1))
    assert {pid for *_, pid in parts} == {os.getpid()}
    assert "".join(rows for rows, *_ in parts) == stays_csv_rows(list(determine_stays(store, AS_OF)))[0]
