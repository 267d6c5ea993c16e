"""The canonical event: one immutable record per arrival, departure, report or status change.

Pure core: standard library only. ``parse_event`` turns a raw mapping (from JSON, CSV, Parquet or a
format parser) into an ``Event`` or raises ``InvalidRecord`` listing every field that is wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Mapping, NamedTuple

from stayledger.domain.countries import normalise_country
from stayledger.errors import FieldError, InvalidRecord

KINDS: Final = ("arrival", "departure", "departure_report", "status_change")
CHANGES: Final = (
    "extension_filed",
    "extension_granted",
    "extension_denied",
    "status_changed",
    "program_ended",
    "adjusted_to_permanent",
)
SEXES: Final = ("M", "F", "X")
DOCUMENT_TYPES: Final = ("P", "I", "V", "O")
MODES: Final = ("air", "sea", "land")

# Field order is the canonical column order (CSV header, Parquet schema, exports).
FIELDS: Final = (
    "event_id",
    "kind",
    "occurred_on",
    "source",
    "surname",
    "given_names",
    "date_of_birth",
    "sex",
    "nationality",
    "document_type",
    "document_number",
    "document_issuer",
    "port",
    "mode",
    "carrier",
    "admission_class",
    "admitted_until",
    "duration_of_status",
    "change",
    "new_class",
    "new_until",
    "admission_ref",
    "corrects",
)
_FIELD_SET: Final = frozenset(FIELDS)
DATE_FIELDS: Final = ("occurred_on", "admitted_until", "new_until")
MAX_EVENT_ID_LENGTH: Final = 128
EARLIEST_BIRTH_YEAR: Final = 1880

_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f"})


class Event(NamedTuple):
    """One canonical event. Optional fields are None when the source did not give them.

    New optional fields go at the end, so that positional construction (``Event(*row)``) stays valid.

    Immutable. A NamedTuple rather than a frozen dataclass: it is built millions of times at ingest, and a
    tuple is several times cheaper to construct and to turn into columns.
    """

    event_id: str
    kind: str
    occurred_on: date
    source: str
    surname: str
    date_of_birth: str  # YYYY-MM-DD, or YYYY-MM / YYYY when partly unknown
    nationality: str
    given_names: str | None = None
    sex: str | None = None
    document_type: str | None = None
    document_number: str | None = None
    document_issuer: str | None = None
    port: str | None = None
    mode: str | None = None
    carrier: str | None = None
    admission_class: str | None = None
    admitted_until: date | None = None
    duration_of_status: bool = False
    change: str | None = None
    new_class: str | None = None
    new_until: date | None = None
    admission_ref: str | None = None
    corrects: str | None = None  # event_id this record replaces (a rebuttal or an officer's fix)

    def to_record(self) -> dict[str, Any]:
        """The canonical JSON-ready mapping: fields in schema order, absent ones left out."""
        record: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if value is None or (name == "duration_of_status" and value is False):
                continue
            record[name] = value.isoformat() if isinstance(value, date) else value
        return record



# Event dates (not birth dates) are accepted in this range: wide enough for any real record, far enough from
# years 1 and 9999 that stay, Schengen and retention arithmetic never leave the calendar.
EARLIEST_DAY: Final = date(1900, 1, 1)
LATEST_DAY: Final = date(2199, 12, 31)


def parse_strict_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` exactly (``date.fromisoformat`` alone also takes ``YYYYMMDD`` and week dates)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def parse_partial_date(text: str) -> str:
    """Validate a birth date given as ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; return it unchanged."""
    n = len(text)
    if n == 10:
        parse_strict_date(text)
        return text
    if n == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        if not 1 <= int(text[5:]) <= 12:
            raise ValueError(f"{text!r} has no month {text[5:]}")
        return text
    if n == 4 and text.isdigit():
        return text
    raise ValueError(f"expected YYYY-MM-DD, YYYY-MM or YYYY, got {text!r}")


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_event(raw: Mapping[str, Any], where: str | None = None) -> Event:
    """Validate and normalise one raw record into an ``Event``.

    Empty strings and nulls count as absent. Codes are upper-cased; ICAO country codes become alpha-3.
    Raises ``InvalidRecord`` naming the event_id (or ``where``) and every field that is wrong.
    """
    errors: list[FieldError] = []
    values: dict[str, Any] = {}

    for key, value in raw.items():
        if key not in _FIELD_SET:
            errors.append(FieldError(str(key), "unknown field (not in the canonical schema)"))
            continue
        if value is None:
            continue
        if key == "duration_of_status":
            if isinstance(value, bool):
                values[key] = value
            elif isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in _TRUE:
                    values[key] = True
                elif lowered in _FALSE or lowered == "":
                    values[key] = False
                else:
                    errors.append(FieldError(key, f"expected true or false, got {value!r}"))
            else:
                errors.append(FieldError(key, f"expected true or false, got {_describe(value)}"))
            continue
        if not isinstance(value, str):
            errors.append(FieldError(key, f"expected a string, got {_describe(value)}"))
            continue
        value = value.strip()
        if value:
            values[key] = value

    event_id = values.get("event_id")
    label = where or (f"event {event_id!r}" if event_id else "record")
    if event_id is None:
        if "event_id" not in raw or raw.get("event_id") in (None, ""):
            errors.append(FieldError("event_id", "required"))
    elif len(event_id) > MAX_EVENT_ID_LENGTH:
        errors.append(FieldError("event_id", f"longer than {MAX_EVENT_ID_LENGTH} characters"))

    kind = values.get("kind")
    if kind is None:
        errors.append(FieldError("kind", "required"))
    else:
        kind = kind.lower()
        if kind not in KINDS:
            errors.append(FieldError("kind", f"must be one of {', '.join(KINDS)}; got {values['kind']!r}"))
            kind = None
        values["kind"] = kind

    for name in DATE_FIELDS:
        text = values.get(name)
        if text is not None:
            try:
                day = parse_strict_date(text)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
                values[name] = None
                continue
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                # A placeholder such as 9999-12-31 would overflow retention and stay arithmetic later.
                errors.append(FieldError(name, f"{day} is outside the accepted range {EARLIEST_DAY} to {LATEST_DAY}"))
                values[name] = None
                continue
            values[name] = day

    for name in ("occurred_on", "source", "surname"):
        if name not in values:
            errors.append(FieldError(name, "required"))

    dob = values.get("date_of_birth")
    if dob is None:
        errors.append(FieldError("date_of_birth", "required"))
    else:
        try:
            parse_partial_date(dob)
        except ValueError as exc:
            errors.append(FieldError("date_of_birth", str(exc)))
        else:
            if int(dob[:4]) < EARLIEST_BIRTH_YEAR:
                errors.append(FieldError("date_of_birth", f"year {dob[:4]} is before {EARLIEST_BIRTH_YEAR}"))
            occurred = values.get("occurred_on")
            if occurred is not None and dob[:4] > occurred.isoformat()[:4]:
                errors.append(FieldError("date_of_birth", f"{dob} is after the event date {occurred}"))
            elif occurred is not None and len(dob) == 10 and dob > occurred.isoformat():
                errors.append(FieldError("date_of_birth", f"{dob} is after the event date {occurred}"))

    for name in ("nationality", "document_issuer"):
        code = values.get(name)
        if code is not None:
            normalised = normalise_country(code)
            if normalised is None:
                errors.append(FieldError(name, f"unknown country code {code!r} (ISO 3166-1 alpha-3 or ICAO 9303)"))
            values[name] = normalised
    if "nationality" not in values and not any(e.field == "nationality" for e in errors):
        errors.append(FieldError("nationality", "required"))

    for name, allowed in (("sex", SEXES), ("document_type", DOCUMENT_TYPES)):
        code = values.get(name)
        if code is not None:
            code = code.upper()
            if code not in allowed:
                errors.append(FieldError(name, f"must be one of {', '.join(allowed)}; got {values[name]!r}"))
            values[name] = code
    mode = values.get("mode")
    if mode is not None:
        mode = mode.lower()
        if mode not in MODES:
            errors.append(FieldError("mode", f"must be one of {', '.join(MODES)}; got {values['mode']!r}"))
        values["mode"] = mode
    for name in ("admission_class", "new_class"):
        if name in values:
            values[name] = values[name].upper()
    if "document_number" in values:
        values["document_number"] = values["document_number"].upper()

    if kind == "arrival":
        for name in ("document_number", "admission_class"):
            if name not in values:
                errors.append(FieldError(name, "required for an arrival"))
        if values.get("admitted_until") is None and not values.get("duration_of_status"):
            if not any(e.field == "admitted_until" for e in errors):
                errors.append(FieldError("admitted_until", "required for an arrival unless duration_of_status is true"))
        until, occurred = values.get("admitted_until"), values.get("occurred_on")
        if until is not None and occurred is not None and until < occurred:
            errors.append(FieldError("admitted_until", f"{until} is before the arrival date {occurred}"))
    elif kind == "status_change":
        change = values.get("change")
        if change is None:
            errors.append(FieldError("change", "required for a status_change"))
        else:
            change = change.lower()
            values["change"] = change
            if change not in CHANGES:
                errors.append(FieldError("change", f"must be one of {', '.join(CHANGES)}; got {raw.get('change')!r}"))
            elif change == "status_changed":
                for name in ("new_class", "new_until"):
                    if values.get(name) is None and not any(e.field == name for e in errors):
                        errors.append(FieldError(name, "required when change is status_changed"))
            elif change == "extension_granted" and values.get("new_until") is None:
                if not any(e.field == "new_until" for e in errors):
                    errors.append(FieldError("new_until", "required when change is extension_granted"))
    corrects = values.get("corrects")
    if corrects is not None and corrects == values.get("event_id"):
        errors.append(FieldError("corrects", "an event cannot correct itself"))
    if kind != "status_change" and "change" in values:
        errors.append(FieldError("change", f"only allowed on a status_change, not on {kind or 'this kind'}"))

    if errors:
        # A field with a specific complaint (wrong type, bad date) need not also be called "required".
        specific = {e.field for e in errors if not e.reason.startswith("required")}
        errors = [e for e in errors if e.field not in specific or not e.reason.startswith("required")]
        raise InvalidRecord(label, errors)
    return Event(**values)
