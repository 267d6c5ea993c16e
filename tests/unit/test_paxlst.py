"""PAXLST manifests: structure, travellers, and the departure records a receiving country gets."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from stayledger.domain.countries import ISO_ALPHA3
from stayledger.domain.events import FIELDS, parse_event
from stayledger.errors import ParseError
from stayledger.formats.airports import AirportTable, bundled_airports
from stayledger.formats.paxlst import (
    CREW,
    PASSENGER,
    manifest_departure_records,
    parse_paxlst,
    paxlst_to_records,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "paxlst"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "paxlst"


def sample(name: str) -> str:
    return (DATA / name).read_bytes().decode("utf-8")  # bytes: keep CR and CRLF exactly as written


def message(*body: str, flight: tuple[str, ...] | None = None, unh: str = "UNH+M1+PAXLST:D:02B:UN:IATA+REF1") -> str:
    """A one-message interchange; ``body`` goes between the flight header and UNT."""
    header = flight if flight is not None else (
        "BGM+745'", "TDT+20+XX123+++XX'", "LOC+125+JFK'", "DTM+189:2506141900:201'", "LOC+87+LHR'", "DTM+232:2506150700:201'"
    )
    segments = [unh + "'", *header, *body]
    return "\n".join(["UNB+UNOA:4+S+R+250614:1200+IC1'", *segments, f"UNT+{len(segments) + 1}+M1'", "UNZ+1+IC1'"]) + "\n"


PASSENGER_SMITH = ("NAD+FL+++SMITH:JOHN'", "ATT+2++M'", "DTM+329:800115'", "NAT+2+GBR'", "DOC+P+123456789'", "LOC+91+GBR'")


def records(text: str, country: str = "USA") -> list[dict[str, str]]:
    return paxlst_to_records(text, country).records


# --- samples from the segment map ------------------------------------------------------------------


def test_a_passenger_list_becomes_departure_records_that_the_event_schema_accepts() -> None:
    result = paxlst_to_records((EXAMPLES / "passengers_jfk_lhr.edi").read_text(), "USA")
    assert result.warnings == []
    assert [c.direction for c in result.conversions] == ["outbound"]
    assert [r["surname"] for r in result.records] == ["O'BRIEN", "GARCIA LOPEZ", "NGUYEN"]
    first = result.records[0]
    assert first == {
        "event_id": first["event_id"],
        "kind": "departure",
        "occurred_on": "2025-06-14",
        "source": "carrier",
        "surname": "O'BRIEN",
        "given_names": "SEAN PATRICK",
        "date_of_birth": "1985-07-04",
        "sex": "M",
        "nationality": "IRL",
        "document_type": "P",
        "document_number": "PX1234567",
        "document_issuer": "IRL",
        "port": "JFK",
        "mode": "air",
        "carrier": "ZZ",
    }
    assert list(first) == [name for name in FIELDS if name in first]
    for record in result.records:
        event = parse_event(record)
        assert event.kind == "departure" and event.occurred_on == date(2025, 6, 14)


def test_addresses_seats_and_booking_references_are_not_kept() -> None:
    parsed = parse_paxlst((EXAMPLES / "passengers_jfk_lhr.edi").read_text())
    kept = repr(parsed.manifests[0])
    for private in ("EXAMPLE ROAD", "DUBLIN", "D01", "QWERTY", "23A", "15551230000"):
        assert private not in kept
    converted = repr(paxlst_to_records((EXAMPLES / "passengers_jfk_lhr.edi").read_text(), "USA"))
    assert "EXAMPLE ROAD" not in converted and "QWERTY" not in converted


def test_odd_separators_from_una_and_cr_line_ends() -> None:
    result = paxlst_to_records(sample("star_dollar_cr.edi"), "USA")
    assert result.warnings == []
    assert [(r["surname"], r.get("given_names")) for r in result.records] == [("D~ANGELO", "ANNA$MARIA"), ("SMITH", "JOHN Q")]
    assert [r["nationality"] for r in result.records] == ["ITA", "DEU"]  # ICAO "D" is Germany
    assert result.records[1]["date_of_birth"] == "1964-02-29"
    assert result.records[1]["document_type"] == "I"


def test_crlf_leading_spaces_functional_group_and_junk_after_unz() -> None:
    result = paxlst_to_records(sample("crlf_spaces_junk.edi"), "USA")
    assert result.warnings == ["line 20, position 1: ignored 40 characters after UNZ"]
    [record] = result.records
    assert (record["surname"], record["occurred_on"], record["port"]) == ("TANAKA", "2025-03-01", "SFO")
    assert record["carrier"] == "XX"  # from the flight number when TDT names no carrier


def test_crew_are_travellers_too() -> None:
    result = paxlst_to_records(sample("crew_list.edi"), "USA")
    manifest = result.manifests[0]
    assert manifest.list_type == "crew"
    assert [t.role for t in manifest.travellers] == [CREW, CREW]
    assert [r["surname"] for r in result.records] == ["RIVERA", "KOWALSKI"]
    assert result.warnings == []


def test_multi_leg_flight_records_the_departure_at_the_last_airport_in_the_country() -> None:
    result = paxlst_to_records(sample("multi_leg.edi"), "USA")
    manifest = result.manifests[0]
    assert manifest.flight.route == ("ORD", "JFK", "LHR")
    by_name = {r["surname"]: r for r in result.records}
    assert set(by_name) == {"THROUGH", "LATE"}  # DOMESTIC gets off at JFK: not a departure
    assert by_name["THROUGH"]["port"] == "JFK" and by_name["LATE"]["port"] == "JFK"
    assert {r["occurred_on"] for r in result.records} == {"2025-03-10"}
    assert any("leave the flight inside USA" in w for w in result.warnings)


def test_routing_legs_given_as_pairs_and_repeated_itinerary_groups_give_the_same_route() -> None:
    pairs = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+ORD'", "DTM+189:2503101400:201'", "LOC+92+ORD+JFK'", "LOC+92+JFK+LHR'", "LOC+87+LHR'"))
    groups = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+ORD'", "DTM+189:2503101400:201'", "LOC+87+JFK'", "LOC+125+JFK'", "DTM+189:2503110030:201'", "LOC+87+LHR'"))
    assert parse_paxlst(pairs).manifests[0].flight.route == ("ORD", "JFK", "LHR")
    assert parse_paxlst(groups).manifests[0].flight.route == ("ORD", "JFK", "LHR")
    [record] = records(groups)
    assert (record["port"], record["occurred_on"]) == ("JFK", "2025-03-11")  # JFK's own scheduled departure


def test_a_message_split_into_parts_is_one_manifest() -> None:
    result = paxlst_to_records(sample("split_parts.edi"), "USA")
    assert len(result.manifests) == 1
    manifest = result.manifests[0]
    assert manifest.reference == "XX0600250315"
    assert manifest.message_references == ("P1", "P2")
    assert [t.given_names for t in manifest.travellers] == ["AMY", "BEN"]
    assert result.warnings == []


def test_parts_arriving_out_of_order_are_joined_in_sequence_and_gaps_reported() -> None:
    text = sample("split_parts.edi")
    part1 = text[text.index("UNH+P1"):text.index("UNH+P2")]
    part2 = text[text.index("UNH+P2"):text.index("UNZ")]
    swapped = text[:text.index("UNH+P1")] + part2 + part1 + text[text.index("UNZ"):]
    assert [t.given_names for t in parse_paxlst(swapped).manifests[0].travellers] == ["AMY", "BEN"]
    only_first = text[:text.index("UNH+P2")] + text[text.index("UNZ"):]
    warnings = parse_paxlst(only_first).manifests[0].warnings
    assert any("no final part" in w for w in warnings)
    assert len(parse_paxlst(only_first).manifests[0].travellers) == 1


def test_a_traveller_without_surname_is_rejected_while_the_others_land() -> None:
    result = paxlst_to_records(sample("missing_surname.edi"), "USA")
    assert [r["surname"] for r in result.records] == ["JONSDOTTIR"]
    assert [(r.reason, r.line) for r in result.rejected] == [("traveller without surname", 13), ("traveller without birth date", 18)]
    assert result.rejected[0].raw == "NAD+FL+++:NOSURNAME'\nDTM+329:900909'\nNAT+2+ISL'\nDOC+P+A7654321'"
    assert "HIDDEN STREET" not in result.rejected[0].raw and "12C" not in result.rejected[0].raw


def test_count_mismatches_are_warnings_and_lose_no_one() -> None:
    result = paxlst_to_records(sample("missing_surname.edi"), "USA")
    assert "CNT+42 declares 5 passengers; the manifest names 3" in result.warnings
    wrong_unt = re.sub(r"UNT\+\d+", "UNT+99", message(*PASSENGER_SMITH))
    parsed = paxlst_to_records(wrong_unt, "USA")
    assert len(parsed.records) == 1
    assert any("UNT declares 99" in w for w in parsed.warnings)


def test_an_inbound_manifest_yields_no_records_and_says_why() -> None:
    result = paxlst_to_records((EXAMPLES / "passengers_jfk_lhr.edi").read_text(), "GBR")
    assert result.records == [] and result.rejected == []
    assert [c.direction for c in result.conversions] == ["inbound"]
    assert "no admission class or admitted-until" in result.warnings[-1]


def test_a_manifest_touching_neither_end_in_the_country_is_neither() -> None:
    result = paxlst_to_records((EXAMPLES / "passengers_jfk_lhr.edi").read_text(), "FRA")
    assert [c.direction for c in result.conversions] == ["neither"]
    assert result.records == []


def test_a_domestic_flight_records_no_departures() -> None:
    domestic = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+ORD'", "DTM+189:2503101400:201'", "LOC+87+JFK'"))
    conversion = paxlst_to_records(domestic, "USA").conversions[0]
    assert conversion.direction == "neither" and conversion.records == []
    assert "domestic" in conversion.warnings[-1]


def test_departures_from_a_us_territory_are_departures_from_the_usa() -> None:
    text = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+SJU'", "DTM+189:2503101400:201'", "LOC+87+MAD'"))
    [record] = records(text, "USA")
    assert record["port"] == "SJU"
    assert paxlst_to_records(text, "PRI").records  # and from Puerto Rico itself


def test_an_unknown_airport_on_the_route_raises_naming_the_code_and_line() -> None:
    text = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+QQQ'", "DTM+189:2503101400:201'", "LOC+87+LHR'"))
    with pytest.raises(ParseError, match="unknown airport code 'QQQ'") as caught:
        paxlst_to_records(text, "USA")
    assert caught.value.line == 4


def test_a_deployment_can_add_airports_it_needs() -> None:
    text = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+QQQ'", "DTM+189:2503101400:201'", "LOC+87+LHR'"))
    extra = AirportTable.from_csv_text("iata,country_alpha3,name\nQQQ,USA,Test field\n")
    manifest = parse_paxlst(text).manifests[0]
    conversion = manifest_departure_records(manifest, "USA", bundled_airports().merged(extra))
    assert [r["port"] for r in conversion.records] == ["QQQ"]


def test_an_unknown_embarkation_airport_rejects_only_that_traveller() -> None:
    text = message(*PASSENGER_SMITH, "NAD+FL+++DOE:JANE'", "DTM+329:900101'", "NAT+2+CAN'", "LOC+178+QQQ'")
    result = paxlst_to_records(text, "USA")
    assert [r["surname"] for r in result.records] == ["SMITH"]
    assert [r.reason for r in result.rejected] == ["embarkation airport 'QQQ' (LOC+178) is not in the airport table"]


def test_a_flight_without_departure_date_rejects_its_travellers_for_quarantine() -> None:
    no_date = ("TDT+20+XX1'", "LOC+125+JFK'", "LOC+87+LHR'")
    text = message("NAD+FL+++FOUR:DIGIT'", "DTM+329:19800115:102'", "NAT+2+USA'", *PASSENGER_SMITH, flight=no_date)
    result = paxlst_to_records(text, "USA")
    assert result.records == []
    assert [r.reason for r in result.rejected] == [
        "the flight has no scheduled departure date (DTM+189)",
        "birth date '800115' has a two-digit year and the flight has no date to place it",
    ]


# --- dates, codes, documents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtm", "expected"),
    [("DTM+189:2506141900:201'", "2025-06-14"), ("DTM+189:202506142355:203'", "2025-06-14"), ("DTM+189:20250614:102'", "2025-06-14")],
)
def test_scheduled_departure_formats_201_203_and_102(dtm: str, expected: str) -> None:
    text = message(*PASSENGER_SMITH, flight=("TDT+20+XX1'", "LOC+125+JFK'", dtm, "LOC+87+LHR'"))
    assert records(text)[0]["occurred_on"] == expected


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("250613", "2025-06-13"), ("250615", "1925-06-15"), ("990101", "1999-01-01"), ("000229", "2000-02-29"), ("19251231:102", "1925-12-31")],
)
def test_two_digit_birth_years_never_fall_after_the_flight_date(birth: str, expected: str) -> None:
    text = message("NAD+FL+++BABY:ONE'", f"DTM+329:{birth}'", "NAT+2+USA'")  # flight on 2025-06-14
    assert records(text)[0]["date_of_birth"] == expected


def test_an_impossible_birth_date_is_rejected_with_the_value() -> None:
    text = message("NAD+FL+++ODD:DATE'", "DTM+329:850230'", "NAT+2+USA'")
    [rejected] = paxlst_to_records(text, "USA").rejected
    assert rejected.reason == "birth date '850230' is not a calendar date"


@pytest.mark.parametrize(("doc", "expected"), [("DOC+P:110:111+A1'", "P"), ("DOC+I+A1'", "I"), ("DOC+V+A1'", "V"), ("DOC+AC+A1'", "O"), ("DOC+PT+A1'", "O")])
def test_document_type_codes(doc: str, expected: str) -> None:
    text = message("NAD+FL+++DOC:TYPE'", "DTM+329:800101'", "NAT+2+USA'", doc)
    assert records(text)[0]["document_type"] == expected


def test_a_passport_identifies_the_traveller_rather_than_a_visa() -> None:
    text = message("NAD+FL+++TWO:DOCS'", "DTM+329:800101'", "NAT+2+IND'", "DOC+V+VISA1'", "LOC+91+USA'", "DOC+P+PASS1'", "DTM+36:300101'", "LOC+91+IND'")
    [record] = records(text)
    assert (record["document_type"], record["document_number"], record["document_issuer"]) == ("P", "PASS1", "IND")
    traveller = parse_paxlst(text).manifests[0].travellers[0]
    assert [(d.type, d.issuer, d.expiry) for d in traveller.documents] == [("V", "USA", None), ("P", "IND", date(2030, 1, 1))]


def test_unknown_nationality_rejects_and_unknown_issuer_is_left_empty_with_a_warning() -> None:
    text = message(
        "NAD+FL+++BAD:NATION'", "DTM+329:800101'", "NAT+2+ZZZ'",
        "NAD+FL+++BAD:ISSUER'", "DTM+329:800101'", "NAT+2+FRA'", "DOC+P+X1'", "LOC+91+ZZZ'",
    )
    result = paxlst_to_records(text, "USA")
    assert [r.reason for r in result.rejected] == ["unknown nationality code 'ZZZ'"]
    assert "document_issuer" not in result.records[0]
    assert any("issuing country 'ZZZ' unknown" in w for w in result.warnings)


def test_sex_codes_m_f_x_and_unknown() -> None:
    text = message(*(seg for sex in "MFXU" for seg in (f"NAD+FL+++S:{sex}'", f"ATT+2++{sex}'", "DTM+329:800101'", "NAT+2+USA'")))
    assert [r.get("sex") for r in records(text)] == ["M", "F", "X", None]


def test_in_transit_travellers_are_skipped_with_a_warning() -> None:
    text = message(*PASSENGER_SMITH, "NAD+DDT+++TRANSIT:TOM'", "DTM+329:800101'", "NAT+2+USA'")
    result = paxlst_to_records(text, "USA")
    assert [r["surname"] for r in result.records] == ["SMITH"]
    assert any("NAD+DDT" in w for w in result.warnings)


# --- identity of records ----------------------------------------------------------------------------


def test_the_same_message_ingested_twice_gives_the_same_event_ids() -> None:
    text = sample("multi_leg.edi")
    first = [r["event_id"] for r in records(text)]
    again = [r["event_id"] for r in records(text.replace("\n", "\r\n"))]
    assert first == again
    assert len(set(first)) == len(first)
    assert all(event_id.startswith("paxlst:") and len(event_id) <= 128 for event_id in first)


def test_twins_without_document_numbers_stay_two_records() -> None:
    twins = message("NAD+FL+++LEE:ANNA'", "DTM+329:150505'", "NAT+2+USA'", "NAD+FL+++LEE:ELSA'", "DTM+329:150505'", "NAT+2+USA'")
    assert [r["given_names"] for r in records(twins)] == ["ANNA", "ELSA"]


def test_a_traveller_listed_twice_gives_one_record() -> None:
    result = paxlst_to_records(message(*PASSENGER_SMITH, *PASSENGER_SMITH), "USA")
    assert len(result.records) == 1
    assert any("appears twice" in w for w in result.warnings)


def test_different_flights_give_different_event_ids() -> None:
    one = records(message(*PASSENGER_SMITH))[0]["event_id"]
    other = records(message(*PASSENGER_SMITH).replace("XX123", "XX124"))[0]["event_id"]
    assert one != other


# --- structure errors -------------------------------------------------------------------------------


def test_missing_unb_is_an_error_at_the_first_segment() -> None:
    with pytest.raises(ParseError, match="missing UNB") as caught:
        parse_paxlst("\n\nUNH+1+PAXLST'BGM+745'UNT+3+1'")
    assert (caught.value.line, caught.value.column) == (3, 1)


def test_unt_without_unh_is_an_error() -> None:
    with pytest.raises(ParseError, match="UNT without UNH") as caught:
        parse_paxlst("UNB+X'\nUNT+2+1'\nUNZ+0+X'")
    assert caught.value.line == 2


def test_a_message_left_open_is_an_error() -> None:
    with pytest.raises(ParseError, match="has no UNT"):
        parse_paxlst("UNB+X'UNH+1+PAXLST'BGM+745'")
    with pytest.raises(ParseError, match="before the UNT of message '1'"):
        parse_paxlst("UNB+X'UNH+1+PAXLST'BGM+745'UNH+2+PAXLST'UNT+2+2'UNZ+2+X'")


def test_empty_input_is_an_error() -> None:
    with pytest.raises(ParseError, match="no EDIFACT segments"):
        parse_paxlst("  \n")


def test_other_message_types_are_skipped_with_a_warning() -> None:
    parsed = parse_paxlst("UNB+X'UNH+1+CUSRES:D:02B:UN'BGM+962'UNT+3+1'UNZ+1+X'")
    assert parsed.manifests == []
    assert any("CUSRES" in w for w in parsed.warnings)


def test_interchange_header_is_described() -> None:
    [interchange] = parse_paxlst(sample("crew_list.edi")).interchanges
    assert (interchange.sender, interchange.recipient, interchange.reference) == ("XXAIR", "USCSAPIS", "0003")
    assert (interchange.prepared, interchange.message_count) == ("250302:0600", 1)


def test_the_receiving_country_must_be_known() -> None:
    manifest = parse_paxlst(message(*PASSENGER_SMITH)).manifests[0]
    with pytest.raises(ValueError, match="unknown receiving country"):
        manifest_departure_records(manifest, "NARNIA")
    assert manifest_departure_records(manifest, "usa").direction == "outbound"


def test_passenger_roles() -> None:
    manifest = parse_paxlst(message(*PASSENGER_SMITH, "NAD+FM+++PILOT:PAT'", "DTM+329:700101'", "NAT+2+USA'")).manifests[0]
    assert [t.role for t in manifest.travellers] == [PASSENGER, CREW]
    assert any("passenger list (BGM 745) names crew" in w for w in manifest.warnings)


# --- airport table ----------------------------------------------------------------------------------


def test_bundled_airports_cover_the_busy_international_airports_of_every_continent() -> None:
    table = bundled_airports()
    assert len(table) >= 300
    known = {
        "JFK": "USA", "LHR": "GBR", "CDG": "FRA", "FRA": "DEU", "DXB": "ARE", "SIN": "SGP", "HND": "JPN",
        "GRU": "BRA", "JNB": "ZAF", "SYD": "AUS", "YYZ": "CAN", "MEX": "MEX", "IST": "TUR", "DEL": "IND",
        "ADD": "ETH", "LCA": "CYP", "UVF": "LCA", "SJU": "PRI", "BSL": "FRA", "HKG": "HKG", "AKL": "NZL",
    }
    assert {code: table.country_of(code) for code in known} == known
    assert all(airport.country in ISO_ALPHA3 for airport in table)
    assert len({airport.country for airport in table}) >= 150


def test_airport_lookup_ignores_case_and_unknown_codes_are_none() -> None:
    assert bundled_airports().country_of("lhr") == "GBR"
    assert bundled_airports().country_of("QQQ") is None


def test_an_airport_table_refuses_a_country_code_that_is_not_iso() -> None:
    with pytest.raises(ParseError, match="'UK' is not an ISO 3166-1 alpha-3") as caught:
        AirportTable.from_csv_text("# comment\niata,country_alpha3,name\nLHR,UK,Heathrow\n")
    assert caught.value.line == 3


def test_the_airport_table_is_not_loaded_at_import_time() -> None:
    code = (
        "import stayledger.formats.paxlst, stayledger.formats.airports as a;"
        "print(a.bundled_airports.cache_info().currsize)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "0"
