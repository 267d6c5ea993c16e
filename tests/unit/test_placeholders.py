"""Placeholder document numbers and birth dates: values that look like evidence but are not."""

from __future__ import annotations

from datetime import date

from stayledger.domain.events import Event
from stayledger.identity.clustering import IdentityKeys, contradicts, namesakes
from stayledger.identity.deterministic import cluster_by_keys
from stayledger.identity.placeholders import (
    copied_document_records,
    discounted_document_reason,
    is_known_placeholder_document,
    shared_document_numbers,
)


def test_known_placeholders_are_recognised_and_real_numbers_are_not() -> None:
    for number in ("123456789", "12345678", "000000000", "UNKNOWN", "unknown", "N/A", "XXXXXXX", "987654321", "0123456789"):
        assert is_known_placeholder_document(number), number
    for number in ("C01X00T47", "A07711231", "751234560", "12345", "E12345678", "", None):
        assert not is_known_placeholder_document(number), number


def test_a_number_given_with_many_unrelated_identities_is_shared() -> None:
    crew = [("P4815162342", f"SURNAME{i}", f"19{70 + i}-0{i + 1}-1{i}") for i in range(5)]
    assert shared_document_numbers(crew) == {"P4815162342"}


def test_one_travellers_typos_and_spellings_do_not_make_his_number_shared() -> None:
    # Forty trips with a mistyped surname twice and a mistyped birth date twice: still one identity.
    own = [("C01X00T47", "MULLER", "1971-04-12")] * 40
    own += [("C01X00T47", "MULER", "1971-04-12"), ("C01X00T47", "MULLRE", "1971-04-12"),
            ("C01X00T47", "MULLER", "1971-04-21"), ("C01X00T47", "MULLER", "1971-04-13"),
            ("C01X00T47", "MUELLER", "1971-12-04")]
    assert shared_document_numbers(own) == frozenset()
    assert discounted_document_reason("C01X00T47", shared_document_numbers(own)) is None


def _crew(i: int, number: str) -> Event:
    return Event(
        event_id=f"crew-{i}", kind="arrival", occurred_on=date(2025, 3, 1), source="manifest",
        surname=["SANTOS", "REYES", "CRUZ", "BAUTISTA", "OCAMPO", "GARCIA", "MENDOZA", "TORRES"][i],
        given_names=["JOSE", "MARIA", "JUAN", "ANA", "PEDRO", "LUZ", "RAMON", "ELENA"][i],
        date_of_birth=f"19{70 + i}-0{i + 1}-1{i}", sex="M", nationality="PHL", document_number=number,
    )


def test_eight_crew_on_a_placeholder_number_stay_eight_persons_with_exact_keys() -> None:
    clusters = cluster_by_keys([_crew(i, "123456789") for i in range(8)])
    assert len(set(clusters.values())) == 8


def test_crew_sharing_a_number_no_list_knows_stay_apart_with_exact_keys() -> None:
    clusters = cluster_by_keys([_crew(i, "P4815162342") for i in range(8)])
    assert len(set(clusters.values())) == 8


def test_a_placeholder_birth_date_keeps_its_year() -> None:
    def side(number: str, *dates: str) -> list[IdentityKeys]:
        return [IdentityKeys(number, d, "KHAN") for d in dates]

    one = side("A1234567", "1973-01-01", "1973-01-01")
    assert namesakes(one, side("B7654321", "1979-01-01", "1979-01-01"))
    assert namesakes(one, side("B7654321", "1979", "1979-01-01"))
    # An estimated year may be off by one between registrations: not two people.
    assert not namesakes(one, side("B7654321", "1974-01-01", "1974-01-01"))
    # One record's mistyped year is a typo, not a second person's year.
    assert not namesakes(one, side("B7654321", "1977-01-01", "1973-01-01"))
    assert not contradicts(one[0], IdentityKeys("B7654321", "1977-01-01", "KHAN"))


def _family_departure(member: str, given: str, birth_date: str, number: str, on: date = date(2024, 9, 3)) -> Event:
    return Event(f"{member}-dep", "departure", on, "carrier", "SILVA", birth_date, "BRA", given_names=given,
                 document_type="P", document_number=number, document_issuer="BRA")


def test_a_number_a_booking_copied_onto_travellers_of_one_manifest_is_copied_on_their_records_only() -> None:
    rows = [
        ("father", "FZ4471002", "departure", date(2024, 9, 3), "MARCOS", "1981-02-11"),
        ("daughter", "FZ4471002", "departure", date(2024, 9, 3), "BEATRIZ", "2019-04-03"),
        ("son", "FZ4471002", "departure", date(2024, 9, 3), "JOAO", "2014-08-19"),
        ("father-earlier", "FZ4471002", "arrival", date(2024, 8, 18), "MARCOS", "1981-02-11"),  # his own, elsewhere
    ]
    assert copied_document_records(rows) == {"father", "daughter", "son"}


def test_one_traveller_twice_on_a_manifest_or_corrected_in_an_update_is_not_a_copy() -> None:
    on = date(2024, 9, 3)
    first = ("first", "FZ4471002", "departure", on, "MARCOS", "1981-02-11")
    assert not copied_document_records([first, ("update", "FZ4471002", "departure", on, "MARCOS", "1981-11-02")])
    assert not copied_document_records([first, ("again", "FZ4471002", "departure", on, "MARKOS", "1981-02-11")])
    # Two records that differ in given name and in birth date cannot both be the number's holder.
    assert copied_document_records([first, ("other", "FZ4471002", "departure", on, "BEATRIZ", "2019-04-03")]) == {"first", "other"}
    # The same two travellers on different days, or records of different kinds, are not one manifest.
    assert not copied_document_records([
        ("a", "FZ4471002", "departure", on, "MARCOS", "1981-02-11"),
        ("b", "FZ4471002", "departure", date(2024, 9, 4), "BEATRIZ", "2019-04-03"),
        ("c", "FZ4471002", "arrival", on, "JOAO", "2014-08-19"),
    ])


def test_the_feature_table_empties_a_copied_number_on_the_copied_rows_alone() -> None:
    from stayledger.identity.features import build_features
    from stayledger.storage.arrow_events import events_to_table

    own = Event("father-arr", "arrival", date(2024, 8, 18), "border", "SILVA", "1981-02-11", "BRA", given_names="MARCOS",
                document_type="P", document_number="FZ4471002", document_issuer="BRA", admission_class="B2",
                admitted_until=date(2024, 11, 16))
    events = [own, _family_departure("father", "MARCOS", "1981-02-11", "FZ4471002"),
              _family_departure("daughter", "BEATRIZ", "2019-04-03", "FZ4471002")]
    features = build_features(events_to_table(events))
    assert dict(zip(features.column("unique_id").to_pylist(), features.column("doc_ocr").to_pylist())) == {
        "father-arr": "F24471002", "father-dep": None, "daughter-dep": None}


def test_exact_keys_do_not_join_a_family_on_a_copied_number() -> None:
    events = [_family_departure("father", "MARCOS", "1981-02-11", "FZ4471002"),
              _family_departure("daughter", "BEATRIZ", "2019-04-03", "FZ4471002"),
              _family_departure("son", "JOAO", "2014-08-19", "FZ4471002")]
    assert len(set(cluster_by_keys(events).values())) == 3
