"""PAXLST input real feeds send that the parser used to misread (issue 14 items 5, 6, 19)."""

from __future__ import annotations

import pytest

from stayledger.errors import ParseError
from stayledger.formats.edifact import tokenize
from stayledger.formats.paxlst import parse_paxlst, paxlst_to_records
from tests.unit.test_paxlst import PASSENGER_SMITH, message


def test_the_legacy_us_version_with_pdt_segments_is_refused_not_read_as_an_empty_manifest() -> None:
    text = message("PDT+P:GB1000001:GBR+THROUGH:TRAVELLER+700101:M:GBR'", unh="UNH+M1+PAXLST:001:000+REF1")
    with pytest.raises(ParseError, match="PAXLST version 001:000, which is not supported") as caught:
        parse_paxlst(text)
    assert caught.value.line == 2


def test_directory_versions_are_read() -> None:
    for unh in ("UNH+M1+PAXLST:D:02B:UN:IATA+REF1", "UNH+M1+PAXLST:D:05B:UN:IATA+REF1", "UNH+M1+PAXLST+REF1"):
        assert [r["surname"] for r in paxlst_to_records(message(*PASSENGER_SMITH, unh=unh), "USA").records] == ["SMITH"]


def test_spaces_between_a_tag_and_its_separator_are_accepted_with_one_warning_per_tag() -> None:
    plain = paxlst_to_records(message(*PASSENGER_SMITH), "USA")
    spaced_text = message(*PASSENGER_SMITH).replace("UNB+", "UNB +").replace("UNH+", "UNH\t +").replace("DTM+", "DTM  +")
    spaced = paxlst_to_records(spaced_text, "USA")
    assert spaced.records == plain.records
    gaps = [w for w in spaced.warnings if "whitespace between the segment tag" in w]
    assert [w.split("tag ")[1][:3] for w in gaps] == ["UNB", "UNH", "DTM"]  # DTM twice, warned once


def test_a_space_after_a_tag_that_is_not_before_a_separator_is_still_an_error() -> None:
    with pytest.raises(ParseError, match="segment tag must be three letters"):
        tokenize("UNB+X'NAD FL'UNZ+1+X'")


def test_a_byte_invalid_in_the_character_set_is_kept_and_named() -> None:
    text = message(*PASSENGER_SMITH).replace("SMITH", "SMI\x87TH")
    result = paxlst_to_records(text, "USA")
    assert [r["surname"] for r in result.records] == ["SMI\x87TH"]  # nothing dropped
    [warning] = [w for w in result.warnings if "U+0087" in w]
    assert "'SMI\\x87TH'" in warning and "byte 0x87" in warning and "surname" in warning


def test_an_airport_file_may_give_just_iata_and_country() -> None:
    from stayledger.formats.airports import AirportTable

    table = AirportTable.from_csv_text("iata,country\nyeu,can\n# a comment\nQQQ,USA\n")
    assert (table.country_of("YEU"), table.country_of("QQQ")) == ("CAN", "USA")
    with pytest.raises(ParseError, match="expected 2 columns"):
        AirportTable.from_csv_text("iata,country\nYEU,CAN,Eureka\n")
