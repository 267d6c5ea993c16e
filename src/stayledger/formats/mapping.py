"""Mapped tabular ingest: agency CSV and Parquet exports read onto canonical events through a TOML mapping.

An agency's export has its own column names, date formats and code lists. A mapping file says, per
canonical field, which column(s) hold it and how to convert the cell; ``load_mapping`` checks the mapping
itself up front and ``mapped_records`` turns each row into a ``RawRecord`` whose ``fields`` are canonical.
Validation stays in one place: the ingest use case runs every record through ``parse_event``; this module
only maps and converts. The format is documented with examples in ``examples/mappings/README.md``.

Decisions worth knowing:
- A cell that cannot be converted (a date in none of the formats, a code missing from a strict code list,
  an unreadable MRZ or one whose check digits fail, bytes not in the declared encoding) makes that row a
  ``RawRecord`` with ``fields=None`` and a problem naming the column, the value and the reason; the other
  rows still land. A problem in a column the mapping does not use never costs the row.
- Unmapped columns are never read into a record, and ``raw`` holds only the mapped columns (as a JSON
  object): quarantine keeps ``raw``, and we keep no data we have no use for (addresses, remarks ...).
- Code lists match case-insensitively after trimming; a code mapped to ``""`` means "absent"; the key
  ``"*"`` catches every other non-empty value. A value missing from a code list passes through unchanged
  (``parse_event`` then judges it) unless ``strict_codes`` is set.
- Dates become ``YYYY-MM-DD``. Formats use a strftime subset we match ourselves (no locale, fast):
  ``%d %m %Y %y %b %B %H %M %S %f %%``. In ``date_of_birth`` a day or month written ``00`` or ``XX`` is
  unknown and gives a partial date (``YYYY-MM``, or ``YYYY`` when the month is unknown), as the canonical
  schema allows; elsewhere it is an error. Two-digit years: a birth date takes the latest century that does
  not put it after ``today``; other dates take the year in ``[today.year - 80, today.year + 19]``.
- An ``mrz`` column fills surname, given names, date of birth, sex, nationality and the document fields.
  By default (``prefer = "columns"``) explicitly mapped fields and constants win, and an empty explicit cell
  falls back to the MRZ value: the mapping author chose that column, and MRZ names may be truncated.
  ``prefer = "mrz"`` makes the check-digit-verified MRZ win instead. An empty MRZ cell is a problem.

Pure core apart from Parquet input, which imports pyarrow lazily.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Final, Iterator, Mapping

from stayledger.domain.events import DATE_FIELDS, FIELDS, parse_strict_date
from stayledger.errors import ConfigurationError, ParseError
from stayledger.formats.canonical import CsvFault, RawRecord, csv_rows
from stayledger.formats.mrz import identity_fields, parse_mrz

__all__ = [
    "DateFormat",
    "FieldRule",
    "MrzRule",
    "TabularMapping",
    "compile_date_format",
    "convert_date",
    "convert_row",
    "load_mapping",
    "mapped_records",
    "parse_mapping",
    "read_header",
    "source_format",
    "unmapped_columns",
]

TABULAR_FORMATS: Final = ("csv", "parquet")
SECTIONS: Final = ("source", "constants", "fields", "code_lists")
SOURCE_OPTIONS: Final = ("format", "delimiter", "encoding", "date_formats", "strict_codes", "null_values")
FIELD_OPTIONS: Final = ("column", "columns", "join", "codes", "strict_codes", "date_formats", "prefix", "default")
MRZ_OPTIONS: Final = ("column", "columns", "join", "prefer")
MRZ_KEY: Final = "mrz"
MRZ_FIELDS: Final = (
    "surname", "given_names", "date_of_birth", "sex", "nationality",
    "document_type", "document_number", "document_issuer",
)
# Fields parse_event requires of every kind; a mapping that provides none of them would refuse every row.
REQUIRED: Final = ("event_id", "kind", "occurred_on", "source", "surname", "date_of_birth", "nationality")
CONVERTED_DATES: Final = (*DATE_FIELDS, "date_of_birth")
DEFAULT_DATE_FORMATS: Final = ("%Y-%m-%d",)
CATCH_ALL: Final = "*"
UNKNOWN_PARTS: Final = frozenset({"00", "xx"})
_MONTHS: Final = ("january", "february", "march", "april", "may", "june", "july", "august",
                  "september", "october", "november", "december")
_MONTH_NUMBERS: Final = {**{m[:3]: i for i, m in enumerate(_MONTHS, 1)}, **{m: i for i, m in enumerate(_MONTHS, 1)}}
_NUMERIC_DIRECTIVES: Final = frozenset("dmYyHMSf")
_TWO_DIGIT: Final = r"\d{2}"
_DIRECTIVE_PATTERNS: Final = {
    "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d{2})", "b": r"(?P<b>[A-Za-z]{3})", "B": r"(?P<b>[A-Za-z]{3,9})",
    "H": r"\d{1,2}", "M": r"\d{1,2}", "S": r"\d{1,2}", "f": r"\d{1,6}", "%": "%",
}
SUPPORTED_DIRECTIVES: Final = "%d %m %Y %y %b %B %H %M %S %f %%"


# ---------------------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One accepted date layout, compiled once: ``text`` as written, ``pattern`` matching a whole cell."""

    text: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one canonical field is read from the agency's columns."""

    target: str
    columns: tuple[str, ...]
    join: str = " "
    codes: Mapping[str, str] | None = None  # keys case-folded; "*" catches the rest
    strict_codes: bool = False
    date_formats: tuple[DateFormat, ...] = ()  # set for date fields only
    prefix: str = ""
    default: str | None = None  # the canonical value for an empty cell


@dataclass(frozen=True, slots=True)
class MrzRule:
    """The column(s) holding a machine readable zone, and whether it beats explicitly mapped fields."""

    columns: tuple[str, ...]
    join: str = "\n"
    prefer: str = "columns"  # or "mrz"


@dataclass(frozen=True, slots=True)
class TabularMapping:
    """A checked mapping from one agency's file layout onto canonical event fields."""

    name: str  # the mapping file's name, for messages
    format: str | None  # None: by the data file's extension
    delimiter: str | None  # None: "," (tab for .tsv)
    encoding: str
    constants: Mapping[str, str | bool]
    fields: tuple[FieldRule, ...]
    mrz: MrzRule | None = None
    null_values: frozenset[str] = frozenset()  # case-folded cell texts that mean "empty" in every column

    @property
    def columns(self) -> tuple[str, ...]:
        """Every agency column the mapping reads, once each, in mapping order."""
        seen: dict[str, None] = {}
        for rule in self.fields:
            seen.update(dict.fromkeys(rule.columns))
        if self.mrz is not None:
            seen.update(dict.fromkeys(self.mrz.columns))
        return tuple(seen)


# ---------------------------------------------------------------------------------------------------------
# Loading and checking a mapping


def load_mapping(path: Path) -> TabularMapping:
    """Read and check a TOML mapping file; raise ``ConfigurationError`` naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the mapping ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path.name}: a mapping file must be UTF-8 (byte at offset {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path.name}: not valid TOML ({exc})") from None
    return parse_mapping(data, path.name)


class _Checker:
    """Checks one value at a time; the first mistake raises, naming the mapping and the dotted key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, reason: str) -> ConfigurationError:
        return ConfigurationError(f"{self.name}: {key}: {reason}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_describe(value)}")
        return value

    def text(self, value: Any, key: str, *, empty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_describe(value)}")
        if not empty and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_describe(value)}")
        return value

    def known(self, table: Mapping[str, Any], allowed: tuple[str, ...], key: str, what: str) -> None:
        for name in table:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else name, f"unknown {what} (known: {', '.join(allowed)})")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse_mapping(data: Mapping[str, Any], name: str = "mapping") -> TabularMapping:
    """Check a mapping already read from TOML (``name`` appears in messages); see ``load_mapping``."""
    check = _Checker(name)
    check.known(data, SECTIONS, "", "section")
    source = check.table(data.get("source", {}), "source")
    check.known(source, SOURCE_OPTIONS, "source", "option")

    fmt = source.get("format")
    if fmt is not None and check.text(fmt, "source.format").lower() not in TABULAR_FORMATS:
        raise check.fail("source.format", f"must be one of {', '.join(TABULAR_FORMATS)}; got {fmt!r}")
    delimiter = source.get("delimiter")
    if delimiter is not None and len(check.text(delimiter, "source.delimiter")) != 1:
        raise check.fail("source.delimiter", f"must be one character, got {delimiter!r}")
    encoding = check.text(source.get("encoding", "utf-8"), "source.encoding")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise check.fail("source.encoding", f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)") from None
    date_formats = _date_formats(check, source.get("date_formats", list(DEFAULT_DATE_FORMATS)), "source.date_formats")
    strict = check.flag(source.get("strict_codes", False), "source.strict_codes")
    nulls = source.get("null_values", [])
    if not isinstance(nulls, list):
        raise check.fail("source.null_values", f"expected a list such as [\"NULL\", \"N/A\"], got {_describe(nulls)}")
    null_values = frozenset(check.text(v, f"source.null_values[{i}]").strip().casefold() for i, v in enumerate(nulls))

    code_lists = check.table(data.get("code_lists", {}), "code_lists")
    lists = {key: _codes(check, value, f"code_lists.{key}") for key, value in code_lists.items()}

    constants = _constants(check, check.table(data.get("constants", {}), "constants"))
    raw_fields = check.table(data.get("fields", {}), "fields")
    rules: list[FieldRule] = []
    mrz: MrzRule | None = None
    for target, spec in raw_fields.items():
        key = f"fields.{target}"
        if target == MRZ_KEY:
            mrz = _mrz_rule(check, spec, key)
            continue
        if target not in FIELDS:
            raise check.fail(key, f"unknown canonical field (fields: {', '.join(FIELDS)}, or mrz)")
        if target in constants:
            raise check.fail(key, "also given in constants; a field takes its value from one place")
        rules.append(_field_rule(check, target, spec, key, date_formats, strict, lists))

    provided = set(constants) | {rule.target for rule in rules} | (set(MRZ_FIELDS) if mrz else set())
    for required in REQUIRED:
        if required not in provided:
            raise check.fail(
                f"fields.{required}", "required by every event but not mapped; add it to fields or constants"
            )
    return TabularMapping(
        name=name,
        format=fmt.lower() if fmt else None,
        delimiter=delimiter,
        encoding=encoding,
        constants=constants,
        fields=tuple(rules),
        mrz=mrz,
        null_values=null_values,
    )


def _constants(check: _Checker, table: Mapping[str, Any]) -> dict[str, str | bool]:
    constants: dict[str, str | bool] = {}
    for target, value in table.items():
        key = f"constants.{target}"
        if target not in FIELDS:
            raise check.fail(key, f"unknown canonical field (fields: {', '.join(FIELDS)})")
        if target == "duration_of_status" and isinstance(value, bool):
            constants[target] = value
            continue
        text = check.text(value, key)
        if target in DATE_FIELDS:
            try:
                parse_strict_date(text.strip())
            except ValueError as exc:
                raise check.fail(key, str(exc)) from None
        constants[target] = text
    return constants


def _columns(check: _Checker, spec: Mapping[str, Any], key: str) -> tuple[str, ...]:
    if ("column" in spec) == ("columns" in spec):
        raise check.fail(key, "give exactly one of column = \"NAME\" or columns = [\"A\", \"B\"]")
    if "column" in spec:
        return (check.text(spec["column"], f"{key}.column", empty=False).strip(),)
    columns = spec["columns"]
    if not isinstance(columns, list) or not columns:
        raise check.fail(f"{key}.columns", "expected a non-empty list of column names")
    return tuple(check.text(c, f"{key}.columns[{i}]", empty=False).strip() for i, c in enumerate(columns))


def _field_rule(
    check: _Checker,
    target: str,
    spec: Any,
    key: str,
    date_formats: tuple[DateFormat, ...],
    strict: bool,
    lists: Mapping[str, Mapping[str, str]],
) -> FieldRule:
    is_date = target in CONVERTED_DATES
    if isinstance(spec, str):
        return FieldRule(target, (check.text(spec, key, empty=False).strip(),),
                         strict_codes=strict, date_formats=date_formats if is_date else ())
    spec = check.table(spec, key)
    check.known(spec, FIELD_OPTIONS, key, "option")
    codes = spec.get("codes")
    if isinstance(codes, str):
        if codes not in lists:
            known = ", ".join(lists) or "none defined"
            raise check.fail(f"{key}.codes", f"no code list named {codes!r} in code_lists ({known})")
        codes = lists[codes]
    elif codes is not None:
        codes = _codes(check, codes, f"{key}.codes")
    if "date_formats" in spec and not is_date:
        raise check.fail(f"{key}.date_formats", f"only date fields take date formats ({', '.join(CONVERTED_DATES)})")
    default = spec.get("default")
    return FieldRule(
        target=target,
        columns=_columns(check, spec, key),
        join=check.text(spec.get("join", " "), f"{key}.join"),
        codes=codes,
        strict_codes=check.flag(spec.get("strict_codes", strict), f"{key}.strict_codes"),
        date_formats=_date_formats(check, spec["date_formats"], f"{key}.date_formats") if "date_formats" in spec
        else (date_formats if is_date else ()),
        prefix=check.text(spec.get("prefix", ""), f"{key}.prefix"),
        default=None if default is None else check.text(default, f"{key}.default"),
    )


def _codes(check: _Checker, value: Any, key: str) -> dict[str, str]:
    table = check.table(value, key)
    codes: dict[str, str] = {}
    for code, meaning in table.items():
        text = check.text(meaning, f"{key}.{code}")
        folded = code.strip().casefold()
        if folded in codes and codes[folded] != text.strip():
            raise check.fail(f"{key}.{code}", "listed twice (ignoring case) with different values")
        codes[folded] = text.strip()
    return codes


def _mrz_rule(check: _Checker, spec: Any, key: str) -> MrzRule:
    if isinstance(spec, str):
        return MrzRule((check.text(spec, key, empty=False).strip(),))
    spec = check.table(spec, key)
    check.known(spec, MRZ_OPTIONS, key, "option")
    prefer = check.text(spec.get("prefer", "columns"), f"{key}.prefer")
    if prefer not in ("columns", "mrz"):
        raise check.fail(f"{key}.prefer", f"must be \"columns\" or \"mrz\"; got {prefer!r}")
    return MrzRule(_columns(check, spec, key), check.text(spec.get("join", "\n"), f"{key}.join"), prefer)


def _date_formats(check: _Checker, value: Any, key: str) -> tuple[DateFormat, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise check.fail(key, "expected a non-empty list of formats such as [\"%d/%m/%Y\", \"%Y%m%d\"]")
    formats = []
    for index, text in enumerate(value):
        item = f"{key}[{index}]"
        try:
            formats.append(compile_date_format(check.text(text, item, empty=False)))
        except ValueError as exc:
            raise check.fail(item, str(exc)) from None
    return tuple(formats)


def compile_date_format(text: str) -> DateFormat:
    """Compile a strftime-style layout into a whole-cell pattern; ``ValueError`` says what is wrong.

    A day or month field is one or two digits, or exactly two when it touches another number field
    (``%Y%m%d``); it also matches ``00``/``XX`` so that a birth date can be partial.
    """
    tokens: list[str] = []  # directive letters, or literal text prefixed with "="
    index = 0
    while index < len(text):
        char = text[index]
        if char != "%":
            tokens.append("=" + char)
            index += 1
            continue
        if index + 1 == len(text):
            raise ValueError(f"{text!r} ends with a lone %")
        directive = text[index + 1]
        if directive not in _DIRECTIVE_PATTERNS and directive not in "dm":
            raise ValueError(f"{text!r}: %{directive} is not supported (use {SUPPORTED_DIRECTIVES})")
        tokens.append(directive)
        index += 2
    letters = [t for t in tokens if not t.startswith("=")]
    for group, members in (("year", "Yy"), ("month", "mbB"), ("day", "d")):
        count = sum(letters.count(m) for m in members)
        if count != 1:
            what = "has no" if count == 0 else "has more than one"
            raise ValueError(f"{text!r} {what} {group} directive ({'/'.join('%' + m for m in members)})")
    parts = []
    for position, token in enumerate(tokens):
        if token.startswith("="):
            parts.append(r"\s+" if token[1].isspace() else re.escape(token[1]))
        elif token in "dm":
            touching = any(
                0 <= near < len(tokens) and tokens[near] in _NUMERIC_DIRECTIVES for near in (position - 1, position + 1)
            )
            digits = _TWO_DIGIT if touching else r"\d{1,2}"
            parts.append(f"(?P<{token}>{digits}|[Xx]{{2}})")
        else:
            parts.append(_DIRECTIVE_PATTERNS[token])
    return DateFormat(text, re.compile("".join(parts) + r"\Z"))


# ---------------------------------------------------------------------------------------------------------
# Converting cells


class _CellProblem(Exception):
    """A cell that cannot be converted; becomes part of the row's quarantine reason."""


def _century(two_digits: int, today: date, birth: bool, month: int, day: int) -> int:
    if birth:
        year = today.year - today.year % 100 + two_digits
        if (year, month, day) > (today.year, today.month, today.day):
            year -= 100
        return year
    low = today.year - 80
    return low + (two_digits - low) % 100


def convert_date(text: str, formats: tuple[DateFormat, ...], *, birth: bool, today: date) -> str:
    """``YYYY-MM-DD`` (or, for a birth date with an unknown day/month, ``YYYY-MM`` / ``YYYY``).

    Raises ``ValueError`` saying why none of the formats fits.
    """
    near_miss = None
    for fmt in formats:
        match = fmt.pattern.match(text)
        if match is None:
            continue
        found = match.groupdict()
        month_text = found.get("m")
        if month_text is None:
            month_text = str(_MONTH_NUMBERS.get(found["b"].casefold(), 0))
            if month_text == "0":
                near_miss = near_miss or f"{text!r} has {found['b']!r}, not an English month name ({fmt.text})"
                continue
        day_text = found["d"]
        unknown_month, unknown_day = month_text.casefold() in UNKNOWN_PARTS, day_text.casefold() in UNKNOWN_PARTS
        if (unknown_month or unknown_day) and not birth:
            near_miss = near_miss or f"{text!r} has an unknown day or month (00/XX), allowed only in date_of_birth"
            continue
        month = 0 if unknown_month else int(month_text)
        day = 0 if unknown_day or unknown_month else int(day_text)
        year = int(found["Y"]) if found.get("Y") else _century(int(found["y"]), today, birth, month, day)
        if unknown_month:
            return f"{year:04d}"
        if not 1 <= month <= 12:
            near_miss = near_miss or f"{text!r} has no month {month} ({fmt.text})"
            continue
        if unknown_day:
            return f"{year:04d}-{month:02d}"
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            near_miss = near_miss or f"{text!r} is not a calendar date ({fmt.text})"
    if near_miss:
        raise ValueError(near_miss)
    raise ValueError(f"{text!r} matches none of the date formats {', '.join(f.text for f in formats)}")


def _cell_text(cell: Any) -> str:
    """A cell as trimmed text: Parquet numbers, booleans and dates become their plain spelling."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _convert(rule: FieldRule, row: Mapping[str, Any], today: date) -> Any:
    """The canonical value of one field in one row, or None when absent; raise ``_CellProblem``."""
    if len(rule.columns) == 1:
        cell = row[rule.columns[0]]
        if rule.date_formats and isinstance(cell, date):  # a native Parquet date needs no format
            return rule.prefix + (cell.date() if isinstance(cell, datetime) else cell).isoformat()
        if rule.target == "duration_of_status" and isinstance(cell, bool) and rule.codes is None:
            return cell
        text = _cell_text(cell)
    else:
        text = rule.join.join(part for part in map(_cell_text, (row[c] for c in rule.columns)) if part)
    if not text:
        return rule.default or None
    if rule.codes is not None:
        hit = rule.codes.get(text.casefold())
        if hit is None:
            hit = rule.codes.get(CATCH_ALL)
        if hit is not None:
            return rule.prefix + hit if hit else None
        if rule.strict_codes:
            raise _CellProblem(f"{text!r} is not in the code list")
    if rule.date_formats:
        try:
            text = convert_date(text, rule.date_formats, birth=rule.target == "date_of_birth", today=today)
        except ValueError as exc:
            raise _CellProblem(str(exc)) from None
    return rule.prefix + text


def _where(rule_columns: tuple[str, ...], target: str) -> str:
    names = ", ".join(repr(c) for c in rule_columns)
    return f"column{'s' if len(rule_columns) > 1 else ''} {names} ({target})"


def _mrz_fields(rule: MrzRule, row: Mapping[str, Any], today: date) -> dict[str, str]:
    text = rule.join.join(part for part in map(_cell_text, (row[c] for c in rule.columns)) if part)
    if not text:
        raise _CellProblem("empty; this mapping reads the identity fields from the MRZ")
    try:
        result = parse_mrz(text, today)
    except ParseError as exc:
        raise _CellProblem(f"{text!r} cannot be read as an MRZ ({exc})") from None
    if not result.valid:
        failed = ", ".join(name for name, ok in result.checks.items() if not ok)
        raise _CellProblem(f"{text!r}: MRZ check digit fails ({failed})")
    return identity_fields(result)


def convert_row(
    mapping: TabularMapping, row: Mapping[str, Any], today: date
) -> tuple[dict[str, Any] | None, str | None]:
    """Canonical fields of one row (column name -> cell), or None and every problem found in the row."""
    if mapping.null_values:
        nulls = mapping.null_values
        row = {c: "" if isinstance(v, str) and v.strip().casefold() in nulls else v for c, v in row.items()}
    fields: dict[str, Any] = dict(mapping.constants)
    problems: list[str] = []
    for rule in mapping.fields:
        try:
            value = _convert(rule, row, today)
        except _CellProblem as exc:
            problems.append(f"{_where(rule.columns, rule.target)}: {exc}")
            continue
        if value is not None:
            fields[rule.target] = value
    if mapping.mrz is not None:
        try:
            from_mrz = _mrz_fields(mapping.mrz, row, today)
        except _CellProblem as exc:
            problems.append(f"{_where(mapping.mrz.columns, 'mrz')}: {exc}")
        else:
            fields = {**from_mrz, **fields} if mapping.mrz.prefer == "columns" else {**fields, **from_mrz}
    if problems:
        return None, "; ".join(problems)
    return fields, None


# ---------------------------------------------------------------------------------------------------------
# Reading files


def source_format(path: Path, mapping: TabularMapping) -> str:
    """"csv" or "parquet": the mapping's source.format, else by the file's extension or first bytes."""
    if mapping.format:
        return mapping.format
    if path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    with path.open("rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "csv"


def _text_encoding(mapping: TabularMapping) -> str:
    """UTF-8 is read as utf-8-sig so that a byte order mark never sticks to the first column name."""
    return "utf-8-sig" if codecs.lookup(mapping.encoding).name == "utf-8" else mapping.encoding


def _delimiter(path: Path, mapping: TabularMapping) -> str:
    return mapping.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")


def read_header(path: Path, mapping: TabularMapping) -> list[str]:
    """The column names of the agency file (trimmed; a UTF-8 byte order mark dropped)."""
    if source_format(path, mapping) == "parquet":
        return list(_parquet_file(path).schema_arrow.names)
    with path.open("rb") as binary:
        stream = io.TextIOWrapper(binary, encoding=_text_encoding(mapping), errors="surrogateescape", newline="")
        try:
            header = next(csv.reader(stream, delimiter=_delimiter(path, mapping)), [])
        except csv.Error as exc:
            raise ParseError(f"{path.name}: the header row is not valid CSV ({exc})", line=1) from None
    return [_readable(name.strip()) for name in header]


def unmapped_columns(path: Path, mapping: TabularMapping) -> list[str]:
    """Columns of the file the mapping does not read: they are ignored (we keep no data we have no use for)."""
    used = set(mapping.columns)
    return [name for name in read_header(path, mapping) if name not in used]


def _check_columns(path: Path, mapping: TabularMapping, header: list[str]) -> dict[str, int]:
    """Position of every mapped column; a missing or repeated one is a ``ConfigurationError``."""
    if not header:
        raise ConfigurationError(f"{path.name}: the file is empty (no header row), so {mapping.name} cannot map it")
    if len(header) == 1 and len(mapping.columns) > 1:
        raise ConfigurationError(
            f"{path.name}: the header is a single column {header[0]!r}; is source.delimiter in {mapping.name} right?"
        )
    positions: dict[str, int] = {}
    for column in mapping.columns:
        found = [i for i, name in enumerate(header) if name == column]
        if len(found) > 1:
            raise ConfigurationError(
                f"{path.name}: column {column!r} (used by {mapping.name}) appears {len(found)} times in the header"
            )
        if not found:
            near = [name for name in header if name.casefold() == column.casefold()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigurationError(
                f"{path.name}: column {column!r} (used by {mapping.name}) is not in the header{hint}. "
                f"Columns in the file: {', '.join(header)}"
            )
        positions[column] = found[0]
    return dict(sorted(positions.items(), key=lambda item: item[1]))  # header order reads best in raw


def mapped_records(
    path: Path, mapping: TabularMapping, *, today: date, progress: Callable[[int], None] | None = None
) -> Iterator[RawRecord]:
    """Canonical records of an agency file, one per row, for ``ingest_records``.

    The header is checked at once (before any row is read): a missing mapped column raises
    ``ConfigurationError`` naming it and listing the file's columns. ``today`` anchors MRZ and two-digit
    years. ``progress(done)`` is called with bytes (CSV) or rows (Parquet), as ``read_records`` does.
    """
    fmt = source_format(path, mapping)
    positions = _check_columns(path, mapping, read_header(path, mapping))
    if fmt == "parquet":
        return _parquet_records(path, mapping, today, progress)
    return _csv_records(path, mapping, positions, today, progress)


def _readable(text: str) -> str:
    """Undecodable bytes (kept as surrogates) shown as ``\\xNN`` so the text can be stored and printed."""
    if not _has_surrogates(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _undecodable(row: Mapping[str, Any], encoding: str) -> str | None:
    """The first mapped cell holding bytes the declared encoding cannot decode (kept as surrogates)."""
    for column, cell in row.items():
        if isinstance(cell, str) and _has_surrogates(cell):
            byte = next(ord(c) - 0xDC00 for c in cell if 0xDC80 <= ord(c) <= 0xDCFF)
            return f"column {column!r}: not valid {encoding} text (byte 0x{byte:02x}); check source.encoding in the mapping"
    return None


def _record(mapping: TabularMapping, location: str, row: dict[str, Any], today: date) -> RawRecord:
    # One check over the whole row first: undecodable bytes are rare, checking cell by cell is not free.
    if _has_surrogates("".join(cell for cell in row.values() if isinstance(cell, str))):
        problem = _undecodable(row, mapping.encoding)
        if problem:
            return RawRecord(location, _raw(row), None, problem)
    fields, problem = convert_row(mapping, row, today)
    return RawRecord(location, json.dumps(row, ensure_ascii=False, default=str), fields, problem)


def _raw(row: Mapping[str, Any]) -> str:
    """The mapped cells of a row as a JSON object, undecodable bytes shown as ``\\xNN``."""
    readable = {column: _readable(cell) if isinstance(cell, str) else cell for column, cell in row.items()}
    return json.dumps(readable, ensure_ascii=False, default=str)


def _csv_records(
    path: Path, mapping: TabularMapping, positions: dict[str, int], today: date, progress: Callable[[int], None] | None
) -> Iterator[RawRecord]:
    wanted = list(positions.items())
    rows = csv_rows(path, delimiter=_delimiter(path, mapping), encoding=_text_encoding(mapping), progress=progress)
    width = len(next(rows)[1])
    for number, cells in rows:
        location = f"line {number}"
        if isinstance(cells, CsvFault):
            yield RawRecord(location, cells.raw, None, cells.reason)
            continue
        row = {column: cells[i] if i < len(cells) else "" for column, i in wanted}
        if len(cells) != width:
            problem = f"row has {len(cells)} fields but the header has {width}"
            yield RawRecord(location, _raw(row), None, problem)
            continue
        yield _record(mapping, location, row, today)


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq  # imported here: only Parquet input needs it

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise ParseError(f"{path.name}: not a readable Parquet file ({exc})") from None


def _parquet_records(
    path: Path, mapping: TabularMapping, today: date, progress: Callable[[int], None] | None
) -> Iterator[RawRecord]:
    parquet = _parquet_file(path)
    number = 0
    # Only the mapped columns are read at all.
    for batch in parquet.iter_batches(batch_size=65536, columns=list(mapping.columns)):
        for row in batch.to_pylist():
            number += 1
            for column, cell in row.items():
                if isinstance(cell, bytes):
                    row[column] = cell.decode(mapping.encoding, "surrogateescape")
            yield _record(mapping, f"row {number}", row, today)
        if progress is not None:
            progress(number)
