"""US-style stay rules: one example per rule clause, named as the rule it checks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from stayledger.domain.events import Event
from stayledger.domain.stays import ClosedBy, Status, StayDetermination
from stayledger.errors import ConfigurationError
from stayledger.rules import determine_all, get_pack, known_packs
from stayledger.rules.us import RULE_PACK, RULE_VERSION, determine_person_stays, grace_days

_PERSON = {"source": "cbp", "surname": "DOE", "date_of_birth": "1990-01-01", "nationality": "FRA"}


def d(text: str) -> date:
    return date.fromisoformat(text)


def arrival(event_id: str, on: str, until: str | None = None, cls: str = "B2", ds: bool = False) -> Event:
    return Event(
        event_id=event_id, kind="arrival", occurred_on=d(on), document_number="X1234567",
        admission_class=cls, admitted_until=d(until) if until else None, duration_of_status=ds, **_PERSON,
    )


def change(
    event_id: str, on: str, what: str, new_until: str | None = None, new_class: str | None = None,
    ref: str | None = None,
) -> Event:
    return Event(
        event_id=event_id, kind="status_change", occurred_on=d(on), change=what,
        new_until=d(new_until) if new_until else None, new_class=new_class, admission_ref=ref, **_PERSON,
    )


def departure(event_id: str, on: str) -> Event:
    return Event(event_id=event_id, kind="departure", occurred_on=d(on), **_PERSON)


def report(event_id: str, on: str) -> Event:
    return Event(event_id=event_id, kind="departure_report", occurred_on=d(on), **{**_PERSON, "source": "app"})


def stays(*events: Event, as_of: str = "2025-01-01", **options: Any) -> list[StayDetermination]:
    return determine_person_stays("P1", list(events), d(as_of), **options)


def only(*events: Event, as_of: str = "2025-01-01", **options: Any) -> StayDetermination:
    result = stays(*events, as_of=as_of, **options)
    assert len(result) == 1
    return result[0]


# --- plain stays -----------------------------------------------------------------------------------


def test_stay_before_admit_until_is_in_status() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), as_of="2024-03-01")
    assert (result.status, result.overstay_days, result.authorized_until) == (Status.IN_STATUS, 0, d("2024-07-04"))
    assert result.departure_event_id is None


def test_as_of_on_the_admit_until_day_is_still_in_status() -> None:
    assert only(arrival("A1", "2024-01-05", "2024-07-04"), as_of="2024-07-04").status is Status.IN_STATUS


def test_no_departure_after_admit_until_is_overstay_counted_from_admit_until() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), as_of="2025-01-01")
    assert (result.status, result.overstay_days) == (Status.OVERSTAY, 181)
    assert result.steps == (
        "arrival A1 on 2024-01-05 admitted B2 until 2024-07-04",
        "no departure in window; as_of 2025-01-01 > 2024-07-04 → overstay 181 days",
    )
    assert (result.rule_pack, result.rule_version, result.person_id) == (RULE_PACK, RULE_VERSION, "P1")


def test_departure_on_the_admit_until_day_is_departed() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-07-04"))
    assert (result.status, result.overstay_days, result.departure_event_id) == (Status.DEPARTED, 0, "D1")


def test_departure_after_admit_until_is_departed_late_with_days() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-07-14"))
    assert (result.status, result.overstay_days, result.departure_event_id) == (Status.DEPARTED_LATE, 10, "D1")


def test_first_departure_in_the_window_decides() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-03-01"), departure("D2", "2024-09-01")
    )
    assert (result.status, result.departure_event_id) == (Status.DEPARTED, "D1")


def test_departure_report_after_admit_until_counts_days_to_the_report() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), report("R1", "2024-07-24"))
    assert (result.status, result.overstay_days, result.departure_event_id) == (Status.DEPARTURE_REPORTED, 20, "R1")


def test_departure_report_before_admit_until_has_no_overstay_days() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), report("R1", "2024-05-01"))
    assert (result.status, result.overstay_days) == (Status.DEPARTURE_REPORTED, 0)


def test_recorded_departure_outranks_a_departure_report() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), report("R1", "2024-05-01"), departure("D1", "2024-08-01"))
    assert (result.status, result.overstay_days, result.departure_event_id) == (Status.DEPARTED_LATE, 28, "D1")


def test_later_arrival_before_admit_until_is_evidence_of_departure() -> None:
    first, second = stays(arrival("A1", "2024-01-05", "2024-07-04"), arrival("A2", "2024-06-01", "2024-09-01"),
                          as_of="2024-07-01")
    assert (first.status, first.closing_event_id, first.closed_by) == (Status.DEPARTED, "A2", ClosedBy.NEXT_ARRIVAL)
    assert first.departure_event_id is None  # the departure itself is unknown: never named as an arrival's id
    assert second.status is Status.IN_STATUS


def test_later_arrival_after_admit_until_needs_review_because_the_departure_date_is_unknown() -> None:
    first, _ = stays(arrival("A1", "2024-01-05", "2024-07-04"), arrival("A2", "2024-10-01", "2025-01-01"))
    assert (first.status, first.overstay_days, first.closing_event_id) == (Status.NEEDS_REVIEW, 0, "A2")
    assert (first.closed_by, first.departure_event_id) == (ClosedBy.NEXT_ARRIVAL, None)


def test_each_arrival_starts_a_stay_whose_window_runs_to_the_next_arrival() -> None:
    result = stays(
        arrival("A1", "2024-01-05", "2024-02-01"), departure("D1", "2024-02-10"),
        arrival("A2", "2024-03-01", "2024-04-01"), departure("D2", "2024-03-20"),
    )
    assert [(r.arrival_event_id, r.status, r.overstay_days) for r in result] == [
        ("A1", Status.DEPARTED_LATE, 9), ("A2", Status.DEPARTED, 0)
    ]


def test_events_after_as_of_do_not_count() -> None:
    result = stays(
        arrival("A1", "2024-01-05", "2024-02-01"), departure("D1", "2024-01-20"),
        arrival("A2", "2024-03-01", "2024-04-01"),
        as_of="2024-01-10",
    )
    assert [(r.arrival_event_id, r.status) for r in result] == [("A1", Status.IN_STATUS)]


def test_events_before_the_first_arrival_belong_to_no_stay() -> None:
    result = only(
        departure("D0", "2023-12-01"), change("C0", "2023-12-02", "extension_filed"),
        arrival("A1", "2024-01-05", "2024-07-04"),
    )
    assert result.status is Status.OVERSTAY
    assert [e.event_id for e in result.evidence] == ["A1"]


def test_a_person_without_arrivals_has_no_stays() -> None:
    assert stays(departure("D1", "2024-01-01")) == []


def test_same_day_arrival_and_departure_belong_to_the_same_stay() -> None:
    result = only(departure("D1", "2024-01-05"), arrival("A1", "2024-01-05", "2024-01-06"))
    assert (result.status, result.departure_event_id) == (Status.DEPARTED, "D1")


# --- duration of status --------------------------------------------------------------------------


def test_duration_of_status_is_open_ended_until_the_program_ends() -> None:
    result = only(arrival("A1", "2020-08-20", cls="F1", ds=True), as_of="2025-01-01")
    assert (result.status, result.authorized_until, result.overstay_days) == (Status.IN_STATUS, None, 0)


def test_duration_of_status_governs_even_when_an_admit_until_date_is_given() -> None:
    result = only(arrival("A1", "2020-08-20", "2021-01-01", cls="F1", ds=True), as_of="2025-01-01")
    assert (result.status, result.authorized_until) == (Status.IN_STATUS, None)


@pytest.mark.parametrize(
    ("cls", "grace"),
    [("F1", 60), ("F-1", 60), ("F", 60), ("J1", 30), ("J-1", 30), ("M1", 30), ("M-1", 30), ("H1B", 0), ("B2", 0)],
)
def test_program_end_plus_grace_by_class_letter_bounds_a_duration_of_status_stay(cls: str, grace: int) -> None:
    assert grace_days(cls) == grace
    events = (arrival("A1", "2023-08-20", cls=cls, ds=True), change("C1", "2024-05-15", "program_ended"))
    end = date(2024, 5, 15).toordinal() + grace
    last_day = only(*events, as_of=date.fromordinal(end).isoformat())
    day_after = only(*events, as_of=date.fromordinal(end + 1).isoformat())
    assert (last_day.status, last_day.authorized_until) == (Status.IN_STATUS, date.fromordinal(end))
    assert (day_after.status, day_after.overstay_days) == (Status.OVERSTAY, 1)


def test_departure_within_the_student_grace_period_is_departed() -> None:
    result = only(
        arrival("A1", "2023-08-20", cls="F-1", ds=True), change("C1", "2024-05-15", "program_ended"),
        departure("D1", "2024-07-10"),
    )
    assert (result.status, result.authorized_until) == (Status.DEPARTED, d("2024-07-14"))


def test_program_end_does_not_touch_a_dated_stay() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), change("C1", "2024-02-01", "program_ended"),
                  as_of="2024-06-01")
    assert (result.status, result.authorized_until) == (Status.IN_STATUS, d("2024-07-04"))


# --- extensions and changes of status ------------------------------------------------------------


def test_timely_extension_keeps_stay_pending_past_admit_until() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"))
    assert (result.status, result.pending, result.overstay_days) == (Status.PENDING, True, 0)
    assert "extension_filed E3 on 2024-06-30 is timely (authorised until 2024-07-04) → pending" in result.steps


def test_extension_filed_on_the_admit_until_day_is_timely() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-07-04", "extension_filed"))
    assert result.status is Status.PENDING


def test_late_extension_filing_does_not_prevent_an_overstay() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-07-05", "extension_filed"))
    assert (result.status, result.pending, result.overstay_days) == (Status.OVERSTAY, False, 181)


def test_pending_application_does_not_matter_before_admit_until() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-01", "extension_filed"),
                  as_of="2024-06-15")
    assert (result.status, result.pending) == (Status.IN_STATUS, True)


def test_granted_extension_moves_admit_until_and_ends_pending() -> None:
    events = (
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        change("E4", "2024-08-01", "extension_granted", new_until="2024-12-31"),
    )
    in_time = only(*events, as_of="2024-12-31")
    late = only(*events, as_of="2025-01-10")
    assert (in_time.status, in_time.pending, in_time.authorized_until) == (Status.IN_STATUS, False, d("2024-12-31"))
    assert (late.status, late.overstay_days) == (Status.OVERSTAY, 10)


def test_denied_extension_ends_pending_and_overstay_counts_from_the_denial_date() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        change("E4", "2024-09-01", "extension_denied"),
    )
    assert (result.status, result.pending, result.authorized_until) == (Status.OVERSTAY, False, d("2024-09-01"))
    assert result.overstay_days == (date(2025, 1, 1) - date(2024, 9, 1)).days


def test_denial_before_admit_until_leaves_admit_until_in_place() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-05-01", "extension_filed"),
        change("E4", "2024-06-01", "extension_denied"), as_of="2024-07-01",
    )
    assert (result.status, result.pending, result.authorized_until) == (Status.IN_STATUS, False, d("2024-07-04"))


def test_change_of_status_sets_the_new_class_and_admit_until() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("S1", "2024-06-01", "status_changed", "2027-06-01", "H1B"),
    )
    assert (result.status, result.admission_class, result.authorized_until) == (
        Status.IN_STATUS, "H1B", d("2027-06-01")
    )


def test_change_of_status_ends_duration_of_status() -> None:
    result = only(
        arrival("A1", "2020-08-20", cls="F1", ds=True),
        change("S1", "2023-06-01", "status_changed", "2024-06-01", "B2"),
        change("C2", "2024-05-01", "program_ended"),
    )
    assert (result.status, result.authorized_until, result.overstay_days) == (Status.OVERSTAY, d("2024-06-01"), 214)


def test_change_of_status_ends_a_pending_application() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        change("S1", "2024-08-01", "status_changed", "2024-10-01", "F1"),
    )
    assert (result.status, result.pending, result.overstay_days) == (Status.OVERSTAY, False, 92)


def test_adjustment_to_permanent_residence_closes_the_stay_as_adjusted() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("P1", "2024-06-01", "adjusted_to_permanent"),
        departure("D1", "2024-12-01"),
    )
    assert (result.status, result.overstay_days, result.departure_event_id) == (Status.ADJUSTED, 0, None)


def test_status_changes_after_the_first_departure_are_ignored() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-08-01"),
        change("E4", "2024-08-02", "extension_granted", new_until="2024-12-31"),
    )
    assert (result.status, result.overstay_days, result.authorized_until) == (Status.DEPARTED_LATE, 28, d("2024-07-04"))


def test_status_change_on_the_departure_day_applies_before_the_departure() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-08-01"),
        change("E4", "2024-08-01", "extension_granted", new_until="2024-12-31"),
    )
    assert result.status is Status.DEPARTED


def test_departure_after_admit_until_is_late_even_while_an_application_is_pending() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        departure("D1", "2024-08-01"),
    )
    assert (result.status, result.overstay_days, result.pending) == (Status.DEPARTED_LATE, 28, True)


def test_status_change_dated_on_the_next_arrival_day_applies_to_the_stay_it_references() -> None:
    events = (
        arrival("A1", "2024-01-05", "2024-07-04"), arrival("A2", "2024-06-01", "2024-06-20"),
        change("S1", "2024-06-01", "status_changed", "2024-12-31", "F1", ref="A1"),
    )
    first, second = stays(*events, as_of="2024-07-10")
    assert (first.admission_class, first.authorized_until) == ("F1", d("2024-12-31"))
    assert (second.status, second.admission_class, second.overstay_days) == (Status.OVERSTAY, "B2", 20)


def test_status_change_referencing_a_stay_whose_window_does_not_contain_it_applies_where_it_falls() -> None:
    events = (
        arrival("A1", "2024-01-05", "2024-02-04"), departure("D1", "2024-02-01"),
        arrival("A2", "2024-06-01", "2024-06-20"),
        change("S1", "2024-06-10", "status_changed", "2024-12-31", "F1", ref="A1"),
    )
    first, second = stays(*events, as_of="2024-07-10")
    assert (first.status, first.admission_class) == (Status.DEPARTED, "B2")
    assert (second.status, second.admission_class, second.authorized_until) == (
        Status.IN_STATUS, "F1", d("2024-12-31")
    )


# --- unreviewed grey-zone identity links ---------------------------------------------------------


def test_departure_joined_by_an_unreviewed_link_makes_the_stay_need_review() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-08-01"),
        uncertain_event_ids=frozenset({"D1"}), link_probabilities={"D1": 0.81},
    )
    assert (result.status, result.overstay_days, result.uncertain_links) == (Status.NEEDS_REVIEW, 0, ("D1",))
    assert any("D1" in step and "p=0.81" in step and "needs_review" in step for step in result.steps)
    assert [e.link_probability for e in result.evidence if e.event_id == "D1"] == [0.81]


def test_arrival_joined_by_an_unreviewed_link_makes_even_an_overstay_need_review() -> None:
    result = only(arrival("A1", "2024-01-05", "2024-07-04"), uncertain_event_ids=frozenset({"A1"}))
    assert (result.status, result.uncertain_links) == (Status.NEEDS_REVIEW, ("A1",))


def test_extension_joined_by_an_unreviewed_link_that_keeps_the_stay_in_status_needs_review() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"),
        change("E4", "2024-06-01", "extension_granted", new_until="2025-06-01"),
        uncertain_event_ids=frozenset({"E4"}),
    )
    assert (result.status, result.uncertain_links) == (Status.NEEDS_REVIEW, ("E4",))


def test_overstay_lacking_a_departure_stands_despite_an_unreviewed_extension_that_only_lengthened_it() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"),
        change("E4", "2024-06-01", "extension_granted", new_until="2024-08-01"),
        uncertain_event_ids=frozenset({"E4"}),
    )
    assert (result.status, result.overstay_days, result.uncertain_links) == (Status.OVERSTAY, 153, ())


def test_overstay_caused_by_an_unreviewed_change_that_shortened_the_stay_needs_review() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2025-07-04"), change("S1", "2024-06-01", "status_changed", "2024-08-01", "B1"),
        uncertain_event_ids=frozenset({"S1"}),
    )
    assert (result.status, result.uncertain_links) == (Status.NEEDS_REVIEW, ("S1",))


def test_pending_application_resting_on_a_reviewed_filing_stands_despite_an_unreviewed_one() -> None:
    events = (
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-20", "extension_filed"),
        change("E4", "2024-06-30", "extension_filed"),
    )
    one_doubted = only(*events, uncertain_event_ids=frozenset({"E3"}))
    both_doubted = only(*events, uncertain_event_ids=frozenset({"E3", "E4"}))
    assert (one_doubted.status, one_doubted.uncertain_links) == (Status.PENDING, ())
    assert (both_doubted.status, both_doubted.uncertain_links) == (Status.NEEDS_REVIEW, ("E3", "E4"))


def test_overstay_after_an_unreviewed_denial_ended_a_pending_application_needs_review() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        change("E4", "2024-06-30", "extension_denied"), uncertain_event_ids=frozenset({"E4"}),
    )
    assert (result.status, result.uncertain_links) == (Status.NEEDS_REVIEW, ("E4",))


def test_later_arrival_joined_by_an_unreviewed_link_makes_the_earlier_stay_need_review() -> None:
    first, second = stays(
        arrival("A1", "2024-01-05", "2024-07-04"), arrival("A2", "2024-06-01", "2024-09-01"),
        as_of="2024-07-01", uncertain_event_ids=frozenset({"A2"}),
    )
    assert (first.status, first.uncertain_links) == (Status.NEEDS_REVIEW, ("A2",))
    assert (second.status, second.uncertain_links) == (Status.NEEDS_REVIEW, ("A2",))


def test_unreviewed_link_on_an_event_the_determination_did_not_use_changes_nothing() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-03-01"), departure("D2", "2024-09-01"),
        uncertain_event_ids=frozenset({"D2"}),
    )
    assert (result.status, result.uncertain_links) == (Status.DEPARTED, ())


# --- evidence ------------------------------------------------------------------------------------


def test_evidence_names_the_events_used_and_the_summary_fits_one_line() -> None:
    result = only(
        arrival("A1", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed"),
        change("E4", "2024-08-01", "extension_granted", new_until="2024-09-01"), departure("D1", "2024-09-05"),
    )
    assert [(e.event_id, e.kind) for e in result.evidence] == [
        ("A1", "arrival"), ("E3", "status_change"), ("E4", "status_change"), ("D1", "departure")
    ]
    summary = result.evidence_summary()
    assert "\n" not in summary
    assert summary.startswith("us 2026.1: departed_late 4d")
    assert all(event_id in summary for event_id in ("A1", "E3", "E4", "D1"))


# --- registry and batch --------------------------------------------------------------------------


def test_registry_knows_the_us_and_schengen_packs() -> None:
    pack = get_pack("us")
    assert (pack.name, pack.version, pack.determine_person_stays) == ("us", "2026.1", determine_person_stays)
    assert known_packs() == ("schengen", "us")


def test_unknown_pack_error_names_the_known_packs() -> None:
    with pytest.raises(ConfigurationError, match="known packs: schengen, us"):
        get_pack("uk")


def _groups() -> list[tuple[str, list[Event]]]:
    return [
        ("P1", [arrival("A1", "2024-01-05", "2024-07-04"), departure("D1", "2024-08-01")]),
        ("P2", [arrival("A2", "2024-01-05", "2024-07-04")]),
        ("P3", [arrival("A3", "2024-01-05", "2024-07-04"), change("E3", "2024-06-30", "extension_filed")]),
    ]


def test_batch_determination_equals_per_person_determination() -> None:
    expected = [r for pid, events in _groups() for r in determine_person_stays(pid, events, d("2025-01-01"))]
    assert list(determine_all(_groups(), d("2025-01-01"), chunk_size=2)) == expected
    assert [r.status for r in expected] == [Status.DEPARTED_LATE, Status.OVERSTAY, Status.PENDING]


def test_batch_determination_across_processes_gives_the_same_answers() -> None:
    one = list(determine_all(_groups(), d("2025-01-01")))
    two = list(determine_all(_groups(), d("2025-01-01"), workers=2, chunk_size=1))
    assert one == two
