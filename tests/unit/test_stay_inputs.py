"""The stay inputs (each person's events with their marks, and the possible departures the review queue names) are
enough to determine every stay exactly as ``determine_stays`` does: what the Spark job relies on, without Spark."""

from datetime import date

import pytest

from stayledger.domain.events import parse_event
from stayledger.domain.stays import HeldBecause
from stayledger.storage.arrow_stays import table_to_stays
from stayledger.storage.base import CorrectionCase, ReviewItem, make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.stays import determine_from_inputs, determine_stays, determine_stays_table, stay_inputs
from tests.access import ADMIN
from tests.stays_ledgers import DISPUTED_ARRIVAL, HELD_ARRIVAL, HELD_DEPARTURE

AS_OF = date(2025, 1, 1)
SECOND_DEPARTURE = {**HELD_DEPARTURE, "event_id": "HELD-D2", "occurred_on": "2024-05-02"}
OWN_DEPARTURE = {**HELD_DEPARTURE, "event_id": "HELD-D0", "occurred_on": "2023-01-02"}


@pytest.fixture
def store() -> MemoryStore:
    memory = MemoryStore()
    raws = [HELD_ARRIVAL, HELD_DEPARTURE, SECOND_DEPARTURE, OWN_DEPARTURE, DISPUTED_ARRIVAL]
    memory.append_events(make_batch([parse_event(r) for r in raws], ["t"] * 5, list("12345"), list("abcde")), [])
    resolve_identities(memory, ADMIN)
    memory.add_review_items([ReviewItem("HELD-A", "HELD-D", 0.71)])
    memory.open_case(CorrectionCase("C1", "DISP-A", "admitted_until", "2024-12-31", "a year", "h"))
    return memory


def test_stays_from_the_inputs_equal_the_stays_determined_in_process(store):
    expected = list(determine_stays(store, AS_OF))
    assert {s.held_because for s in expected} >= {HeldBecause.IDENTITY_LINK, HeldBecause.DISPUTED}
    (held,) = [s for s in expected if s.arrival_event_id == "HELD-A"]
    assert len(held.steps) >= 2 and "HELD-D2" in held.uncertain_links  # every departure of the other person
    assert table_to_stays(determine_from_inputs(stay_inputs(store), AS_OF)) == expected
    assert determine_from_inputs(stay_inputs(store), AS_OF).equals(determine_stays_table(store, AS_OF))


def test_the_rows_may_come_in_any_order(store):
    inputs = stay_inputs(store)
    shuffled = inputs.take(list(reversed(range(inputs.num_rows))))
    assert table_to_stays(determine_from_inputs(shuffled, AS_OF)) == list(determine_stays(store, AS_OF))


@pytest.mark.parametrize("rows_per_batch", [1, 2, 3, 100])
def test_sorted_batches_are_determined_a_whole_person_at_a_time_wherever_the_batches_split(store, rows_per_batch):
    import pyarrow as pa

    from stayledger.spark.stays_job import determine_sorted_batches  # imports without pyspark

    inputs = stay_inputs(store).sort_by("person_id")
    batches = inputs.to_batches(max_chunksize=rows_per_batch)
    stays = pa.Table.from_batches(list(determine_sorted_batches(iter(batches), AS_OF, "us")))
    assert table_to_stays(stays) == list(determine_stays(store, AS_OF))
