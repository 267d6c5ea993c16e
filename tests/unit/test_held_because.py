"""Issue 14 item 21: a needs_review stay says why it is held, so that a person knows which work settles it."""

from __future__ import annotations

from datetime import date

from stayledger.domain.stays import HeldBecause, Status
from stayledger.rules import schengen
from stayledger.usecases.stays import hold_for_dispute
from tests.unit.test_rules_us import arrival, departure, only, stays


def test_a_later_arrival_after_the_admitted_stay_holds_it_for_an_unknown_departure() -> None:
    first, second = stays(arrival("A1", "2024-01-05", "2024-07-04"), arrival("A2", "2024-10-01", "2025-01-01"),
                          as_of="2024-12-01")
    assert (first.status, first.held_because) == (Status.NEEDS_REVIEW, HeldBecause.DEPARTURE_UNKNOWN)
    assert second.held_because is None


def test_an_arrival_without_admitted_until_is_held_for_want_of_an_authorised_stay() -> None:
    result = only(arrival("A1", "2024-01-05"), departure("D1", "2024-02-01"))
    assert (result.status, result.held_because) == (Status.NEEDS_REVIEW, HeldBecause.NO_AUTHORISED_STAY)


def test_an_unreviewed_link_holds_it_for_the_review_queue() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-03-01"), departure("D1", "2024-02-01"),
                  uncertain_event_ids=frozenset({"D1"}))
    assert (result.status, result.held_because) == (Status.NEEDS_REVIEW, HeldBecause.IDENTITY_LINK)


def test_a_disputed_overstay_is_held_for_the_case() -> None:
    overstay = only(arrival("A1", "2024-01-05", "2024-03-01"))
    assert overstay.status is Status.OVERSTAY and overstay.held_because is None
    held = hold_for_dispute(overstay, frozenset({"A1"}))
    assert (held.status, held.held_because) == (Status.NEEDS_REVIEW, HeldBecause.DISPUTED)


def test_schengen_long_stays_past_their_end_are_left_to_national_rules() -> None:
    long_stay = arrival("A1", "2024-01-05", "2024-06-30", cls="D")
    short_then_back = [arrival("S1", "2024-01-05", cls="C"), arrival("S2", "2024-09-01", cls="C")]
    [held_long] = schengen.determine_person_stays("P1", [long_stay], date(2024, 12, 1))
    first, _ = schengen.determine_person_stays("P1", short_then_back, date(2024, 12, 1))
    assert held_long.held_because is HeldBecause.NATIONAL_RULES
    assert first.status is Status.NEEDS_REVIEW and first.held_because is HeldBecause.DEPARTURE_UNKNOWN
