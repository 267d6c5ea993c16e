"""ICAO 9303 machine readable zones: what a border record can rely on when it reads a document."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from stayledger.domain.events import parse_event
from stayledger.errors import InvalidRecord, ParseError
from stayledger.formats.mrz import (
    MrzResult,
    build_mrz,
    check_digit,
    identity_fields,
    parse_mrz,
    render_text,
    to_json_dict,
)

TODAY = date(2026, 5, 1)
SPECIMENS = Path(__file__).resolve().parents[1] / "data" / "mrz_specimens.txt"

TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TD1_LONG = ["I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"]
TD1_LONG_WITH_FILLER = [
    "IDBEL000590240<6013<<<<<<<<<<<",
    "8512017F1311048BEL851201002007",
    "REINARTZ<<ULRIKE<KATIA<E<<<<<<",
]


# ---------------------------------------------------------------------------------------------------------
# The public specimens: every block parses and its check-digit verdict is the one the file records.


@dataclass(frozen=True)
class Specimen:
    ident: str
    fmt: str
    lines: list[str]
    verdict: str


def read_specimens() -> list[Specimen]:
    specimens = []
    for block in re.split(r"\n\s*\n", SPECIMENS.read_text(encoding="utf-8")):
        rows = [row for row in block.strip().splitlines() if not row.startswith("#")]
        if not rows:
            continue
        header = re.match(r"\[(\d+)\] (\w+) ", rows[0])
        assert header, rows[0]
        lines = [row for row in rows[1:] if not row.startswith(("source:", "check digits:"))]
        verdict = next(row for row in rows if row.startswith("check digits:")).removeprefix("check digits:").strip()
        specimens.append(Specimen(header[1], header[2], lines, verdict))
    return specimens


ALL_SPECIMENS = read_specimens()
SPECIMEN = {s.ident: s.lines for s in ALL_SPECIMENS}

# What a reader sees on each specimen (reference date 2026-05-01):
# format, surname, given names, document number, birth, expiry, sex, issuing state, nationality.
EXPECTED = {
    "01": ("TD3", "ERIKSSON", "ANNA MARIA", "L898902C3", "1974-08-12", "2012-04-15", "F", "UTO", "UTO"),
    "02": ("TD3", "ERIKSSON", "ANNA MARIA", "L898902C", "1969-08-06", "1994-06-23", "F", "UTO", "UTO"),
    "03": ("TD1", "ERIKSSON", "ANNA MARIA", "D23145890", "1974-08-12", "2012-04-15", "F", "UTO", "UTO"),
    "04": ("TD1", "ERIKSSON", "ANNA MARIA", "D23145890", "1974-08-12", "2012-04-15", "F", "UTO", "UTO"),
    "05": ("TD1", "STEVENSON", "PETER JOHN", "D23145890734", "1934-07-12", "1995-07-12", "M", "UTO", "UTO"),
    "06": ("TD2", "ERIKSSON", "ANNA MARIA", "D23145890", "1974-08-12", "2012-04-15", "F", "UTO", "UTO"),
    "07": ("TD2", "STEVENSON", "PETER", "D23145890", "1934-07-12", "1995-07-12", "M", "UTO", "UTO"),
    "08": ("MRVA", "ERIKSSON", "ANNA MARIA", "L8988901C", "1940-09-07", "1996-12-10", "F", "UTO", "XXX"),
    "09": ("MRVB", "ERIKSSON", "ANNA MARIA", "L8988901C", "1940-09-07", "1996-12-10", "F", "UTO", "XXX"),
    "10": ("TD3", "MUSTERMANN", "ERIKA", "C01X0006H", "1964-08-12", "2017-10-31", "F", "DEU", "DEU"),
    "11": ("TD3", "DE BRUIJN", "WILLEKE LISELOTTE", "SPECI2014", "1965-03-10", "2024-03-09", "F", "NLD", "NLD"),
    "12": ("TD2", "MUSTERMANN", "ERIKA", "C<0000000", "1964-08-12", "2011-02-01", None, "DEU", "DEU"),
    "13": ("TD1", "SPECIMEN", "SPECIMEN", "600001795015", "2013-01-01", "2023-11-20", "F", "BEL", "BEL"),
    "14": ("TD1", "REINARTZ", "ULRIKE KATIA E", "000590240601", "1985-12-01", "2013-11-04", "F", "BEL", "BEL"),
}


def test_the_specimen_file_holds_the_fourteen_public_specimens() -> None:
    assert [s.ident for s in ALL_SPECIMENS] == sorted(EXPECTED)


@pytest.mark.parametrize("specimen", ALL_SPECIMENS, ids=lambda s: s.ident)
def test_each_public_specimen_reads_as_printed(specimen: Specimen) -> None:
    result = parse_mrz(specimen.lines, TODAY)
    fmt, surname, given, number, born, expires, sex, issuer, nationality = EXPECTED[specimen.ident]
    assert result.format == specimen.fmt == fmt
    assert (result.surname, result.given_names, result.document_number) == (surname, given, number)
    assert (result.date_of_birth, result.expiry_date, result.sex) == (born, expires, sex)
    assert (result.issuing_state, result.nationality) == (issuer, nationality)


@pytest.mark.parametrize("specimen", ALL_SPECIMENS, ids=lambda s: s.ident)
def test_each_public_specimen_gets_the_check_digit_verdict_the_file_records(specimen: Specimen) -> None:
    result = parse_mrz(specimen.lines, TODAY)
    # Strict Doc 9303: the long-number check digit excludes the '<' at position 15.
    strictly_valid = result.valid and result.long_number_convention != "with_filler"
    if specimen.verdict == "valid":
        assert strictly_valid, result.checks
    else:
        assert specimen.verdict.startswith("INVALID as printed")
        assert not strictly_valid
        # ... and yet the older national convention (the '<' counted) validates it, and we say so.
        assert result.valid
        assert result.long_number_convention == "with_filler"


def test_optional_data_is_kept_without_fillers_where_each_format_puts_it() -> None:
    assert parse_mrz(SPECIMEN["01"], TODAY).optional_data == "ZE184226B"  # TD3: the personal number
    assert parse_mrz(SPECIMEN["04"], TODAY).optional_data == "ABC"  # TD1: line 1
    belgian = parse_mrz(SPECIMEN["13"], TODAY)
    assert (belgian.optional_data, belgian.optional_data_2) == ("", "13010198739")  # TD1: line 2
    assert parse_mrz(SPECIMEN["08"], TODAY).optional_data == "6ZE184226B"  # MRV-A: 29-44


def test_a_long_card_number_is_checked_without_the_filler_by_default() -> None:
    result = parse_mrz(TD1_LONG, TODAY)
    assert result.document_number == "D23145890734"
    assert result.long_number_convention == "without_filler"
    assert result.checks["document_number"] and result.valid
    assert result.optional_data == ""


def test_an_older_card_whose_long_number_check_counts_the_filler_is_accepted_and_named() -> None:
    result = parse_mrz(TD1_LONG_WITH_FILLER, TODAY)
    assert check_digit("000590240601") != 3 and check_digit("000590240<601") == 3
    assert result.document_number == "000590240601"
    assert result.long_number_convention == "with_filler"
    assert result.checks["document_number"]
    assert any("position 15" in warning for warning in result.warnings)


def test_a_long_number_whose_check_digit_matches_neither_convention_fails_the_check() -> None:
    lines = [TD1_LONG[0].replace("7349", "7348"), *TD1_LONG[1:]]
    result = parse_mrz(lines, TODAY)
    assert result.document_number == "D23145890734"
    assert result.long_number_convention is None
    assert not result.checks["document_number"]
    assert not result.valid


def test_a_card_with_a_filler_instead_of_a_check_digit_and_no_continuation_fails_the_check() -> None:
    lines = ["I<UTOD23145890<<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", TD1[2]]
    result = parse_mrz(lines, TODAY)
    assert result.document_number == "D23145890"
    assert not result.checks["document_number"]
    assert any("no check digit" in warning for warning in result.warnings)


# ---------------------------------------------------------------------------------------------------------
# Check digits


@pytest.mark.parametrize(("field", "digit"), [("L898902C3", 6), ("740812", 2), ("120415", 9), ("D23145890", 7)])
def test_check_digits_match_the_worked_examples_of_doc_9303(field: str, digit: int) -> None:
    assert check_digit(field) == digit


def test_a_filler_counts_as_zero_and_lower_case_as_upper() -> None:
    assert check_digit("<<<<<<") == 0
    assert check_digit("l898902c3") == 6
    assert check_digit("AB<") == check_digit("AB0")


def test_a_check_digit_over_a_character_outside_the_mrz_alphabet_names_its_position() -> None:
    with pytest.raises(ParseError) as info:
        check_digit("AB-1")
    assert info.value.column == 3
    assert "'-'" in info.value.reason


def test_a_wrong_check_digit_is_a_verdict_not_an_exception() -> None:
    misread = [TD3[0], "L898902C3" + "5" + TD3[1][10:]]
    result = parse_mrz(misread, TODAY)
    assert result.checks["document_number"] is False
    assert result.checks["composite"] is False
    assert result.checks["date_of_birth"] and result.checks["expiry_date"] and result.checks["personal_number"]
    assert result.valid is False


def test_a_misread_birth_date_digit_is_caught_by_its_check_digit() -> None:
    misread = [TD3[0], TD3[1][:13] + "740813" + TD3[1][19:]]
    result = parse_mrz(misread, TODAY)
    assert result.date_of_birth == "1974-08-13"
    assert not result.checks["date_of_birth"]
    assert not result.valid


def test_an_empty_personal_number_may_carry_a_filler_as_its_check_digit() -> None:
    lines = build_mrz("TD3", **_fields(optional_data=""))
    assert lines[1][42] == "<"
    result = parse_mrz(lines, TODAY)
    assert result.checks["personal_number"] and result.valid


def test_a_filler_check_digit_over_a_personal_number_that_is_present_fails() -> None:
    line2 = TD3[1][:42] + "<" + TD3[1][43:]
    result = parse_mrz([TD3[0], line2], TODAY)
    assert not result.checks["personal_number"]


def test_visas_have_no_composite_check_and_passports_check_the_personal_number() -> None:
    assert set(parse_mrz(SPECIMEN["08"], TODAY).checks) == {"document_number", "date_of_birth", "expiry_date"}
    assert set(parse_mrz(TD3, TODAY).checks) == {
        "document_number", "date_of_birth", "expiry_date", "personal_number", "composite"
    }
    assert set(parse_mrz(TD1, TODAY).checks) == {"document_number", "date_of_birth", "expiry_date", "composite"}


# ---------------------------------------------------------------------------------------------------------
# Tolerant input and format detection


@pytest.mark.parametrize(
    "given",
    [
        "\n".join(TD3),
        "\r\n".join(TD3) + "\r\n",
        "  " + TD3[0].lower() + "  \n\n  " + TD3[1] + "\t\n",
        "".join(TD3),
        " ".join(TD3),
        TD3,
        tuple(TD3),
        ["", TD3[0] + " ", " " + TD3[1].lower(), ""],
    ],
    ids=["lf", "crlf", "lower-and-whitespace", "run-together", "space-separated", "list", "tuple", "list-blank"],
)
def test_the_same_passport_reads_the_same_however_the_lines_are_given(given: object) -> None:
    assert parse_mrz(given, TODAY) == parse_mrz(TD3, TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lines", "fmt"),
    [(TD1, "TD1"), (TD2, "TD2"), (TD3, "TD3"), ("".join(TD1), "TD1"), ("".join(TD2), "TD2")],
)
def test_the_format_follows_from_the_line_count_and_length(lines: object, fmt: str) -> None:
    assert parse_mrz(lines, TODAY).format == fmt  # type: ignore[arg-type]


def test_a_two_line_zone_whose_code_starts_with_v_is_a_visa() -> None:
    assert parse_mrz(SPECIMEN["08"], TODAY).format == "MRVA"
    assert parse_mrz(SPECIMEN["09"], TODAY).format == "MRVB"
    assert parse_mrz(SPECIMEN["08"], TODAY).document_code == "V"


# ---------------------------------------------------------------------------------------------------------
# Names, sex, state codes


def test_a_single_filler_inside_an_identifier_is_a_space_and_a_double_filler_separates_them() -> None:
    result = parse_mrz(SPECIMEN["11"], TODAY)
    assert (result.surname, result.given_names) == ("DE BRUIJN", "WILLEKE LISELOTTE")


def test_a_name_with_only_a_primary_identifier_has_no_given_names() -> None:
    lines = build_mrz("TD3", **_fields(surname="SUKARNO", given_names=""))
    result = parse_mrz(lines, TODAY)
    assert (result.surname, result.given_names) == ("SUKARNO", None)


def test_a_name_that_fills_its_field_may_have_been_truncated() -> None:
    long_name = "WOLFESCHLEGELSTEINHAUSENBERGERDORFF"
    result = parse_mrz(build_mrz("TD3", **_fields(surname=long_name, given_names="HUBERT BLAINE")), TODAY)
    assert result.name_possibly_truncated
    assert result.surname == long_name and result.given_names == "HU"
    assert not parse_mrz(TD3, TODAY).name_possibly_truncated


def test_sex_may_be_x_or_left_unspecified() -> None:
    assert parse_mrz(build_mrz("TD2", **_fields(sex="X")), TODAY).sex == "X"
    assert parse_mrz(build_mrz("TD2", **_fields(sex=None)), TODAY).sex is None


def test_germany_written_d_is_read_as_deu_and_the_printed_code_is_kept() -> None:
    result = parse_mrz(SPECIMEN["10"], TODAY)
    assert (result.issuing_state, result.issuing_state_raw) == ("DEU", "D<<")
    assert (result.nationality, result.nationality_raw) == ("DEU", "D<<")


@pytest.mark.parametrize("code", ["GBD", "UNO", "XXA", "XXB", "EUE"])
def test_icao_special_codes_stay_as_they_are(code: str) -> None:
    result = parse_mrz(build_mrz("TD3", **_fields(issuing_state=code, nationality=code)), TODAY)
    assert (result.issuing_state, result.nationality) == (code, code)
    assert result.warnings == ()


def test_an_unknown_state_code_is_kept_and_warned_about() -> None:
    result = parse_mrz(TD3, TODAY)
    assert result.issuing_state == "UTO"
    assert any("'UTO'" in warning for warning in result.warnings)
    assert result.valid  # warnings do not touch the check-digit verdict


# ---------------------------------------------------------------------------------------------------------
# Dates: centuries and unknown parts


def _td3_with(birth: str = "740812", expiry: str = "120415", today: date = TODAY) -> MrzResult:
    """A TD3 with the given raw date fields and correct check digits."""
    line2 = (
        "L898902C36UTO" + birth + str(check_digit(birth)) + "F" + expiry + str(check_digit(expiry))
        + "ZE184226B<<<<<" + str(check_digit("ZE184226B<<<<<"))
    )
    line2 += str(check_digit(line2[0:10] + line2[13:20] + line2[21:43]))
    return parse_mrz([TD3[0], line2], today)


def test_a_birth_date_takes_the_latest_century_that_puts_it_in_the_past() -> None:
    assert _td3_with(birth="250601", today=date(2025, 7, 1)).date_of_birth == "2025-06-01"
    assert _td3_with(birth="250601", today=date(2025, 6, 1)).date_of_birth == "2025-06-01"
    assert _td3_with(birth="250602", today=date(2025, 6, 1)).date_of_birth == "1925-06-02"
    assert _td3_with(birth="990101").date_of_birth == "1999-01-01"


def test_an_expiry_date_is_read_up_to_twenty_years_ahead_else_in_the_past_century() -> None:
    assert _td3_with(expiry="461231").expiry_date == "2046-12-31"
    assert _td3_with(expiry="470101").expiry_date == "1947-01-01"
    assert _td3_with(expiry="240309").expiry_date == "2024-03-09"


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("7408<<", "1974-08"), ("7408XX", "1974-08"), ("74<<<<", "1974"), ("74XX<<", "1974"), ("<<<<<<", None)],
)
def test_a_birth_date_with_unknown_parts_becomes_a_partial_date(birth: str, expected: str | None) -> None:
    result = _td3_with(birth=birth)
    assert result.date_of_birth == expected
    assert result.checks["date_of_birth"]


def test_a_partial_birth_date_in_the_current_month_stays_in_this_century() -> None:
    assert _td3_with(birth="2605<<").date_of_birth == "2026-05"
    assert _td3_with(birth="2606<<").date_of_birth == "1926-06"


def test_a_document_without_an_expiry_date_has_none() -> None:
    assert _td3_with(expiry="<<<<<<").expiry_date is None


def test_a_leap_day_birth_date_is_read_in_a_leap_year() -> None:
    assert _td3_with(birth="000229").date_of_birth == "2000-02-29"
    with pytest.raises(ParseError, match="not a calendar date"):
        _td3_with(birth="010229")


# ---------------------------------------------------------------------------------------------------------
# Errors name the line, the position and the reason


def _error(lines: object) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_mrz(lines, TODAY)  # type: ignore[arg-type]
    return info.value


def test_an_unreadable_birth_date_names_its_line_and_position() -> None:
    error = _error([TD3[0], TD3[1][:13] + "74O812" + TD3[1][19:]])
    assert str(error) == "line 2, position 14: birth date '74O812' is not YYMMDD"


@pytest.mark.parametrize(
    ("line2", "column", "reason"),
    [
        (TD3[1][:13] + "741312" + TD3[1][19:], 14, "birth date '741312' has no month 13"),
        (TD3[1][:13] + "740230" + TD3[1][19:], 14, "birth date '740230' is not a calendar date"),
        (TD3[1][:21] + "12O415" + TD3[1][27:], 22, "expiry date '12O415' is not YYMMDD"),
        (TD3[1][:21] + "120431" + TD3[1][27:], 22, "expiry date '120431' is not a calendar date"),
        (TD3[1][:20] + "U" + TD3[1][21:], 21, "sex 'U' is not M, F, X or <"),
        (TD3[1][:10] + "U1O" + TD3[1][13:], 11, "nationality 'U1O' is not a state code (letters, padded with <)"),
    ],
)
def test_an_unreadable_field_names_its_line_position_and_reason(line2: str, column: int, reason: str) -> None:
    error = _error([TD3[0], line2])
    assert (error.line, error.column, error.reason) == (2, column, reason)


def test_a_digit_in_a_name_is_refused_at_its_position() -> None:
    error = _error(["P<UTOERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1]])
    assert (error.line, error.column) == (1, 12)


def test_a_character_outside_the_mrz_alphabet_is_refused_at_its_position() -> None:
    error = _error([TD3[0], TD3[1][:5] + "#" + TD3[1][6:]])
    assert (error.line, error.column) == (2, 6)
    error = _error([TD3[0], TD3[1][:5] + "é" + TD3[1][6:]])
    assert (error.line, error.column) == (2, 6)


def test_a_line_of_the_wrong_length_is_named() -> None:
    error = _error([TD3[0], TD3[1][:-1]])
    assert error.line == 2 and "43 characters" in error.reason and "44" in error.reason


@pytest.mark.parametrize("given", ["", "   \n  ", [], TD3[:1], TD3 * 2, "P<UTO", [TD3[0], 42], 42])
def test_input_that_is_not_an_mrz_is_refused_with_a_parse_error(given: object) -> None:
    _error(given)


def test_a_document_code_must_start_with_a_letter() -> None:
    error = _error(["1" + TD3[0][1:], TD3[1]])
    assert (error.line, error.column) == (1, 1)


# ---------------------------------------------------------------------------------------------------------
# Output: JSON, text, canonical identity fields


def test_the_json_form_has_the_agreed_keys_and_is_serialisable() -> None:
    data = to_json_dict(parse_mrz(TD1_LONG_WITH_FILLER, TODAY))
    required = {
        "format", "document_code", "issuing_state", "surname", "given_names", "document_number", "nationality",
        "date_of_birth", "expiry_date", "sex", "checks", "valid",
    }
    assert required <= set(data)
    assert set(data) - required <= {"long_number_convention", "name_possibly_truncated", "warnings"}
    assert data["long_number_convention"] == "with_filler"
    assert json.loads(json.dumps(data)) == data


def test_the_json_form_leaves_out_optional_data_which_may_hold_a_national_id_number() -> None:
    data = to_json_dict(parse_mrz(SPECIMEN["13"], TODAY))
    assert "13010198739" not in json.dumps(data)


def test_the_text_listing_shows_every_field_and_every_check_verdict() -> None:
    text = render_text(parse_mrz([TD3[0], "L898902C3" + "5" + TD3[1][10:]], TODAY))
    assert "ERIKSSON" in text and "ANNA MARIA" in text and "1974-08-12" in text
    assert re.search(r"document_number\s+FAILED", text)
    assert re.search(r"date_of_birth\s+ok", text)
    assert re.search(r"Valid\s+NO", text)
    assert "'UTO'" in text  # the unknown-code warning


@pytest.mark.parametrize(("code", "document_type"), [("P", "P"), ("PD", "P"), ("ID", "I"), ("AC", "I"),
                                                     ("C", "I"), ("V", "V"), ("VD", "V"), ("X", "O")])
def test_the_document_type_follows_from_the_first_letter_of_the_code(code: str, document_type: str) -> None:
    fmt = "MRVB" if code.startswith("V") else "TD2"
    result = parse_mrz(build_mrz(fmt, **_fields(document_code=code)), TODAY)
    assert identity_fields(result)["document_type"] == document_type


def test_identity_fields_are_canonical_event_fields_the_schema_accepts() -> None:
    fields = identity_fields(parse_mrz(SPECIMEN["10"], TODAY))
    assert fields == {
        "surname": "MUSTERMANN",
        "given_names": "ERIKA",
        "date_of_birth": "1964-08-12",
        "sex": "F",
        "nationality": "DEU",
        "document_type": "P",
        "document_number": "C01X0006H",
        "document_issuer": "DEU",
    }
    event = parse_event({"event_id": "e1", "kind": "departure", "occurred_on": "2026-04-30", "source": "mrz",
                         **fields})
    assert event.document_number == "C01X0006H"


def test_identity_fields_leave_out_what_the_document_does_not_say() -> None:
    fields = identity_fields(parse_mrz(SPECIMEN["12"], TODAY))
    assert "sex" not in fields


# ---------------------------------------------------------------------------------------------------------
# Building zones


def _fields(**overrides: object) -> dict:
    fields: dict = {
        "document_code": "P",
        "issuing_state": "FRA",
        "surname": "MARTIN",
        "given_names": "CLAIRE",
        "document_number": "12AB34567",
        "nationality": "FRA",
        "date_of_birth": date(1988, 3, 14),
        "sex": "F",
        "expiry_date": date(2031, 9, 30),
        "optional_data": "",
    }
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("fmt", ["TD1", "TD2", "TD3", "MRVA", "MRVB"])
def test_a_built_zone_has_the_right_shape_and_valid_check_digits(fmt: str) -> None:
    code = "V" if fmt.startswith("MRV") else ("I" if fmt in ("TD1", "TD2") else "P")
    lines = build_mrz(fmt, **_fields(document_code=code, optional_data="X12"))
    width, count = {"TD1": (30, 3), "TD2": (36, 2), "TD3": (44, 2), "MRVA": (44, 2), "MRVB": (36, 2)}[fmt]
    assert len(lines) == count and all(len(line) == width for line in lines)
    result = parse_mrz(lines, TODAY)
    assert result.format == fmt and result.valid
    assert result.optional_data == "X12"


def test_names_are_transliterated_the_doc_9303_way_when_building() -> None:
    lines = build_mrz("TD3", **_fields(surname="Müller-Lüdenscheidt", given_names="Zoë  O'Hara"))
    result = parse_mrz(lines, TODAY)
    assert (result.surname, result.given_names) == ("MUELLER LUEDENSCHEIDT", "ZOE OHARA")


@pytest.mark.parametrize("fmt", ["TD1", "TD2"])
def test_a_long_document_number_is_built_the_long_number_way(fmt: str) -> None:
    lines = build_mrz(fmt, **_fields(document_code="I", document_number="D23145890734", optional_data="AB"))
    result = parse_mrz(lines, TODAY)
    assert result.document_number == "D23145890734"
    assert result.long_number_convention == "without_filler"
    assert result.optional_data == "AB"
    assert result.valid


def test_building_refuses_fields_an_mrz_cannot_hold_and_names_them_all() -> None:
    with pytest.raises(InvalidRecord) as info:
        build_mrz("TD3", **_fields(document_number="D23145890734", sex="Q", surname="Пётр", nationality="12"))
    assert {e.field for e in info.value.errors} == {"document_number", "sex", "surname", "nationality"}


def test_a_visa_must_have_a_code_starting_with_v_and_a_passport_must_not() -> None:
    with pytest.raises(InvalidRecord, match="document_code"):
        build_mrz("MRVA", **_fields(document_code="P"))
    with pytest.raises(InvalidRecord, match="document_code"):
        build_mrz("TD3", **_fields(document_code="V"))
