"""Properties of the US-style stay rules that must hold for every travel history."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.domain.events import CHANGES, Event
from stayledger.domain.stays import STATUSES_WITH_OVERSTAY_DAYS, HeldBecause, Status, StayDetermination
from stayledger.rules.us import determine_person_stays

START = date(2024, 1, 1)
SPAN = 150  # a short calendar so that events collide on the same day
_PERSON = {"source": "cbp", "surname": "DOE", "date_of_birth": "1990-01-01", "nationality": "FRA"}
FAST = settings(max_examples=150, deadline=None)

days = st.integers(min_value=0, max_value=SPAN)


@st.composite
def raw_event(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["arrival", "arrival", "departure", "departure_report", "status_change",
                                 "status_change"]))
    on = START + timedelta(days=draw(days))
    fields: dict = {"kind": kind, "occurred_on": on}
    if kind == "arrival":
        fields["document_number"] = "X1"
        fields["admission_class"] = draw(st.sampled_from(["B2", "F1", "J-1", "H1B"]))
        if draw(st.booleans()) and fields["admission_class"] != "B2":
            fields["duration_of_status"] = True
        else:
            fields["admitted_until"] = on + timedelta(days=draw(st.integers(0, 90)))
    elif kind == "status_change":
        fields["change"] = draw(st.sampled_from(CHANGES))
        if fields["change"] in ("extension_granted", "status_changed"):
            fields["new_until"] = on + timedelta(days=draw(st.integers(-10, 120)))
        if fields["change"] == "status_changed":
            fields["new_class"] = draw(st.sampled_from(["B1", "F1", "H1B"]))
        fields["admission_ref"] = draw(st.sampled_from([None, "E0", "E1", "E2"]))
    return fields


def build(raws: list[dict], first_id: int = 0) -> list[Event]:
    return [Event(event_id=f"E{first_id + i}", **_PERSON, **raw) for i, raw in enumerate(raws)]


histories = st.lists(raw_event(), min_size=1, max_size=8).map(build)
as_of_dates = days.map(lambda n: START + timedelta(days=n))


def determine(events: list[Event], as_of: date, uncertain: frozenset[str] = frozenset()) -> list[StayDetermination]:
    return determine_person_stays("P", events, as_of, uncertain_event_ids=uncertain)


def by_arrival(results: list[StayDetermination]) -> dict[str, StayDetermination]:
    return {r.arrival_event_id: r for r in results}


@FAST
@given(histories, as_of_dates, days)
def test_adding_a_departure_never_creates_an_overstay(events: list[Event], as_of: date, offset: int) -> None:
    before = by_arrival(determine(events, as_of))
    extra = Event(event_id="DX", kind="departure", occurred_on=START + timedelta(days=offset), **_PERSON)
    after = by_arrival(determine([*events, extra], as_of))
    assert after.keys() == before.keys()
    for arrival_id, result in after.items():
        if result.status is Status.OVERSTAY:
            assert before[arrival_id].status is Status.OVERSTAY
            assert result.overstay_days == before[arrival_id].overstay_days


@FAST
@given(histories, as_of_dates, st.integers(1, 400))
def test_moving_as_of_forward_never_ends_an_overstay_without_a_new_event(
    events: list[Event], as_of: date, forward: int
) -> None:
    known = [e for e in events if e.occurred_on <= as_of]
    now = by_arrival(determine(known, as_of))
    later = by_arrival(determine(known, as_of + timedelta(days=forward)))
    for arrival_id, result in now.items():
        if result.status is Status.OVERSTAY:
            assert later[arrival_id].status is Status.OVERSTAY
            assert later[arrival_id].overstay_days == result.overstay_days + forward


@FAST
@given(
    st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(1, 200), st.integers(0, 400),
    st.booleans(),
)
def test_a_timely_granted_extension_never_yields_an_overstay_before_its_new_date(
    stay_length: int, filed_before_end: int, decided_after_filing: int, extra: int, check: int, ds: bool
) -> None:
    arrived = START
    until = arrived + timedelta(days=stay_length)
    filed = until - timedelta(days=min(filed_before_end, stay_length))
    granted = filed + timedelta(days=decided_after_filing)
    new_until = until + timedelta(days=extra)
    events = [
        Event(event_id="A", kind="arrival", occurred_on=arrived, document_number="X1", admission_class="F1",
              admitted_until=None if ds else until, duration_of_status=ds, **_PERSON),
        Event(event_id="F", kind="status_change", occurred_on=filed, change="extension_filed", **_PERSON),
        Event(event_id="G", kind="status_change", occurred_on=granted, change="extension_granted",
              new_until=new_until, **_PERSON),
    ]
    as_of = arrived + timedelta(days=check)
    (result,) = determine(events, as_of)
    if as_of <= new_until:
        assert result.status in (Status.IN_STATUS, Status.PENDING)
    elif as_of < granted:  # the grant is not known yet; the timely application is
        assert result.status is (Status.IN_STATUS if ds else Status.PENDING)
    else:
        assert (result.status, result.overstay_days) == (Status.OVERSTAY, (as_of - new_until).days)


@FAST
@given(histories, as_of_dates, st.lists(raw_event(), max_size=4))
def test_events_after_as_of_never_change_the_result(events: list[Event], as_of: date, later: list[dict]) -> None:
    shifted = [{**raw, "occurred_on": as_of + timedelta(days=1 + (raw["occurred_on"] - START).days)}
               for raw in later]
    for raw in shifted:
        if "admitted_until" in raw:
            raw["admitted_until"] = raw["occurred_on"] + timedelta(days=30)
    assert determine(events + build(shifted, first_id=100), as_of) == determine(events, as_of)


@FAST
@given(histories, as_of_dates, st.randoms(use_true_random=False))
def test_determination_does_not_depend_on_the_input_order(
    events: list[Event], as_of: date, rng: random.Random
) -> None:
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert determine(shuffled, as_of) == determine(events, as_of)


@FAST
@given(histories, as_of_dates)
def test_overstay_days_are_never_negative_and_only_counted_for_late_or_missing_departures(
    events: list[Event], as_of: date
) -> None:
    results = determine(events, as_of)
    arrivals = sorted((e.occurred_on, e.event_id) for e in events if e.kind == "arrival" and e.occurred_on <= as_of)
    assert [r.arrival_event_id for r in results] == [event_id for _, event_id in arrivals]
    for result in results:
        assert result.overstay_days >= 0
        if result.status not in STATUSES_WITH_OVERSTAY_DAYS:
            assert result.overstay_days == 0
        if result.status in (Status.OVERSTAY, Status.DEPARTED_LATE):
            assert result.overstay_days > 0
        assert result.steps and result.evidence[0].event_id == result.arrival_event_id


@FAST
@given(histories, as_of_dates, st.sets(st.sampled_from([f"E{i}" for i in range(8)])))
def test_an_unreviewed_link_can_only_send_a_stay_to_review(
    events: list[Event], as_of: date, uncertain: set[str]
) -> None:
    plain = by_arrival(determine(events, as_of))
    doubted = by_arrival(determine(events, as_of, frozenset(uncertain)))
    for arrival_id, result in doubted.items():
        if result.status is not Status.NEEDS_REVIEW:
            assert result.status is plain[arrival_id].status
            assert result.overstay_days == plain[arrival_id].overstay_days
        else:
            assert result.uncertain_links or plain[arrival_id].status is Status.NEEDS_REVIEW


@FAST
@given(histories, as_of_dates, st.sets(st.sampled_from([f"E{i}" for i in range(8)])))
def test_every_stay_held_for_review_says_why_and_no_other_does(
    events: list[Event], as_of: date, uncertain: set[str]
) -> None:
    for result in determine(events, as_of, frozenset(uncertain)):
        assert (result.held_because is not None) == (result.status is Status.NEEDS_REVIEW)
        if result.uncertain_links:
            assert result.held_because is HeldBecause.IDENTITY_LINK
