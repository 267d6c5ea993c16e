"""The canonical event schema: what is accepted, how it is normalised, and how refusals are explained."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayledger.domain.events import FIELDS, Event, parse_event
from stayledger.errors import InvalidRecord

ARRIVAL = {
    "event_id": "BRD-1",
    "kind": "arrival",
    "occurred_on": "2024-03-01",
    "source": "border",
    "surname": "Müller",
    "given_names": "Anna Maria",
    "date_of_birth": "1980-02-11",
    "sex": "F",
    "nationality": "DEU",
    "document_type": "P",
    "document_number": "C01X00T47",
    "admission_class": "WT",
    "admitted_until": "2024-05-29",
    "port": "JFK",
    "mode": "air",
    "carrier": "LH",
}


def refusal(raw: dict) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as info:
        parse_event(raw)
    return {e.field: e.reason for e in info.value.errors}


def test_a_complete_arrival_is_accepted_as_written():
    event = parse_event(ARRIVAL)
    assert event.surname == "Müller"
    assert event.occurred_on == date(2024, 3, 1)
    assert event.admitted_until == date(2024, 5, 29)


def test_icao_country_codes_become_alpha3():
    assert parse_event({**ARRIVAL, "nationality": "D"}).nationality == "DEU"
    assert parse_event({**ARRIVAL, "nationality": "d<<"}).nationality == "DEU"
    assert parse_event({**ARRIVAL, "nationality": "XXA"}).nationality == "XXA"


def test_unknown_country_is_refused_naming_the_code():
    assert "ZZZ" in refusal({**ARRIVAL, "nationality": "ZZZ"})["nationality"]


def test_unknown_fields_are_refused_because_we_keep_no_data_we_do_not_use():
    reasons = refusal({**ARRIVAL, "home_address": "1 Main St"})
    assert "unknown field" in reasons["home_address"]


def test_arrival_needs_document_class_and_admit_until():
    raw = {k: v for k, v in ARRIVAL.items() if k not in ("document_number", "admission_class", "admitted_until")}
    reasons = refusal(raw)
    assert set(reasons) >= {"document_number", "admission_class", "admitted_until"}


def test_duration_of_status_replaces_admit_until():
    raw = {k: v for k, v in ARRIVAL.items() if k != "admitted_until"} | {"admission_class": "F1", "duration_of_status": True}
    event = parse_event(raw)
    assert event.duration_of_status is True and event.admitted_until is None


def test_csv_style_booleans_are_understood():
    raw = {k: v for k, v in ARRIVAL.items() if k != "admitted_until"} | {"duration_of_status": "TRUE"}
    assert parse_event(raw).duration_of_status is True
    assert "true or false" in refusal({**ARRIVAL, "duration_of_status": "maybe"})["duration_of_status"]


@pytest.mark.parametrize("bad", ["2024-02-30", "2024-13-01", "01/03/2024", "20240301", "2024-3-1", "yesterday"])
def test_bad_event_dates_are_refused_with_the_value(bad):
    assert bad in refusal({**ARRIVAL, "occurred_on": bad})["occurred_on"]


@pytest.mark.parametrize("dob", ["1980-02-11", "1980-02", "1980"])
def test_partly_unknown_birth_dates_are_kept_as_given(dob):
    assert parse_event({**ARRIVAL, "date_of_birth": dob}).date_of_birth == dob


@pytest.mark.parametrize("dob", ["1980-13", "80-02-11", "1980-02-30", "2025-01-01", "1850"])
def test_impossible_birth_dates_are_refused(dob):
    assert "date_of_birth" in refusal({**ARRIVAL, "date_of_birth": dob})


def test_wrong_types_are_named():
    reasons = refusal({**ARRIVAL, "document_number": 12345})
    assert reasons["document_number"] == "expected a string, got a number"


def test_status_changed_needs_new_class_and_new_until():
    raw = {
        "event_id": "ADJ-1", "kind": "status_change", "occurred_on": "2024-04-01", "source": "adjudication",
        "surname": "Doe", "date_of_birth": "1990", "nationality": "USA", "change": "status_changed",
    }
    assert set(refusal(raw)) == {"new_class", "new_until"}
    assert "change" in refusal({**raw, "change": "teleported"})


def test_extension_granted_needs_new_until():
    raw = {
        "event_id": "ADJ-2", "kind": "status_change", "occurred_on": "2024-04-01", "source": "adjudication",
        "surname": "Doe", "date_of_birth": "1990", "nationality": "USA", "change": "extension_granted",
    }
    assert set(refusal(raw)) == {"new_until"}


def test_every_error_of_a_record_is_reported_at_once():
    reasons = refusal({"event_id": "x", "kind": "arrivl", "occurred_on": "2024-13-01", "nationality": "ZZZ"})
    assert {"kind", "occurred_on", "nationality", "source", "surname", "date_of_birth"} <= set(reasons)


def test_the_message_names_the_event():
    with pytest.raises(InvalidRecord) as info:
        parse_event({**ARRIVAL, "sex": "Q"})
    assert "BRD-1" in str(info.value) and "sex" in str(info.value)


def test_empty_strings_count_as_absent():
    event = parse_event({**ARRIVAL, "given_names": "", "port": "  "})
    assert event.given_names is None and event.port is None


def test_record_round_trips_through_to_record():
    event = parse_event(ARRIVAL)
    assert parse_event(event.to_record()) == event
    assert list(event.to_record()) == [f for f in FIELDS if f in event.to_record()]


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@given(surname=printable, given_names=st.none() | printable, number=st.from_regex(r"[A-Z0-9]{5,12}", fullmatch=True))
def test_any_valid_names_round_trip(surname, given_names, number):
    raw = {**ARRIVAL, "surname": surname, "document_number": number}
    if given_names is not None:
        raw["given_names"] = given_names
    event = parse_event(raw)
    again = parse_event(event.to_record())
    assert again == event


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.text(max_size=12), st.integers(), st.booleans()), max_size=8))
def test_arbitrary_mappings_give_an_event_or_invalid_record(raw):
    try:
        result = parse_event(raw)
    except InvalidRecord as exc:
        assert exc.errors
    else:
        assert isinstance(result, Event)
