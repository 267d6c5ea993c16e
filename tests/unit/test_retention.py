"""Retention: three years after the last exit, five years after the stay's end without an exit."""

from datetime import date

from stayledger.domain.events import parse_event
from stayledger.storage.base import make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.retention import enforce_retention
from tests.access import ADMIN

PERSON = {"source": "border", "surname": "DOE", "date_of_birth": "1980-01-02", "nationality": "GBR", "document_number": "X1"}


def store_with(*raws):
    events = [parse_event({**PERSON, **r}) for r in raws]
    store = MemoryStore()
    store.append_events(make_batch(events, ["t"] * len(events), ["l"] * len(events), ["r"] * len(events)), [])
    resolve_identities(store, ADMIN)
    return store


ARRIVAL = {"event_id": "A", "kind": "arrival", "occurred_on": "2019-01-10", "admission_class": "WT", "admitted_until": "2019-04-09"}
EXIT = {"event_id": "D", "kind": "departure", "occurred_on": "2019-03-01", "source": "carrier"}


def test_records_are_kept_three_years_after_the_last_exit():
    store = store_with(ARRIVAL, EXIT)
    assert enforce_retention(store, ADMIN, date(2022, 3, 1), apply=True).erased == 0
    report = enforce_retention(store, ADMIN, date(2022, 3, 2), apply=True)
    assert (report.persons_due, report.erased) == (1, 2) and store.event_count() == 0


def test_without_an_exit_records_are_kept_five_years_after_the_stay_ended():
    store = store_with(ARRIVAL)
    assert enforce_retention(store, ADMIN, date(2024, 4, 9), apply=True).erased == 0
    assert enforce_retention(store, ADMIN, date(2024, 4, 10), apply=True).erased == 1


def test_a_dry_run_counts_but_erases_nothing():
    store = store_with(ARRIVAL, EXIT)
    report = enforce_retention(store, ADMIN, date(2030, 1, 1), apply=False)
    assert report.events_due == 2 and report.erased == 0 and store.event_count() == 2


def test_a_later_trip_restarts_the_clock():
    later = {"event_id": "A2", "kind": "arrival", "occurred_on": "2023-06-01", "admission_class": "WT", "admitted_until": "2023-08-29"}
    store = store_with(ARRIVAL, EXIT, later)
    assert enforce_retention(store, ADMIN, date(2025, 1, 1), apply=True).erased == 0
