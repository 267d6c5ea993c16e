"""Schengen 90/180 calculator and rule pack: the published examples, the wording, and its invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.domain.events import Event
from stayledger.domain.stays import Status
from stayledger.errors import InvalidRecord
from stayledger.rules.schengen import (
    counts_under_short_stay_rule,
    determine_person_stays,
    render_text,
    schengen_calc,
    to_json_dict,
)

d = date.fromisoformat
FAST = settings(max_examples=200, deadline=None)

# --- the published worked examples (Swiss migration office, for the Commission's calculator) -------


def test_published_example_1_days_used_and_ninety_more_days_from_re_entry() -> None:
    # "Stay 15.08.2014-30.09.2014; re-entry planned 01.01.2015 -> 47 days used; may stay 90 more days."
    # The re-entry day is not inside a listed stay, so it is not among the 47; the 47 old days leave
    # the period while the new stay goes on, so the full 90 days are available from 1 January.
    result = schengen_calc([(d("2014-08-15"), d("2014-09-30"))], d("2015-01-01"))
    assert (result.days_used, result.overstay_days) == (47, 0)
    assert (result.max_stay_days, result.latest_exit) == (90, d("2015-03-31"))


def test_published_example_2_could_have_remained_until_13_december() -> None:
    result = schengen_calc([(d("2014-08-15"), d("2014-09-30")), (d("2014-11-01"), d("2014-11-30"))], d("2014-11-30"))
    assert (result.days_used, result.overstay_days, result.latest_exit) == (77, 0, d("2014-12-13"))
    assert result.max_stay_days == 14


def test_published_example_3_stay_outside_the_period_does_not_count() -> None:
    stays = [(d("2013-06-01"), d("2013-07-13")), (d("2013-08-15"), d("2013-09-30")), (d("2014-01-01"), d("2014-01-30"))]
    result = schengen_calc(stays, d("2014-01-30"))
    assert (result.days_used, result.overstay_days, result.latest_exit) == (77, 0, d("2014-03-31"))


# --- rules and wording ----------------------------------------------------------------------------


def test_entry_and_exit_days_both_count() -> None:
    assert schengen_calc([(d("2024-03-01"), d("2024-03-01"))], d("2024-03-10")).days_used == 1
    assert schengen_calc([(d("2024-03-01"), d("2024-03-02"))], d("2024-03-10")).days_used == 2


def test_the_period_is_the_check_day_and_the_179_days_before() -> None:
    on = d("2024-12-31")
    assert schengen_calc([(on - timedelta(days=179), on - timedelta(days=179))], on).days_used == 1
    assert schengen_calc([(on - timedelta(days=180), on - timedelta(days=180))], on).days_used == 0


def test_a_stay_after_the_check_day_is_not_counted() -> None:
    assert schengen_calc([(d("2024-06-01"), d("2024-06-10"))], d("2024-05-01")).days_used == 0


def test_more_than_90_days_is_an_overstay_with_no_further_stay_possible() -> None:
    result = schengen_calc([(d("2024-01-01"), d("2024-05-01"))], d("2024-05-01"))
    assert (result.days_used, result.overstay_days, result.latest_exit, result.max_stay_days) == (122, 32, None, 0)
    assert render_text(result) == (
        "Days of stay in the 180-day period from 2023-11-04 to 2024-05-01: 122 day(s)\n"
        "Possible overstay in the period from 2024-03-31 to 2024-05-01 (32 days)"
    )


def test_exactly_90_days_used_outside_a_stay_leaves_no_day_to_enter() -> None:
    result = schengen_calc([(d("2024-01-01"), d("2024-03-30"))], d("2024-03-31"))
    assert (result.days_used, result.overstay_days, result.latest_exit, result.max_stay_days) == (90, 0, None, 0)
    assert render_text(result).endswith("No stay possible on 2024-03-31: 90 day(s) already used")


def test_render_text_uses_the_calculator_wording() -> None:
    result = schengen_calc([(d("2014-08-15"), d("2014-09-30")), (d("2014-11-01"), d("2014-11-30"))], d("2014-11-30"))
    assert render_text(result) == (
        "Days of stay in the 180-day period from 2014-06-04 to 2014-11-30: 77 day(s)\n"
        "Possible stay until 2014-12-13 (14 day(s))"
    )


def test_json_has_exactly_the_published_keys() -> None:
    stays = [(d("2014-08-15"), d("2014-09-30"))]
    assert to_json_dict(schengen_calc(stays, d("2015-01-01"))) == {
        "days_used": 47, "overstay_days": 0, "latest_exit": "2015-03-31", "max_stay_days": 90,
    }
    over = to_json_dict(schengen_calc([(d("2024-01-01"), d("2024-05-01"))], d("2024-05-01")))
    assert over["latest_exit"] is None


def test_overlapping_stays_are_merged_not_double_counted() -> None:
    stays = [(d("2024-03-01"), d("2024-03-10")), (d("2024-03-05"), d("2024-03-20")), (d("2024-03-20"), d("2024-03-20"))]
    assert schengen_calc(stays, d("2024-04-01")).days_used == 20


def test_a_stay_ending_before_it_starts_is_refused_naming_the_stay() -> None:
    expected = r"stay 2 \(2024-03-10\.\.2024-03-01\): end: 2024-03-01 is before the start"
    with pytest.raises(InvalidRecord, match=expected):
        schengen_calc([(d("2024-01-01"), d("2024-01-02")), (d("2024-03-10"), d("2024-03-01"))], d("2024-04-01"))


def test_a_stay_that_is_not_a_pair_of_dates_is_refused() -> None:
    with pytest.raises(InvalidRecord, match="stay 1"):
        schengen_calc([("2024-01-01", "2024-01-02")], d("2024-04-01"))  # type: ignore[list-item]


@pytest.mark.parametrize(("cls", "counts"), [("C", True), ("VE", True), ("", True), ("D", False), ("D-VISA", False),
                                             ("RP", False), ("residence permit", False)])
def test_only_short_stays_count_towards_90_in_180(cls: str, counts: bool) -> None:
    assert counts_under_short_stay_rule(cls) is counts


# --- invariants -----------------------------------------------------------------------------------

BASE = date(2024, 1, 1)
stay_lists = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 120)), max_size=6).map(
    lambda pairs: [(BASE + timedelta(days=s), BASE + timedelta(days=s + n)) for s, n in pairs]
)
check_days = st.integers(0, 500).map(lambda n: BASE + timedelta(days=n))


def presence(stays: list[tuple[date, date]]) -> set[date]:
    return {s + timedelta(days=i) for s, e in stays for i in range((e - s).days + 1)}


def window_count(days: set[date], day: date) -> int:
    return sum(1 for i in range(180) if day - timedelta(days=i) in days)


@FAST
@given(stay_lists, check_days)
def test_days_used_and_overstay_match_a_day_by_day_count(stays: list[tuple[date, date]], on: date) -> None:
    result = schengen_calc(stays, on)
    assert result.days_used == window_count(presence(stays), on) <= 180
    assert result.overstay_days == max(0, result.days_used - 90)


@FAST
@given(stay_lists, check_days)
def test_latest_exit_is_the_last_day_of_continuous_presence_within_90_in_180(
    stays: list[tuple[date, date]], on: date
) -> None:
    result = schengen_calc(stays, on)
    known = {day for day in presence(stays) if day < on}
    counting_on = result.days_used + (0 if on in presence(stays) else 1)
    assert (result.latest_exit is None) == (counting_on > 90)
    if result.latest_exit is None:
        assert result.max_stay_days == 0
        return
    assert result.max_stay_days == (result.latest_exit - on).days + 1
    staying = known | {on + timedelta(days=i) for i in range(result.max_stay_days + 1)}
    assert all(window_count(staying, on + timedelta(days=i)) <= 90 for i in range(result.max_stay_days))
    assert window_count(staying, result.latest_exit + timedelta(days=1)) > 90


@FAST
@given(stay_lists, check_days, st.integers(0, 5), st.integers(1, 60))
def test_lengthening_a_stay_never_decreases_days_used(
    stays: list[tuple[date, date]], on: date, which: int, longer: int
) -> None:
    if not stays:
        return
    index = which % len(stays)
    start, end = stays[index]
    lengthened = [*stays[:index], (start, end + timedelta(days=longer)), *stays[index + 1:]]
    assert schengen_calc(lengthened, on).days_used >= schengen_calc(stays, on).days_used


# --- the Schengen rule pack -----------------------------------------------------------------------

_PERSON = {"source": "ees", "surname": "DOE", "date_of_birth": "1990-01-01", "nationality": "USA"}


def event(event_id: str, kind: str, on: str, cls: str | None = None, until: str | None = None) -> Event:
    extra = {"document_number": "X1", "admission_class": cls, "admitted_until": d(until) if until else None} \
        if kind == "arrival" else {}
    return Event(event_id=event_id, kind=kind, occurred_on=d(on), **_PERSON, **extra)  # type: ignore[arg-type]


def test_pack_flags_a_short_stay_exit_beyond_90_days_as_departed_late() -> None:
    first, second = determine_person_stays("P", [
        event("A1", "arrival", "2014-08-15", "C"), event("D1", "departure", "2014-09-30"),
        event("A2", "arrival", "2014-11-01", "C"), event("D2", "departure", "2014-12-20"),
    ], d("2015-01-01"))
    assert (first.status, first.overstay_days) == (Status.DEPARTED, 0)
    assert (second.status, second.authorized_until, second.overstay_days) == (Status.DEPARTED_LATE, d("2014-12-13"), 7)


def test_pack_ongoing_short_stay_within_90_days_is_in_status_and_beyond_is_overstay() -> None:
    events = [event("A1", "arrival", "2024-01-01", "VE")]
    assert determine_person_stays("P", events, d("2024-03-30"))[0].status is Status.IN_STATUS
    late = determine_person_stays("P", events, d("2024-04-09"))[0]
    assert (late.status, late.overstay_days) == (Status.OVERSTAY, 10)


def test_pack_does_not_count_a_long_stay_visa_towards_90_in_180() -> None:
    events = [
        event("A1", "arrival", "2024-01-01", "D", until="2024-12-31"), event("D1", "departure", "2024-06-01"),
        event("A2", "arrival", "2024-06-10", "C"),
    ]
    long_stay, short_stay = determine_person_stays("P", events, d("2024-07-01"))
    assert (long_stay.status, short_stay.status, short_stay.overstay_days) == (Status.DEPARTED, Status.IN_STATUS, 0)


def test_pack_sends_a_stay_resting_on_an_unreviewed_link_to_review() -> None:
    events = [event("A1", "arrival", "2024-01-01", "C"), event("D1", "departure", "2024-05-01")]
    result = determine_person_stays("P", events, d("2024-07-01"), uncertain_event_ids=frozenset({"D1"}))[0]
    assert (result.status, result.overstay_days, result.uncertain_links) == (Status.NEEDS_REVIEW, 0, ("D1",))
