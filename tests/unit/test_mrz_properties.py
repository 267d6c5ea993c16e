"""Properties of the MRZ parser that must hold for every document and every input.

Fast by default. A larger fuzz run: ``STAYLEDGER_FUZZ=1`` (20,000 examples per property and 500,000 random
mutations), or ``STAYLEDGER_FUZZ=N`` for N examples and 25*N mutations.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stayledger.domain.countries import normalise_country
from stayledger.errors import ParseError
from stayledger.formats.mrz import (
    FORMATS,
    MrzResult,
    build_mrz,
    identity_fields,
    parse_mrz,
    render_text,
    to_json_dict,
)

_FUZZ = os.environ.get("STAYLEDGER_FUZZ", "").strip()
if _FUZZ.isdigit() and int(_FUZZ) > 1:
    EXAMPLES = int(_FUZZ)
elif _FUZZ and _FUZZ != "0":
    EXAMPLES = 20_000
else:
    EXAMPLES = 0
MUTATIONS = 25 * EXAMPLES if EXAMPLES else 3_000

ROUND_TRIP = settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(
    max_examples=EXAMPLES or 150,
    deadline=timedelta(milliseconds=250),  # a parse takes microseconds: anything near this is a hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
LETTERS = ALPHABET[:26]
STATES = ["FRA", "USA", "D", "DEU", "GBR", "GBD", "UNO", "XXA", "XXB", "NLD", "IND", "BRA"]
NAME_WIDTH = {"TD1": 30, "TD2": 31, "TD3": 39, "MRVA": 39, "MRVB": 31}
OPTIONAL_WIDTH = {"TD1": 15, "TD2": 7, "TD3": 14, "MRVA": 16, "MRVB": 8}
SIZES = {"TD1": (30, 3), "TD2": (36, 2), "TD3": (44, 2), "MRVA": (44, 2), "MRVB": (36, 2)}

words = st.text(alphabet=LETTERS, min_size=1, max_size=9)
todays = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@st.composite
def documents(draw: st.DrawFn, fmt: str | None = None) -> tuple[dict, date]:
    """Fields of a document that fits its format, and a reference date that reads its years back."""
    fmt = fmt or draw(st.sampled_from(FORMATS))
    today = draw(todays)
    if fmt in ("MRVA", "MRVB"):
        code = "V" + draw(st.sampled_from(["", "D", "S"]))
    elif fmt == "TD3":
        code = "P" + draw(st.sampled_from(["", "D", "O", "S"]))
    else:
        code = draw(st.sampled_from(["I", "ID", "A", "AC", "C", "IR"]))
    surname = draw(st.lists(words, min_size=1, max_size=3))
    given_names = draw(st.lists(words, max_size=3))
    name = "<".join(surname) + ("<<" + "<".join(given_names) if given_names else "")
    assume(len(name) <= NAME_WIDTH[fmt])
    longest = 9 if fmt not in ("TD1", "TD2") else 9 + OPTIONAL_WIDTH[fmt] - 1
    number = draw(st.text(alphabet=ALPHABET[:36], min_size=1, max_size=longest))
    optional = draw(st.text(alphabet=ALPHABET[:36], max_size=OPTIONAL_WIDTH[fmt]))
    if len(number) > 9:
        used = len(number) - 9 + 1 + (1 + len(optional) if optional else 0)
        assume(used <= OPTIONAL_WIDTH[fmt])
    born = today - timedelta(days=draw(st.integers(min_value=0, max_value=99 * 365)))
    expires = draw(st.dates(min_value=date(today.year - 79, 1, 1), max_value=date(today.year + 20, 12, 31)))
    fields = {
        "fmt": fmt,
        "document_code": code,
        "issuing_state": draw(st.sampled_from(STATES)),
        "surname": " ".join(surname),
        "given_names": " ".join(given_names),
        "document_number": number,
        "nationality": draw(st.sampled_from(STATES)),
        "date_of_birth": born,
        "sex": draw(st.sampled_from(["M", "F", "X", None])),
        "expiry_date": expires,
        "optional_data": optional,
    }
    return fields, today


def _build(fields: dict) -> list[str]:
    fields = dict(fields)
    return build_mrz(fields.pop("fmt"), **fields)


@pytest.mark.parametrize("fmt", FORMATS)
@ROUND_TRIP
@given(data=st.data())
def test_a_zone_built_from_fields_reads_back_as_those_fields(fmt: str, data: st.DataObject) -> None:
    fields, today = data.draw(documents(fmt))
    lines = _build(fields)
    width, count = SIZES[fmt]
    assert len(lines) == count and all(len(line) == width for line in lines)

    result = parse_mrz(lines, today)
    assert result.format == fmt
    assert result.valid, result.checks
    assert result.document_code == fields["document_code"]
    assert result.issuing_state == normalise_country(fields["issuing_state"])
    assert result.nationality == normalise_country(fields["nationality"])
    assert result.surname == fields["surname"]
    assert result.given_names == (fields["given_names"] or None)
    assert result.document_number == fields["document_number"]
    assert result.date_of_birth == fields["date_of_birth"].isoformat()
    assert result.expiry_date == fields["expiry_date"].isoformat()
    assert result.sex == fields["sex"]
    assert result.optional_data == fields["optional_data"]
    assert result.long_number_convention == ("without_filler" if len(fields["document_number"]) > 9 else None)
    name = lines[2] if fmt == "TD1" else lines[0][5:]
    assert result.name_possibly_truncated == (name[-1] != "<")


def _assert_consistent(result: MrzResult) -> None:
    """What every result promises, whatever the input."""
    assert result.format in FORMATS
    assert result.valid == all(result.checks.values())
    assert json.loads(json.dumps(to_json_dict(result))) == to_json_dict(result)
    assert isinstance(render_text(result), str)
    assert all(isinstance(value, str) and value for value in identity_fields(result).values())
    if result.date_of_birth is not None:
        assert len(result.date_of_birth) in (4, 7, 10)


def _parse_or_refuse(given_input: object, today: date = date(2026, 5, 1)) -> None:
    try:
        result = parse_mrz(given_input, today)  # type: ignore[arg-type]
    except ParseError as error:
        assert error.reason
        if error.column is not None:
            assert error.column >= 1
        return
    _assert_consistent(result)


@FUZZ
@given(text=st.text())
def test_arbitrary_text_is_read_or_refused_with_a_parse_error(text: str) -> None:
    _parse_or_refuse(text)


@FUZZ
@given(lines=st.lists(st.text(max_size=50), max_size=4))
def test_arbitrary_lists_of_lines_are_read_or_refused_with_a_parse_error(lines: list[str]) -> None:
    _parse_or_refuse(lines)


@FUZZ
@given(shape=st.sampled_from([(30, 3), (36, 2), (44, 2), (30, 2), (36, 3), (43, 2)]), data=st.data())
def test_lines_of_mrz_characters_are_read_or_refused_with_a_parse_error(
    shape: tuple[int, int], data: st.DataObject
) -> None:
    width, count = shape
    line = st.text(alphabet=ALPHABET, min_size=width, max_size=width)
    _parse_or_refuse(data.draw(st.lists(line, min_size=count, max_size=count)))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[list[str], date]:
    """A valid zone with a few characters replaced, inserted or deleted, or a line cut short."""
    fields, today = draw(documents())
    lines = _build(fields)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        line = lines[index]
        at = draw(st.integers(min_value=0, max_value=len(line)))
        char = draw(st.one_of(st.sampled_from(ALPHABET), st.characters()))
        how = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        if how == "replace":
            line = line[:at] + char + line[at + 1 :]
        elif how == "insert":
            line = line[:at] + char + line[at:]
        elif how == "delete":
            line = line[:at] + line[at + 1 :]
        else:
            line = line[:at]
        lines[index] = line
    return lines, today


@FUZZ
@given(case=mutated())
def test_a_damaged_zone_is_read_or_refused_with_a_parse_error(case: tuple[list[str], date]) -> None:
    lines, today = case
    _parse_or_refuse(lines, today)
    _parse_or_refuse("".join(lines), today)


def _checked_digit_positions(fmt: str) -> list[tuple[int, int]]:
    """(line, index) of characters covered by the document number, birth and expiry check digits."""
    if fmt == "TD1":
        return [(0, i) for i in range(5, 14)] + [(1, i) for i in range(0, 6)] + [(1, i) for i in range(8, 14)]
    return [(1, i) for i in range(0, 9)] + [(1, i) for i in range(13, 19)] + [(1, i) for i in range(21, 27)]


@ROUND_TRIP
@given(case=documents(), data=st.data())
def test_a_single_misread_digit_in_a_checked_field_never_passes(case: tuple[dict, date], data: st.DataObject) -> None:
    fields, today = case
    lines = _build(fields)
    digits = [(row, i) for row, i in _checked_digit_positions(fields["fmt"]) if lines[row][i].isdigit()]
    assume(digits)
    row, i = data.draw(st.sampled_from(digits))
    misread = data.draw(st.sampled_from([d for d in "0123456789" if d != lines[row][i]]))
    lines[row] = lines[row][:i] + misread + lines[row][i + 1 :]
    try:
        result = parse_mrz(lines, today)
    except ParseError:
        return  # e.g. the birth date became 31 February: refused, which is also not passing
    assert not result.valid


def test_a_storm_of_random_mutations_never_raises_anything_but_parse_error() -> None:
    seed = random.randrange(2**32) if EXAMPLES else 20260501
    rng = random.Random(seed)
    today = date(2026, 5, 1)
    noise = ALPHABET + "é <\n\t-ß\x00"
    bases = [
        build_mrz(fmt, document_code=code, issuing_state="D", surname="MUSTERMANN", given_names="ERIKA",
                  document_number=number, nationality="DEU", date_of_birth=date(1964, 8, 12), sex="F",
                  expiry_date=date(2031, 10, 31), optional_data="")
        for fmt, code, number in [("TD1", "ID", "T22000129"), ("TD1", "I", "D23145890734"), ("TD2", "I", "C00000000"),
                                  ("TD3", "P", "C01X0006H"), ("MRVA", "V", "L8988901C"), ("MRVB", "V", "L8988901C")]
    ]
    for _ in range(MUTATIONS):
        lines = list(rng.choice(bases))
        for _ in range(rng.randint(1, 6)):
            row = rng.randrange(len(lines))
            at = rng.randrange(len(lines[row]) + 1)
            lines[row] = lines[row][:at] + rng.choice(noise) + lines[row][at + rng.choice((0, 1)) :]
        try:
            _assert_consistent(parse_mrz(lines, today))
        except ParseError:
            pass
        except Exception as error:  # pragma: no cover - the failure report
            raise AssertionError(f"seed {seed}: {lines!r} raised {error!r}") from error
