"""An overstay with an unreviewed possible departure is held for review — in the export and in the person view."""

from datetime import date

from stayledger.domain.events import parse_event
from stayledger.storage.base import ReviewItem, make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.lookup import look_up_person
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.stays import determine_stays
from tests.access import ADMIN

ARRIVAL = {"event_id": "A", "kind": "arrival", "occurred_on": "2024-03-11", "source": "border", "surname": "MISHRA",
           "date_of_birth": "2004-12-07", "nationality": "IND", "document_number": "H8151480", "admission_class": "B2",
           "admitted_until": "2024-09-10"}
DEPARTURE = {"event_id": "D", "kind": "departure", "occurred_on": "2024-04-22", "source": "carrier", "surname": "MISHRA",
             "date_of_birth": "2004-12-07", "nationality": "CZE", "document_number": "90740464"}


def ledger(review_status: str | None) -> MemoryStore:
    store = MemoryStore()
    events = [parse_event(ARRIVAL), parse_event(DEPARTURE)]
    store.append_events(make_batch(events, ["t", "t"], ["1", "2"], ["a", "d"]), [])
    resolve_identities(store, ADMIN)
    if review_status is not None:
        store.add_review_items([ReviewItem("A", "D", 0.89)])
        if review_status != "open":
            store.decide_review("A", "D", review_status, "officer-7", None)
    return store


def statuses(store: MemoryStore) -> tuple[str, str]:
    (exported,) = [s for s in determine_stays(store, date(2025, 1, 1)) if s.arrival_event_id == "A"]
    person = store.identity_assignments()["A"].person_id
    (viewed,) = look_up_person(store, ADMIN, person, date(2025, 1, 1)).stays
    return exported.status.value, viewed.status.value


def test_without_a_candidate_the_stay_is_an_overstay():
    assert statuses(ledger(None)) == ("overstay", "overstay")


def test_an_open_review_item_holds_the_overstay_for_review_everywhere():
    assert statuses(ledger("open")) == ("needs_review", "needs_review")


def test_a_rejected_candidate_no_longer_holds_it():
    assert statuses(ledger("rejected")) == ("overstay", "overstay")


def test_a_question_about_another_person_holds_the_overstay_through_any_of_their_departures():
    # The queue asks about the pair (A, A2); the other person's departure D is what could end A's stay.
    store = MemoryStore()
    second_arrival = {**DEPARTURE, "event_id": "A2", "kind": "arrival", "occurred_on": "2023-01-05", "source": "border",
                      "admission_class": "B2", "admitted_until": "2023-03-01"}
    events = [parse_event(ARRIVAL), parse_event(DEPARTURE), parse_event(second_arrival)]
    store.append_events(make_batch(events, ["t"] * 3, ["1", "2", "3"], ["a", "d", "a2"]), [])
    resolve_identities(store, ADMIN)
    assert store.identity_assignments()["A"].person_id != store.identity_assignments()["A2"].person_id
    store.add_review_items([ReviewItem("A", "A2", 0.7)])
    (stay,) = [s for s in determine_stays(store, date(2025, 1, 1)) if s.arrival_event_id == "A"]
    assert stay.status.value == "needs_review"
    assert "D" in stay.uncertain_links


def test_the_review_queue_puts_first_the_item_that_holds_a_stay_back():
    from stayledger.usecases.review import review_queue

    store = ledger("open")  # A / D (0.89) holds A's overstay in needs_review
    strangers = [{**ARRIVAL, "event_id": f"S{n}", "surname": name, "document_number": f"X{n}", "nationality": "FRA",
                  "date_of_birth": "1970-01-0" + str(n), "admitted_until": "2030-01-01"}
                 for n, name in ((1, "DUPONT"), (2, "DUPOND"))]
    store.append_events(make_batch([parse_event(s) for s in strangers], ["t", "t"], ["3", "4"], ["s1", "s2"]), [])
    resolve_identities(store, ADMIN)
    store.add_review_items([ReviewItem("S1", "S2", 0.95)])  # stronger, but both stays are in status: holds nothing
    queue = review_queue(store, ADMIN, date(2025, 1, 1))
    assert [(q.item.event_id_l, q.item.event_id_r, q.held_stays) for q in queue] == [("A", "D", 1), ("S1", "S2", 0)]
    store.decide_review("A", "D", "rejected", "officer-7", None)
    assert [(q.item.event_id_l, q.held_stays) for q in review_queue(store, ADMIN, date(2025, 1, 1))] == [("S1", 0)]
