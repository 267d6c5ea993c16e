"""Issue 14 item 9: absurd dates are refused at ingest, and date arithmetic on an older ledger never crashes."""

from datetime import date

import pytest

from stayledger.domain.events import parse_event
from stayledger.errors import InvalidRecord
from stayledger.storage.base import make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.retention import enforce_retention
from tests.access import ADMIN

ARRIVAL = {"event_id": "A", "kind": "arrival", "occurred_on": "2019-01-10", "admission_class": "WT",
           "admitted_until": "2019-04-09", "source": "border", "surname": "DOE", "date_of_birth": "1980-01-02",
           "nationality": "GBR", "document_number": "X1"}


@pytest.mark.parametrize("field,value", [("admitted_until", "9999-12-31"), ("occurred_on", "0001-01-01"),
                                         ("admitted_until", "2200-01-01")])
def test_dates_outside_the_accepted_range_are_refused_with_the_range(field, value):
    with pytest.raises(InvalidRecord) as caught:
        parse_event({**ARRIVAL, field: value})
    assert f"{field}: {value} is outside the accepted range 1900-01-01 to 2199-12-31" in str(caught.value)


def test_retention_survives_a_far_future_date_already_in_a_ledger():
    event = parse_event(ARRIVAL)._replace(admitted_until=date(9999, 12, 31))
    store = MemoryStore()
    store.append_events(make_batch([event], ["t"], ["l"], ["r"]), [])
    resolve_identities(store, ADMIN)
    report = enforce_retention(store, ADMIN, date(2026, 1, 1), apply=False)
    assert report.events_due == 0
