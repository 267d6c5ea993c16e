"""Which record pairs the blocking rules put before the model: the errors one traveller's records really carry
are found, and the keys stay specific enough that blocks do not grow with the square of a nation's travellers."""

from __future__ import annotations

from datetime import date

import pytest

from stayledger.domain.events import Event
from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.identity.features import build_features
from stayledger.identity.model import LinkageModel
from stayledger.identity.model_spec import base_settings
from stayledger.storage.arrow_events import events_to_table

UNTRAINED = LinkageModel(settings=base_settings(), term_frequencies={}, rare_value_frequency={}, metadata={})


def _event(event_id: str, given: str, dob: str, number: str, *, surname: str = "WANJIKU", issuer: str = "KEN") -> Event:
    return Event(event_id=event_id, kind="arrival", occurred_on=date(2025, 3, 1), source="border", surname=surname,
                 given_names=given, date_of_birth=dob, sex="F", nationality="KEN", document_number=number,
                 document_issuer=issuer)


# On file: GRACE WANJIKU, born 2 June 1984, passport AK0712345.
ON_FILE = _event("on-file", "GRACE", "1984-06-02", "AK0712345")


def _paired(probe: Event, resolved: Event = ON_FILE) -> bool:
    index = DuckDBSplinkEngine().candidate_index(build_features(events_to_table([resolved])), UNTRAINED)
    return index.candidates_for(build_features(events_to_table([probe]))).num_rows == 1


@pytest.mark.parametrize(
    ("case", "probe"),
    [
        # A new passport each time, the given name spelt otherwise, and one part of the birth date wrong.
        ("day mistyped", _event("p", "GRAYCE", "1984-06-12", "BK4400871")),
        ("month mistyped", _event("p", "GRAYCE", "1984-08-02", "BK4400871")),
        ("day and month swapped", _event("p", "GRAYCE", "1984-02-06", "BK4400871")),
        ("1 January written for an unknown date", _event("p", "GRAYCE", "1984-01-01", "BK4400871")),
        ("only the year known", _event("p", "GRAYCE", "1984", "BK4400871")),
        # The same passport with one character mistyped, and the birth date missing.
        ("number mistyped at the end", _event("p", "GRACE", "", "AK0712346", surname="WANJIKUU")),
        ("number mistyped at the start", _event("p", "GRACE", "", "AX0712345", surname="WANJIKUU")),
    ],
)
def test_the_errors_of_one_travellers_records_are_put_before_the_model(case: str, probe: Event) -> None:
    assert _paired(probe), case


def test_a_vague_birth_date_on_file_pairs_with_an_exact_one_given_later() -> None:
    vague = _event("on-file", "GRACE", "1984-01-01", "AK0712345")
    assert _paired(_event("p", "GRAYCE", "1984-06-02", "BK4400871"), resolved=vague)


def test_same_surname_initial_and_birth_year_alone_is_not_a_block() -> None:
    # At national scale a common surname and an initial name thousands born in one year: their pairs would grow
    # with the square of the travellers. Month and day both different (and not swapped) is another person.
    assert not _paired(_event("p", "GLADYS", "1984-11-23", "BK4400871"))


def test_a_piece_of_a_number_and_a_name_pair_only_within_one_issuer() -> None:
    # A mistyped number is still the same passport, of the same issuer; four digits and a common given name
    # across every issuer are a block of strangers.
    assert not _paired(_event("p", "GRACE", "", "AK0712346", surname="WANJIKUU", issuer="TZA"))
