"""Placeholder document numbers and birth dates: values that look like evidence but are not."""

from __future__ import annotations

from datetime import date

from stayledger.domain.events import Event
from stayledger.identity.clustering import IdentityKeys, contradicts, namesakes
from stayledger.identity.deterministic import cluster_by_keys
from stayledger.identity.placeholders import (
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
