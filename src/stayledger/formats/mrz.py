"""ICAO Doc 9303 machine readable zones: parse TD1, TD2, TD3, MRV-A and MRV-B, and build them.

Why our own parser: the ``mrz`` package on PyPI is unmaintained and rejects valid TD1 identity cards whose
document number is longer than nine characters (Doc 9303 Part 5: the first nine characters in positions
6-14, ``<`` at 15, the rest of the number and its check digit at the start of the optional data). Card
issuers differ in how they compute that check digit, so we accept both conventions (without and with the
``<`` at position 15) and say which one validated. We read the same scheme on TD2 cards too (``<`` at
position 10, the rest of the number in the optional data at 29-35).

Pure core: standard library only, and no clock - the caller passes ``today``.

What the parser does:
- Tolerates lower case, surrounding whitespace, CR/LF, a list of lines, or the lines run together into one
  string of 90 (TD1), 72 (TD2/MRV-B) or 88 (TD3/MRV-A) characters. The format follows from the line count
  and length; a document code starting with ``V`` makes a 2-line zone a visa (MRV-A or MRV-B).
- Check-digit failures are verdicts (``checks``, ``valid``), never exceptions: a misread digit must still
  reach a person who can look at the document. A ``<`` in a check-digit position is accepted only over an
  all-filler field (Doc 9303 allows it for an empty personal number).
- Anything that cannot be read at all (wrong length, a character outside A-Z 0-9 <, a date that is not
  YYMMDD, a digit in a name) raises ``ParseError`` naming the line, the 1-based position and the reason.

Two-digit years (no clock in the core, so both rules are relative to the ``today`` passed in):
- Birth date: the latest century that does not put the date after ``today`` (a birth is in the past). A
  person more than 99 years old therefore reads as a century too young; the MRZ cannot say otherwise.
- Expiry date: the one year in [today.year - 79, today.year + 20] with those last two digits. Documents
  are normally valid for ten years at most, so a year further ahead than 20 is read as one in the past.
- Unknown parts of a birth date (``<<``, or ``XX`` as some issuers print) give a partial date matching
  the canonical schema: ``YYYY-MM`` when the day is unknown, ``YYYY`` when the month is, ``None`` when
  the year is. An all-filler expiry (no expiry printed) gives ``None``.

Not supported (on purpose or not yet):
- Repairing OCR errors (O/0, I/1, ...): we never guess a corrected character; the check digits expose them.
- Non-ICAO national layouts of the same sizes (e.g. the pre-2021 French identity card, 2x36; the Swiss
  driving licence, 3x30): they fail with a ParseError or show failing checks.
- Reverse transliteration of names (an MRZ name is A-Z only; ``MUELLER`` stays ``MUELLER``).
- The builder truncates names that do not fit by cutting the end, not with Doc 9303's truncation rules.

Fuzzing: the property tests run a small hypothesis budget by default; a larger run is
``STAYLEDGER_FUZZ=1 python -m pytest tests/unit/test_mrz_properties.py`` (``STAYLEDGER_FUZZ=N`` sets the
number of examples per property, default 20000 when the variable is ``1``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from stayledger.domain.countries import ICAO_ALIASES, KNOWN_CODES, normalise_country
from stayledger.errors import FieldError, InvalidRecord, ParseError

__all__ = [
    "FORMATS",
    "MrzResult",
    "build_mrz",
    "check_digit",
    "identity_fields",
    "parse_mrz",
    "render_text",
    "to_json_dict",
]

FORMATS: Final = ("TD1", "TD2", "TD3", "MRVA", "MRVB")
_FORMAT_TITLES: Final = {
    "TD1": "TD1 (identity card, 3x30)",
    "TD2": "TD2 (official travel document, 2x36)",
    "TD3": "TD3 (passport, 2x44)",
    "MRVA": "MRV-A (visa, 2x44)",
    "MRVB": "MRV-B (visa, 2x36)",
}

_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS: Final = "0123456789"
_ALLOWED: Final = frozenset(_LETTERS + _DIGITS + "<")
_LETTERS_AND_FILLER: Final = frozenset(_LETTERS + "<")
_SEXES: Final = frozenset("MFX")
_UNKNOWN_PART: Final = frozenset({"<<", "XX"})
_DIGIT_VALUE: Final = {d: int(d) for d in _DIGITS}
# The reference date's year must leave the century rules four-digit years.
_EARLIEST_TODAY: Final = 1100
_LATEST_TODAY: Final = 9979
_MONTH_DAYS: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# bytes.translate table: an MRZ character's byte -> its check-digit value (0-9, A-Z = 10-35, '<' = 0).
_VALUES: Final = bytes(
    int(chr(b)) if chr(b) in _DIGITS else (b - 55 if chr(b) in _LETTERS else 0) for b in range(256)
)

# Every known state code as printed (padded with '<' to three) -> its canonical code: one lookup per field.
_PRINTED_STATES: Final = {code.ljust(3, "<"): normalise_country(code) for code in (*KNOWN_CODES, *ICAO_ALIASES)}

# (line length, line count) for each format.
_SIZES: Final = {"TD1": (30, 3), "TD2": (36, 2), "TD3": (44, 2), "MRVA": (44, 2), "MRVB": (36, 2)}
_JOINED: Final = {90: (30, 3), 72: (36, 2), 88: (44, 2)}


@dataclass(frozen=True, slots=True)
class MrzResult:
    """What a machine readable zone says, with a verdict for every check digit.

    ``issuing_state``/``nationality`` are alpha-3 (``D<<`` becomes ``DEU``) or an ICAO special code
    (``GBD``, ``UNO``, ``XXA`` ...); an unknown code is kept as printed (without fillers) and warned about.
    ``valid`` is true when every check digit verifies; warnings do not affect it.
    """

    format: str
    document_code: str
    issuing_state: str
    issuing_state_raw: str
    surname: str
    given_names: str | None
    document_number: str
    nationality: str
    nationality_raw: str
    date_of_birth: str | None
    expiry_date: str | None
    sex: str | None
    optional_data: str  # TD3: the personal number; TD1: line 1 optional data after any long number
    optional_data_2: str  # TD1 line 2 optional data; empty for the other formats
    checks: dict[str, bool]
    long_number_convention: str | None  # None, "without_filler" or "with_filler"
    name_possibly_truncated: bool
    valid: bool
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# Check digits


def _weighted(values: bytes) -> int:
    """Check digit of already-translated values: weights 7, 3, 1 repeating, sum mod 10."""
    return (sum(values[0::3]) * 7 + sum(values[1::3]) * 3 + sum(values[2::3])) % 10


def _first_bad(text: str, allowed: frozenset[str]) -> int:
    """0-based index of the first character of ``text`` not in ``allowed`` (after upper-casing)."""
    for index, char in enumerate(text):
        if not char.isascii() or char.upper() not in allowed:
            return index
    return -1


def check_digit(field: str) -> int:
    """The Doc 9303 check digit of one MRZ field (digits count as their value, A-Z as 10-35, ``<`` as 0)."""
    text = field.upper()
    if len(text) != len(field) or not text.isascii() or not _ALLOWED.issuperset(text):
        index = _first_bad(field, _ALLOWED)
        raise ParseError(f"character {field[index]!r} is not allowed in an MRZ field (A-Z, 0-9, <)", column=index + 1)
    return _weighted(text.encode("ascii").translate(_VALUES))


def _field_ok(line: str, values: bytes, start: int, end: int) -> bool:
    """Whether ``line[end]`` is the check digit of ``line[start:end]`` (``values``: the line translated)."""
    total = sum(values[start:end:3]) * 7 + sum(values[start + 1 : end : 3]) * 3 + sum(values[start + 2 : end : 3])
    if line[end] == _DIGITS[total % 10]:
        return True
    return line[end] == "<" and not line[start:end].strip("<")


# ---------------------------------------------------------------------------------------------------------
# Input: lines, format


def _lines(text: str | Sequence[str]) -> list[str]:
    """The upper-case MRZ lines of the input; raise ParseError on characters that cannot be in an MRZ.

    Fast path: whitespace anywhere separates lines, and the pieces already have a valid shape. Anything
    else goes through ``_lines_one_by_one``, which numbers the lines as given for precise errors.
    """
    joined = text if isinstance(text, str) else _joined(text)
    pieces = joined.split()
    count = len(pieces)
    if count == 1 and len(pieces[0]) in _JOINED:
        width, count = _JOINED[len(pieces[0])]
        pieces = [pieces[0][i * width : (i + 1) * width] for i in range(count)]
    if (count == 2 and len(pieces[0]) == len(pieces[1]) and len(pieces[0]) in (36, 44)) or (
        count == 3 and len(pieces[0]) == len(pieces[1]) == len(pieces[2]) == 30
    ):
        together = "".join(pieces)
        if together.isascii() and _ALLOWED.issuperset(together.upper()):
            return [piece.upper() for piece in pieces]
    return _lines_one_by_one(joined)


def _joined(items: Sequence[str]) -> str:
    """The lines joined with newlines; a ParseError names the first item that is not text."""
    try:
        return "\n".join(items)
    except TypeError:
        pass
    try:
        for number, item in enumerate(items, 1):
            if not isinstance(item, str):
                raise ParseError(f"expected text, got {type(item).__name__}", line=number)
    except TypeError:
        raise ParseError(f"expected MRZ text or a list of lines, got {type(items).__name__}") from None
    raise ParseError("expected MRZ text or a list of lines")  # a one-shot iterator that join used up


def _lines_one_by_one(joined: str) -> list[str]:
    """The careful path: non-blank lines numbered as given, so errors point at the right line."""
    lines = [stripped for stripped in (line.strip() for line in joined.splitlines()) if stripped]
    if len(lines) == 1:
        only = lines[0]
        pieces = only.split()
        if len(pieces) in (2, 3):
            lines = pieces
        elif len(only) in _JOINED:
            width, count = _JOINED[len(only)]
            lines = [only[i * width : (i + 1) * width] for i in range(count)]
    if not lines:
        raise ParseError("no MRZ lines given")
    for number, line in enumerate(lines, 1):
        if not line.isascii() or not _ALLOWED.issuperset(line.upper()):
            index = _first_bad(line, _ALLOWED)
            raise ParseError(
                f"character {line[index]!r} is not allowed in an MRZ (A-Z, 0-9, <)", line=number, column=index + 1
            )
    return [line.upper() for line in lines]


def _detect(lines: list[str]) -> str:
    """The format from the line count, the line lengths and the document code."""
    count, width = len(lines), len(lines[0])
    if count == 3:
        expected, fmt = 30, "TD1"
    elif count == 2:
        if width == 44:
            expected, fmt = 44, "TD3"
        elif width == 36:
            expected, fmt = 36, "TD2"
        else:
            raise ParseError(
                f"is {width} characters long; a 2-line MRZ has 44 (TD3, MRV-A) or 36 (TD2, MRV-B)", line=1
            )
    else:
        lengths = ", ".join(str(len(line)) for line in lines)
        raise ParseError(
            f"expected 2 lines (TD2, TD3, MRV) or 3 lines (TD1), or one string of 72, 88 or 90 characters; "
            f"got {count} line{'s' if count != 1 else ''} of {lengths} characters"
        )
    for number, line in enumerate(lines, 1):
        if len(line) != expected:
            raise ParseError(f"is {len(line)} characters long; a {fmt} line has {expected}", line=number)
    first = lines[0][0]
    if first not in _LETTERS:
        raise ParseError(f"document code {lines[0][:2]!r} must start with a letter", line=1, column=1)
    if lines[0][1] not in _LETTERS_AND_FILLER:
        raise ParseError(f"document code {lines[0][:2]!r} must be letters, padded with <", line=1, column=2)
    if first == "V" and count == 2:
        return "MRVA" if width == 44 else "MRVB"
    return fmt


# ---------------------------------------------------------------------------------------------------------
# Fields


def _state(raw: str, what: str, line: int, column: int, warnings: list[str]) -> str:
    """Normalise an ICAO state code; unknown but well-formed codes are kept and warned about."""
    normalised = _PRINTED_STATES.get(raw)
    if normalised is not None:
        return normalised
    code = raw.rstrip("<")
    if not code.isalpha():
        raise ParseError(f"{what} {raw!r} is not a state code (letters, padded with <)", line=line, column=column)
    normalised = normalise_country(code)
    if normalised is None:
        warnings.append(f"{what} {code!r} is not a known ISO 3166 or ICAO code")
        return code
    return normalised


def _name(field: str, line: int, column: int) -> tuple[str, str | None, bool]:
    """Surname, given names and whether the name fills its field (and so may have been cut)."""
    body = field.rstrip("<")
    if not body.replace("<", "").isalpha() and body:
        index = _first_bad(field, _LETTERS_AND_FILLER)
        raise ParseError(
            f"name holds {field[index]!r}; an MRZ name has only A-Z and <", line=line, column=column + index
        )
    primary, _, secondary = body.partition("<<")
    return _components(primary), (_components(secondary) or None), field[-1] != "<"


def _components(identifier: str) -> str:
    """Name components separated by ``<`` (or a run of them) joined with single spaces."""
    if "<<" in identifier or identifier[:1] == "<" or identifier[-1:] == "<":
        return " ".join(identifier.replace("<", " ").split())
    return identifier.replace("<", " ")


def _sex(char: str, line: int, column: int) -> str | None:
    if char in _SEXES:
        return char
    if char == "<":
        return None
    raise ParseError(f"sex {char!r} is not M, F, X or <", line=line, column=column)


def _is_calendar_date(year: int, month: int, day: int) -> bool:
    if not (1 <= month <= 12 and day >= 1):
        return False
    if day <= _MONTH_DAYS[month]:
        return True
    return month == 2 and day == 29 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _birth_date(text: str, today: int, line: int, column: int) -> str | None:
    """ISO birth date (or YYYY-MM / YYYY when parts are unknown) in the latest century not after today.

    ``today`` is the reference date as the number YYYYMMDD (cheap to compare).
    """
    if text.isdigit():
        number = int(text)
        this_year = today // 10000
        year = this_year - (this_year - number // 10000) % 100
        if year * 10000 + number % 10000 > today:
            year -= 100
        month, day = number // 100 % 100, number % 100
        if day <= 28 and 1 <= month <= 12 and day >= 1 or _is_calendar_date(year, month, day):
            return f"{year}-{text[2:4]}-{text[4:6]}"
        if not 1 <= month <= 12:
            raise ParseError(f"birth date {text!r} has no month {text[2:4]}", line=line, column=column)
        raise ParseError(f"birth date {text!r} is not a calendar date", line=line, column=column)
    return _partial_birth_date(text, today, line, column)


def _partial_birth_date(text: str, today: int, line: int, column: int) -> str | None:
    """A birth date with unknown parts: ``YYYY-MM`` (day unknown), ``YYYY`` (month unknown), None (year)."""
    yy, mm, dd = text[0:2], text[2:4], text[4:6]
    if not (yy.isdigit() or yy == "<<") or not (mm.isdigit() or mm in _UNKNOWN_PART) or not (
        dd.isdigit() or dd in _UNKNOWN_PART
    ):
        raise ParseError(f"birth date {text!r} is not YYMMDD", line=line, column=column)
    if yy == "<<":
        return None
    this_year = today // 10000
    year = this_year - (this_year - int(yy)) % 100
    if mm in _UNKNOWN_PART:
        return f"{year}"
    month = int(mm)
    if not 1 <= month <= 12:
        raise ParseError(f"birth date {text!r} has no month {mm}", line=line, column=column)
    if year * 100 + month > today // 100:
        year -= 100
    return f"{year}-{mm}"


def _expiry_date(text: str, today: int, line: int, column: int) -> str | None:
    """ISO expiry date in the window [this year - 79, this year + 20]; None when no expiry is printed."""
    if not text.isdigit():
        if text == "<<<<<<":
            return None
        raise ParseError(f"expiry date {text!r} is not YYMMDD", line=line, column=column)
    number = int(text)
    low = today // 10000 - 79
    year = low + (number // 10000 - low) % 100
    if not _is_calendar_date(year, number // 100 % 100, number % 100):
        raise ParseError(f"expiry date {text!r} is not a calendar date", line=line, column=column)
    return f"{year}-{text[2:4]}-{text[4:6]}"


def _document_number(
    field: str, check: str, optional: str, check_position: int, warnings: list[str]
) -> tuple[str, bool, str | None, str]:
    """The full document number, its verdict, the long-number convention and the optional data left.

    A ``<`` check digit after a full 9-character field announces a long number continued in the optional
    data: the rest of the number, then its check digit, then a filler.
    """
    if check == "<" and field[-1] != "<" and optional[0] != "<":
        piece = optional.partition("<")[0]
        if len(piece) >= 2:
            rest, digit = piece[:-1], piece[-1]
            number = field + rest
            left = optional[len(piece) :].strip("<")
            expected = _DIGIT_VALUE.get(digit)
            if expected == _weighted(number.encode("ascii").translate(_VALUES)):
                return number, True, "without_filler", left
            if expected == _weighted((field + "<" + rest).encode("ascii").translate(_VALUES)):
                warnings.append(
                    f"document number check digit matches only with the '<' at position {check_position} "
                    "counted (an older national convention)"
                )
                return number, True, "with_filler", left
            return number, False, None, left
    number = field.rstrip("<")
    passed = _field_ok(field + check, field.encode("ascii").translate(_VALUES), 0, 9)
    if not passed and check == "<" and number:
        warnings.append(f"document number has no check digit at position {check_position}")
    return number, passed, None, optional.strip("<")


# ---------------------------------------------------------------------------------------------------------
# Formats


def _parse_td1(l1: str, l2: str, l3: str, today: int) -> MrzResult:
    """Identity card: number and optional data on line 1, dates and nationality on line 2, name on line 3."""
    warnings: list[str] = []
    issuing = _state(l1[2:5], "issuing state", 1, 3, warnings)
    dob = _birth_date(l2[0:6], today, 2, 1)
    sex = _sex(l2[7], 2, 8)
    expiry = _expiry_date(l2[8:14], today, 2, 9)
    nationality = _state(l2[15:18], "nationality", 2, 16, warnings)
    surname, given, truncated = _name(l3, 3, 1)
    number, number_ok, convention, optional = _document_number(l1[5:14], l1[14], l1[15:30], 15, warnings)
    v2 = l2.encode("ascii").translate(_VALUES)
    composite = (l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]).encode("ascii").translate(_VALUES)
    checks = {
        "document_number": number_ok,
        "date_of_birth": _field_ok(l2, v2, 0, 6),
        "expiry_date": _field_ok(l2, v2, 8, 14),
        "composite": _DIGIT_VALUE.get(l2[29]) == _weighted(composite),
    }
    # Positional, in field order: keywords cost about 5% of a whole parse on this hot path.
    return MrzResult(
        "TD1",  # format
        l1[0:2].rstrip("<"),  # document_code
        issuing,  # issuing_state
        l1[2:5],  # issuing_state_raw
        surname,  # surname
        given,  # given_names
        number,  # document_number
        nationality,  # nationality
        l2[15:18],  # nationality_raw
        dob,  # date_of_birth
        expiry,  # expiry_date
        sex,  # sex
        optional,  # optional_data
        l2[18:29].strip("<"),  # optional_data_2
        checks,  # checks
        convention,  # long_number_convention
        truncated,  # name_possibly_truncated
        all(checks.values()),  # valid
        tuple(warnings),  # warnings
    )


def _parse_two_line(fmt: str, l1: str, l2: str, today: int) -> MrzResult:
    """TD2, TD3, MRV-A and MRV-B share line 2 up to position 28."""
    warnings: list[str] = []
    width = len(l1)
    issuing = _state(l1[2:5], "issuing state", 1, 3, warnings)
    surname, given, truncated = _name(l1[5:width], 1, 6)
    nationality = _state(l2[10:13], "nationality", 2, 11, warnings)
    dob = _birth_date(l2[13:19], today, 2, 14)
    sex = _sex(l2[20], 2, 21)
    expiry = _expiry_date(l2[21:27], today, 2, 22)
    v2 = l2.encode("ascii").translate(_VALUES)
    checks: dict[str, bool] = {}
    convention = None
    if fmt == "TD2":
        number, checks["document_number"], convention, optional = _document_number(
            l2[0:9], l2[9], l2[28:35], 10, warnings
        )
    else:
        number = l2[0:9].rstrip("<")
        checks["document_number"] = _field_ok(l2, v2, 0, 9)
        optional = l2[28:width - 2 if fmt == "TD3" else width].strip("<")
    checks["date_of_birth"] = _field_ok(l2, v2, 13, 19)
    checks["expiry_date"] = _field_ok(l2, v2, 21, 27)
    if fmt == "TD3":
        checks["personal_number"] = _field_ok(l2, v2, 28, 42)
    if fmt in ("TD2", "TD3"):
        last = width - 1
        checks["composite"] = _DIGIT_VALUE.get(l2[last]) == _weighted(v2[0:10] + v2[13:20] + v2[21:last])
    # Positional, in field order (see _parse_td1).
    return MrzResult(
        fmt,  # format
        l1[0:2].rstrip("<"),  # document_code
        issuing,  # issuing_state
        l1[2:5],  # issuing_state_raw
        surname,  # surname
        given,  # given_names
        number,  # document_number
        nationality,  # nationality
        l2[10:13],  # nationality_raw
        dob,  # date_of_birth
        expiry,  # expiry_date
        sex,  # sex
        optional,  # optional_data
        "",  # optional_data_2
        checks,  # checks
        convention,  # long_number_convention
        truncated,  # name_possibly_truncated
        all(checks.values()),  # valid
        tuple(warnings),  # warnings
    )


def parse_mrz(text: str | Sequence[str], today: date) -> MrzResult:
    """Parse a TD1, TD2, TD3, MRV-A or MRV-B zone given as text or a list of lines.

    ``today`` anchors the two-digit years (see the module docstring); a year outside 1100-9979 is a
    ``ValueError``. Check-digit failures are verdicts in the result; unreadable input raises ``ParseError``
    naming the line, the position and the reason.
    """
    if not _EARLIEST_TODAY <= today.year <= _LATEST_TODAY:
        raise ValueError(f"today ({today}) must be a year from {_EARLIEST_TODAY} to {_LATEST_TODAY}")
    key = today.year * 10000 + today.month * 100 + today.day
    lines = _lines(text)
    fmt = _detect(lines)
    if fmt == "TD1":
        return _parse_td1(lines[0], lines[1], lines[2], key)
    return _parse_two_line(fmt, lines[0], lines[1], key)


# ---------------------------------------------------------------------------------------------------------
# Output


def to_json_dict(result: MrzResult) -> dict[str, object]:
    """A JSON-ready mapping of the result (optional data is left out: it often holds national ID numbers)."""
    return {
        "format": result.format,
        "document_code": result.document_code,
        "issuing_state": result.issuing_state,
        "surname": result.surname,
        "given_names": result.given_names,
        "document_number": result.document_number,
        "nationality": result.nationality,
        "date_of_birth": result.date_of_birth,
        "expiry_date": result.expiry_date,
        "sex": result.sex,
        "checks": dict(result.checks),
        "valid": result.valid,
        "long_number_convention": result.long_number_convention,
        "name_possibly_truncated": result.name_possibly_truncated,
        "warnings": list(result.warnings),
    }


def _shown(value: str | None) -> str:
    return "(not given)" if value is None or value == "" else value


def render_text(result: MrzResult) -> str:
    """A human-readable listing of the fields and each check digit's verdict (for ``stayledger mrz``)."""
    issuing = result.issuing_state
    if result.issuing_state_raw.rstrip("<") != issuing:
        issuing += f" (printed {result.issuing_state_raw!r})"
    nationality = result.nationality
    if result.nationality_raw.rstrip("<") != nationality:
        nationality += f" (printed {result.nationality_raw!r})"
    surname = result.surname
    if result.name_possibly_truncated:
        surname += "  (name fills its field: possibly truncated)"
    number = result.document_number
    if result.long_number_convention == "with_filler":
        number += "  (long number; check digit counts the '<')"
    elif result.long_number_convention == "without_filler":
        number += "  (long number)"
    rows = [
        ("Format", _FORMAT_TITLES[result.format]),
        ("Document code", result.document_code),
        ("Issuing state", issuing),
        ("Surname", _shown(surname)),
        ("Given names", _shown(result.given_names)),
        ("Document number", _shown(number)),
        ("Nationality", nationality),
        ("Date of birth", _shown(result.date_of_birth)),
        ("Sex", _shown(result.sex)),
        ("Expiry date", _shown(result.expiry_date)),
        ("Optional data", _shown(result.optional_data)),
    ]
    if result.format == "TD1":
        rows.append(("Optional data 2", _shown(result.optional_data_2)))
    out = [f"{label:<17} {value}" for label, value in rows]
    out.append("Check digits")
    out.extend(f"  {name:<17} {'ok' if passed else 'FAILED'}" for name, passed in result.checks.items())
    out.append(f"{'Valid':<17} {'yes' if result.valid else 'NO'}")
    if result.warnings:
        out.append("Warnings")
        out.extend(f"  - {warning}" for warning in result.warnings)
    return "\n".join(out)


def _document_type(code: str) -> str:
    first = code[:1]
    if first in ("A", "C", "I"):
        return "I"
    if first in ("P", "V"):
        return first
    return "O"


def identity_fields(result: MrzResult) -> dict[str, str]:
    """The canonical event fields an MRZ provides (absent ones left out), for mapped tabular ingest."""
    fields = {
        "surname": result.surname,
        "given_names": result.given_names,
        "date_of_birth": result.date_of_birth,
        "sex": result.sex,
        "nationality": result.nationality,
        "document_type": _document_type(result.document_code),
        "document_number": result.document_number,
        "document_issuer": result.issuing_state,
    }
    return {name: value for name, value in fields.items() if value}


# ---------------------------------------------------------------------------------------------------------
# Builder

# Doc 9303 Part 3 transliterations that are not just "drop the accent".
_TRANSLITERATION: Final = {
    "Ä": "AE", "Å": "AA", "Ö": "OE", "Ø": "OE", "Ü": "UE", "Æ": "AE", "Œ": "OE", "Þ": "TH", "Ð": "D",
    "Đ": "D", "Ł": "L", "Ħ": "H", "ẞ": "SS", "ß": "SS",
}
_DROPPED: Final = frozenset("'’‘`´")
_SEPARATORS: Final = frozenset(" -‐‑,.<")


def _name_part(text: str, what: str, errors: list[FieldError]) -> str:
    """One name written for the MRZ: A-Z with single ``<`` between components."""
    out: list[str] = []
    for char in text.upper():
        if char in _DROPPED:
            continue
        if char in _SEPARATORS or char.isspace():
            out.append("<")
            continue
        char = _TRANSLITERATION.get(char, char)
        if len(char) == 1 and char not in _LETTERS:
            char = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if not char or any(c not in _LETTERS for c in char):
            errors.append(FieldError(what, f"{text!r} holds {char or text!r}, which has no MRZ transliteration"))
            return ""
        out.append(char)
    return "<".join(part for part in "".join(out).split("<") if part)


def _code_field(value: str, what: str, width: int, errors: list[FieldError]) -> str:
    code = value.strip().upper()
    if not 1 <= len(code) <= width or not code.isascii() or not code.isalpha():
        errors.append(FieldError(what, f"expected 1 to {width} letters, got {value!r}"))
        return "<" * width
    return code.ljust(width, "<")


def _plain_field(value: str, what: str, errors: list[FieldError]) -> str:
    text = value.strip().upper().replace(" ", "<")
    if not text.isascii() or not _ALLOWED.issuperset(text):
        errors.append(FieldError(what, f"{value!r} holds characters other than A-Z, 0-9 and <"))
        return ""
    return text


def _yymmdd(value: date) -> str:
    return f"{value.year % 100:02d}{value.month:02d}{value.day:02d}"


def _with_check(field: str) -> str:
    return field + str(check_digit(field))


def build_mrz(
    fmt: str,
    *,
    document_code: str,
    issuing_state: str,
    surname: str,
    given_names: str | None,
    document_number: str,
    nationality: str,
    date_of_birth: date,
    sex: str | None,
    expiry_date: date,
    optional_data: str = "",
) -> list[str]:
    """Write a zone with correct check digits (for tests and the synthetic data generator).

    Names are upper-cased and transliterated (Ä -> AE, accents dropped, apostrophes removed, hyphens and
    spaces -> ``<``) and cut at the end if too long. ``optional_data`` goes to the personal number (TD3),
    line 1 (TD1) or line 2 (TD2, MRV). Document numbers over 9 characters use the long-number scheme (TD1,
    TD2 only). Raises ``InvalidRecord`` listing every field that cannot be written.
    """
    errors: list[FieldError] = []
    fmt = fmt.upper().replace("-", "")
    if fmt not in _SIZES:
        raise InvalidRecord("MRZ to build", [FieldError("fmt", f"must be one of {', '.join(FORMATS)}; got {fmt!r}")])
    width, _ = _SIZES[fmt]
    code = _code_field(document_code, "document_code", 2, errors)
    if fmt in ("MRVA", "MRVB") and code[0] != "V":
        errors.append(FieldError("document_code", f"a visa ({fmt}) has a code starting with V, got {document_code!r}"))
    elif fmt in ("TD2", "TD3") and code[0] == "V":
        errors.append(FieldError("document_code", f"a code starting with V is a visa, not {fmt}"))
    issuer = _code_field(issuing_state, "issuing_state", 3, errors)
    nation = _code_field(nationality, "nationality", 3, errors)
    primary = _name_part(surname, "surname", errors)
    if not primary and not any(e.field == "surname" for e in errors):
        errors.append(FieldError("surname", "required"))
    secondary = _name_part(given_names or "", "given_names", errors)
    name_width = 30 if fmt == "TD1" else width - 5
    name = (primary + ("<<" + secondary if secondary else ""))[:name_width].ljust(name_width, "<")
    number = document_number.strip().upper()
    if not number or not number.isascii() or not number.isalnum():
        errors.append(FieldError("document_number", f"expected letters and digits, got {document_number!r}"))
        number = "<"
    elif len(number) > 9 and fmt not in ("TD1", "TD2"):
        errors.append(FieldError("document_number", f"longer than 9 characters, which {fmt} cannot hold"))
    sex_char = (sex or "<").strip().upper() or "<"
    if sex_char not in ("M", "F", "X", "<"):
        errors.append(FieldError("sex", f"must be M, F, X or empty; got {sex!r}"))
    optional = _plain_field(optional_data, "optional_data", errors)
    birth = _yymmdd(date_of_birth)
    expiry = _yymmdd(expiry_date)

    # The number field (9 + check) and what a long number puts ahead of the optional data.
    if len(number) > 9:
        number_field = number[:9] + "<"
        lead = number[9:] + str(check_digit(number)) + "<"
    else:
        number_field = _with_check(number.ljust(9, "<"))
        lead = ""
    optional_width = {"TD1": 15, "TD2": 7, "TD3": 14, "MRVA": 16, "MRVB": 8}[fmt]
    optional_text = lead + optional if lead else optional
    if len(optional_text.rstrip("<")) > optional_width:
        what = "document_number" if lead and len(lead) - 1 > optional_width else "optional_data"
        errors.append(FieldError(what, f"the long number and optional data need {len(optional_text.rstrip('<'))} "
                                       f"positions; {fmt} has {optional_width}"))
    if errors:
        raise InvalidRecord("MRZ to build", errors)
    optional_text = optional_text.rstrip("<").ljust(optional_width, "<")

    if fmt == "TD1":
        line1 = code + issuer + number_field + optional_text
        line2 = _with_check(birth) + sex_char + _with_check(expiry) + nation + "<" * 11
        line2 += str(check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]))
        return [line1, line2, name]
    line1 = code + issuer + name
    line2 = number_field + nation + _with_check(birth) + sex_char + _with_check(expiry)
    if fmt == "TD3":
        line2 += optional_text + (str(check_digit(optional_text)) if optional else "<")
    else:
        line2 += optional_text
    if fmt in ("TD2", "TD3"):
        line2 += str(check_digit(line2[0:10] + line2[13:20] + line2[21:]))
    return [line1, line2]
