"""UN/EDIFACT PAXLST (API passenger and crew manifests): structure, travellers, departure records.

Pure core: standard library only. ``parse_paxlst`` reads a whole file (one or more interchanges, optional
functional groups, several messages, messages split into parts) into ``Manifest`` objects;
``manifest_departure_records`` turns a manifest into canonical ``departure`` records for one receiving
country; ``paxlst_to_records`` does both for a file.

Why our own parser: pydifact fails on functional groups (UNG/UNE), leading spaces and junk after UNZ,
all of which real feeds carry (see ``stayledger.formats.edifact``).

What the product keeps, and what it does not: names, sex, birth date, nationality, travel documents,
embarkation/disembarkation airports and the flight. Addresses (NAD street/city/postcode), contact
details (COM), seat and booking references (RFF), free text (FTX), residence country and birthplace are
read past and never kept — not even in the raw text of a rejected traveller.

Decisions worth knowing:
- Structural faults (no UNB, UNT without UNH, a message without UNT) raise ``ParseError`` naming the line
  and position. Count mismatches (CNT, UNT, UNE, UNZ) are warnings; travellers are never dropped for them.
- Parts of a message (UNH element 4 ``01:C`` … ``02:F``) sharing the common access reference (UNH
  element 3) are joined into one manifest; a missing part or final part is a warning.
- Two-digit birth years take the latest century that does not put the birth after the flight date;
  two-digit flight years (DTM format 201/101) are 20YY.
- An airport on the flight's route that the airport table does not know raises ``ParseError`` naming the
  code: the direction of the whole manifest depends on it. An unknown embarkation or disembarkation
  airport (LOC+178/179) rejects only that traveller.
- Inbound manifests carry no admission (class, admitted-until), so they yield no arrival records.
- In-transit travellers (NAD qualifiers other than FL passenger / FM crew) are skipped with a warning.

Not supported: PAXLST responses (CUSRES), the repetition separator, NAD addresses as structured data, and
message versions other than the UN/EDIFACT directories (``PAXLST:D:…``): the legacy US ``PAXLST:001:000`` (PDT
segments) raises ``ParseError`` rather than reading as a manifest without travellers.

Fuzzing: ``tests/unit/test_paxlst_properties.py`` runs a modest hypothesis run by default; set
``STAYLEDGER_FUZZ=1`` for a long run (thousands of examples per property).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from hashlib import blake2b
from itertools import compress, count, repeat
from typing import Any, Final, Literal, TypeAlias

from stayledger.domain.countries import normalise_country
from stayledger.domain.events import EARLIEST_BIRTH_YEAR
from stayledger.errors import ParseError
from stayledger.formats.airports import AirportTable, border_area, bundled_airports
from stayledger.bulk_objects import cycle_collector_paused
from stayledger.formats.edifact import (
    Delimiters,
    Segment,
    SegmentBlock,
    TextPositions,
    find_segments,
    render_segment,
    split_elements,
)

PASSENGER: Final = "passenger"
CREW: Final = "crew"
TRAVELLER_ROLES: Final = {"FL": PASSENGER, "FM": CREW}
LIST_TYPES: Final = {"745": "passengers", "250": "crew"}
COUNT_ROLES: Final = {"42": PASSENGER, "41": CREW}
DOCUMENT_TYPES: Final = {"P": "P", "I": "I", "V": "V"}
SEXES: Final = {"M": "M", "F": "F", "X": "X"}
_SERVICE_TAGS: Final = frozenset({"UNH", "UNT", "UNB", "UNZ", "UNG", "UNE"})
_READ_TAGS: Final = frozenset({"NAD", "CNT", "BGM", "TDT", "LOC", "DTM", "ATT", "NAT", "DOC"})
_ITINERARY: Final = ("125", "87", "92")
_IDENTIFYING_TYPES: Final = ("P", "I", "O", "V")  # document types, most preferred first
_NAME_ELEMENTS: Final = 4  # NAD+FL+++SURNAME:GIVEN:MIDDLE — elements after the 4th are the address
_CARRIER_IN_FLIGHT_NUMBER: Final = re.compile(r"([A-Z]{2}|[A-Z][0-9]|[0-9][A-Z])[0-9]{1,4}[A-Z]?")

Direction = Literal["outbound", "inbound", "neither"]


# ---------------------------------------------------------------------------------------------------
# What a manifest holds


@dataclass(frozen=True, slots=True)
class Document:
    """One travel document of a traveller (DOC with its DTM+36 expiry and LOC+91 issuing country)."""

    type: str  # P, I, V, or O for any other code
    code: str  # the code as sent, e.g. "P" or "AC"
    number: str | None
    issuer: str | None  # as sent; normalised when converted
    expiry: date | None


@dataclass(frozen=True, slots=True)
class Traveller:
    """A passenger or crew member as the manifest gives them (no address, contact or booking data)."""

    role: str  # "passenger" or "crew"
    surname: str | None
    given_names: str | None  # given and middle names joined with a space
    sex: str | None
    date_of_birth: str | None  # YYYY-MM-DD
    birth_date_problem: str | None  # why DTM+329 could not be read, when it was present
    nationality: str | None  # as sent
    documents: tuple[Document, ...]
    embarkation: str | None  # LOC+178 airport
    disembarkation: str | None  # LOC+179 airport
    line: int
    column: int
    segments: tuple[str, ...]  # the kept segments as sent, NAD cut after the name (no address)
    warnings: tuple[str, ...] = ()

    @property
    def document(self) -> Document | None:
        """The document that identifies the traveller: a passport, else an identity card, else any non-visa."""
        for wanted in _IDENTIFYING_TYPES:
            for document in self.documents:
                if document.type == wanted:
                    return document
        return None


@dataclass(frozen=True, slots=True)
class Stop:
    """An airport on the flight's itinerary (LOC+125, LOC+92 or LOC+87) and its scheduled times."""

    airport: str
    qualifier: str
    departure_date: date | None
    departure_time: time | None
    arrival_date: date | None
    arrival_time: time | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Flight:
    """The flight a manifest reports (TDT+20 and the itinerary LOC/DTM segments)."""

    number: str | None
    carrier: str | None
    stops: tuple[Stop, ...]

    @property
    def departure(self) -> Stop | None:
        """The first departure airport (LOC+125)."""
        return next((stop for stop in self.stops if stop.qualifier == "125"), None)

    @property
    def arrival(self) -> Stop | None:
        """The final arrival airport (the last LOC+87)."""
        return next((stop for stop in reversed(self.stops) if stop.qualifier == "87"), None)

    @property
    def departure_airport(self) -> str | None:
        stop = self.departure
        return stop.airport if stop else None

    @property
    def arrival_airport(self) -> str | None:
        stop = self.arrival
        return stop.airport if stop else None

    @property
    def departure_date(self) -> date | None:
        """Scheduled local departure date from the first departure airport (DTM+189)."""
        stop = self.departure
        return stop.departure_date if stop else None

    @property
    def route(self) -> tuple[str, ...]:
        """Every airport in flight order: departure, routing legs (LOC+92), arrival; repeats removed.

        With one LOC+125 and one LOC+87 the LOC+92 legs go between them; when the itinerary group repeats
        per leg (LOC+125 A, LOC+87 B, LOC+125 B, LOC+87 C) the airports are taken in message order.
        """
        stops = self.stops
        first, last = self.departure, self.arrival
        if sum(s.qualifier == "125" for s in stops) <= 1 and sum(s.qualifier == "87" for s in stops) <= 1:
            sequence = ([first.airport] if first else []) + [s.airport for s in stops if s.qualifier == "92"]
            sequence += [last.airport] if last else []
        else:
            sequence = [s.airport for s in stops]
        route: list[str] = []
        for airport in sequence:
            if not route or route[-1] != airport:
                route.append(airport)
        return tuple(route)

    def departure_date_at(self, airport: str) -> date | None:
        """The scheduled departure date from ``airport`` when the manifest gives one."""
        for stop in self.stops:
            if stop.airport == airport and stop.departure_date is not None:
                return stop.departure_date
        return None

    def stop_at(self, airport: str) -> Stop | None:
        return next((stop for stop in self.stops if stop.airport == airport), None)


@dataclass(frozen=True, slots=True)
class Manifest:
    """One PAXLST message (its parts joined): the flight, the travellers and what looked wrong."""

    reference: str  # common access reference for a message in parts, else the message reference
    message_references: tuple[str, ...]
    list_type: str | None  # "passengers" (BGM 745), "crew" (BGM 250) or None
    flight: Flight
    travellers: tuple[Traveller, ...]
    delimiters: Delimiters
    line: int  # of the (first) UNH
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interchange:
    """One UNB … UNZ envelope."""

    sender: str
    recipient: str
    reference: str
    prepared: str  # UNB date:time as sent
    message_count: int
    line: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PaxlstParse:
    """A parsed PAXLST file: its interchanges, its manifests and file-level warnings."""

    interchanges: list[Interchange]
    manifests: list[Manifest]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RejectedTraveller:
    """A traveller who cannot become a record: their kept segments as text, and why (for quarantine)."""

    raw: str
    reason: str
    line: int
    manifest_reference: str


@dataclass(frozen=True, slots=True)
class ManifestConversion:
    """The departure records of one manifest for one receiving country, and what could not be converted."""

    direction: Direction
    records: list[dict[str, str]]
    rejected: list[RejectedTraveller]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class PaxlstRecords:
    """Every departure record of a file for one receiving country (``paxlst_to_records``)."""

    records: list[dict[str, str]]
    rejected: list[RejectedTraveller]
    warnings: list[str]
    conversions: list[ManifestConversion]
    manifests: list[Manifest]


# ---------------------------------------------------------------------------------------------------
# Structure: interchanges, groups, messages, parts


@dataclass(slots=True)
class _Part:
    reference: str
    common_reference: str
    sequence: int | None
    final: bool | None
    header: Segment  # the UNH
    block: SegmentBlock  # the segments the message is in
    ranges: list[tuple[int, int]]  # which of them form the body: index ranges between UNH and UNT
    positions: TextPositions
    line: int
    column: int

    @property
    def delimiters(self) -> Delimiters:
        return self.block.delimiters

    @property
    def size(self) -> int:
        """Segments in the body."""
        return sum(high - low for low, high in self.ranges)


@dataclass(slots=True)
class _Envelope:
    header: Segment
    messages: int = 0
    groups: int = 0
    group: Segment | None = None
    group_messages: int = 0
    warnings: list[str] = field(default_factory=list)


def parse_paxlst(text: str) -> PaxlstParse:
    """Parse a PAXLST file into manifests; ``ParseError`` for broken structure, warnings for the tolerable."""
    with cycle_collector_paused():
        return _parse(text)


def _parse(text: str) -> PaxlstParse:
    scanned = find_segments(text)
    positions = scanned.positions
    at = positions.at
    warnings = list(scanned.warnings)
    interchanges: list[Interchange] = []
    parts: list[_Part] = []
    envelope: _Envelope | None = None
    message: _Part | None = None
    seen_segment = False

    for block in scanned.blocks:
        bodies = block.bodies
        seen_segment = seen_segment or bool(bodies)
        # Walk the envelope segments only; a message body is the index range between its UNH and UNT.
        service = [
            index for index in compress(count(), map(str.startswith, bodies, repeat("UN"))) if bodies[index][:3] in _SERVICE_TAGS
        ]
        service.append(len(bodies))
        previous = -1
        for index in service:
            if index > previous + 1:
                if message is not None:
                    message.ranges.append((previous + 1, index))
                else:
                    for outside in range(previous + 1, index):
                        tag = bodies[outside][:3]
                        line, column = at(block.start(outside))
                        if envelope is None:
                            raise ParseError(f"missing UNB: the interchange must begin with UNB, found {tag}", line, column)
                        envelope.warnings.append(f"line {line}: {tag} outside a message ignored")
            previous = index
            if index == len(bodies):
                break
            segment = _segment(block, index, positions)
            tag = segment.tag
            if tag == "UNB":
                if message is not None:
                    raise _unclosed(message, segment)
                if envelope is not None:
                    envelope.warnings.append(f"line {segment.line}: UNB before the UNZ of interchange {envelope.header.value(5)!r}")
                    interchanges.append(_close_interchange(envelope, None))
                envelope = _Envelope(segment)
            elif envelope is None:
                raise ParseError(f"missing UNB: the interchange must begin with UNB, found {tag}", segment.line, segment.column)
            elif tag == "UNH":
                if message is not None:
                    raise _unclosed(message, segment)
                message = _open_part(segment, block, positions)
            elif tag == "UNT":
                if message is None:
                    raise ParseError("UNT without UNH", segment.line, segment.column)
                _check_trailer(message, segment, envelope.warnings)
                envelope.messages += 1
                envelope.group_messages += 1
                parts.append(message)
                message = None
            elif tag == "UNG":
                if envelope.group is not None:
                    envelope.warnings.append(f"line {segment.line}: UNG before the UNE of the previous group")
                envelope.group, envelope.group_messages = segment, 0
                envelope.groups += 1
            elif tag == "UNE":
                if message is not None:
                    raise _unclosed(message, segment)
                _check_count(segment, envelope.group_messages, "UNE", "messages in the group", envelope.warnings)
                envelope.group = None
            elif tag == "UNZ":
                if message is not None:
                    raise _unclosed(message, segment)
                interchanges.append(_close_interchange(envelope, segment))
                envelope = None

    if message is not None:
        raise ParseError(f"message {message.reference!r} has no UNT: the text ends inside it", message.line, message.column)
    if envelope is not None:
        envelope.warnings.append(f"interchange {envelope.header.value(5)!r} has no UNZ")
        interchanges.append(_close_interchange(envelope, None))
    if not seen_segment:
        raise ParseError("missing UNB: no EDIFACT segments found", 1, 1)
    for interchange in interchanges:
        warnings.extend(interchange.warnings)
    paxlst_parts = []
    for part in parts:
        message_type = part.header.value(2).strip().upper()
        if message_type not in ("PAXLST", ""):
            warnings.append(f"line {part.line}: message {part.reference!r} is {message_type!r}, not PAXLST; skipped")
            continue
        if not message_type:
            warnings.append(f"line {part.line}: message {part.reference!r} names no message type; read as PAXLST")
        _refuse_unsupported_version(part)
        paxlst_parts.append(part)
    manifests = [_manifest(group) for group in _group_parts(paxlst_parts)]
    return PaxlstParse(interchanges, manifests, warnings)


def _refuse_unsupported_version(part: _Part) -> None:
    """Only UN/EDIFACT directory messages (``PAXLST:D:02B``, ``D:05B``…) are read. Others, such as the legacy US
    ``PAXLST:001:000`` with its PDT traveller segments, would read as a manifest without travellers: refuse them."""
    version = part.header.value(2, 2).strip().upper()
    if version in ("", "D"):
        return
    release = part.header.value(2, 3).strip()
    raise ParseError(
        f"message {part.reference!r} is PAXLST version {version}:{release}, which is not supported "
        "(only UN/EDIFACT directory versions, PAXLST:D:…, are read)",
        part.line,
        part.column,
    )


def _segment(block: SegmentBlock, index: int, positions: TextPositions) -> Segment:
    """Segment ``index`` of the block, split, with its position."""
    body = block.bodies[index]
    return Segment(body[:3], split_elements(body[3:], block.delimiters), *positions.at(block.start(index)))


def _open_part(unh: Segment, block: SegmentBlock, positions: TextPositions) -> _Part:
    sequence_text, status = unh.value(4, 1), unh.value(4, 2).upper()
    sequence = _count(sequence_text)
    final = {"C": False, "F": True}.get(status)
    return _Part(unh.value(1), unh.value(3), sequence, final, unh, block, [], positions, unh.line, unh.column)


def _unclosed(message: _Part, segment: Segment) -> ParseError:
    return ParseError(
        f"{segment.tag} before the UNT of message {message.reference!r} (UNH at line {message.line})",
        segment.line,
        segment.column,
    )


def _check_trailer(message: _Part, unt: Segment, warnings: list[str]) -> None:
    _check_count(unt, message.size + 2, "UNT", "segments in the message", warnings)
    if unt.value(2) != message.reference:
        warnings.append(f"line {unt.line}: UNT reference {unt.value(2)!r} differs from UNH reference {message.reference!r}")


def _check_count(segment: Segment, actual: int, tag: str, what: str, warnings: list[str]) -> None:
    declared = segment.value(1)
    if _count(declared) == actual:
        return
    warnings.append(f"line {segment.line}: {tag} declares {declared or 'no count'} {what}; found {actual}")


def _close_interchange(envelope: _Envelope, unz: Segment | None) -> Interchange:
    header = envelope.header
    if unz is not None:
        expected = envelope.groups if envelope.groups else envelope.messages
        _check_count(unz, expected, "UNZ", "groups" if envelope.groups else "messages", envelope.warnings)
        if unz.value(2) != header.value(5):
            envelope.warnings.append(f"line {unz.line}: UNZ reference {unz.value(2)!r} differs from UNB reference {header.value(5)!r}")
    prepared = ":".join(component for component in (header.value(4, 1), header.value(4, 2)) if component)
    return Interchange(
        sender=header.value(2),
        recipient=header.value(3),
        reference=header.value(5),
        prepared=prepared,
        message_count=envelope.messages,
        line=header.line,
        warnings=tuple(envelope.warnings),
    )


def _group_parts(parts: list[_Part]) -> list[list[_Part]]:
    """Messages in parts (status C/F with a common access reference) together, in file order."""
    groups: dict[object, list[_Part]] = {}
    for index, part in enumerate(parts):
        key: object = ("parts", part.common_reference) if part.final is not None and part.common_reference else index
        groups.setdefault(key, []).append(part)
    return list(groups.values())


# ---------------------------------------------------------------------------------------------------
# A message's content: flight header and travellers


# A traveller being read, as a plain list (one per traveller; cheaper than an object) in the order of
# ``Traveller``'s fields, with three fields still raw: [role, surname, given names, sex, birth (DTM+329
# value, format), None, nationality, documents, embarkation, disembarkation, line, column, kept segments,
# warnings]; each document as [type, code, number, issuer, expiry]. ``_finish_traveller`` completes them.
_TravellerDraft: TypeAlias = "list[Any]"


@dataclass(slots=True)
class _StopDraft:
    airport: str
    qualifier: str
    line: int
    column: int
    departure: tuple[date, time | None] | None = None
    arrival: tuple[date, time | None] | None = None

    def finish(self) -> Stop:
        departure_date, departure_time = self.departure or (None, None)
        arrival_date, arrival_time = self.arrival or (None, None)
        return Stop(self.airport, self.qualifier, departure_date, departure_time, arrival_date, arrival_time, self.line, self.column)


@dataclass(slots=True)
class _Body:
    list_types: list[str] = field(default_factory=list)
    number: str | None = None
    carrier: str | None = None
    stops: list[_StopDraft] = field(default_factory=list)
    travellers: list[_TravellerDraft] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _manifest(parts: list[_Part]) -> Manifest:
    """Join a message's parts and read the flight and travellers."""
    warnings: list[str] = []
    if len(parts) > 1 or parts[0].final is not None:
        parts = _ordered_parts(parts, warnings)
    bodies = [_read_body(part) for part in parts]
    first = parts[0]
    flight_body = next((body for body in bodies if body.stops or body.number), bodies[0])
    for body in bodies:
        if body is not flight_body and (body.stops or body.number) and (
            (body.number, [s.airport for s in body.stops]) != (flight_body.number, [s.airport for s in flight_body.stops])
        ):
            warnings.append(f"manifest {first.common_reference or first.reference!r}: parts disagree about the flight; the first part's is used")
    flight = Flight(flight_body.number, flight_body.carrier, tuple(stop.finish() for stop in flight_body.stops))
    reference_date = flight.departure_date or (flight.arrival.arrival_date if flight.arrival else None)
    drafts = [draft for body in bodies for draft in body.travellers]
    travellers = tuple(_finish_traveller(draft, reference_date) for draft in drafts)
    list_types = [kind for body in bodies for kind in body.list_types]
    list_type = list_types[0] if list_types else None
    for body in bodies:
        warnings.extend(body.warnings)
    _check_counts(bodies, travellers, warnings)
    if list_type == "passengers" and any(t.role == CREW for t in travellers):
        warnings.append("a passenger list (BGM 745) names crew members (NAD+FM); they are kept as crew")
    if list_type == "crew" and any(t.role == PASSENGER for t in travellers):
        warnings.append("a crew list (BGM 250) names passengers (NAD+FL); they are kept as passengers")
    reference = first.common_reference if first.final is not None and first.common_reference else first.reference
    return Manifest(
        reference=reference,
        message_references=tuple(part.reference for part in parts),
        list_type=list_type,
        flight=flight,
        travellers=travellers,
        delimiters=first.delimiters,
        line=first.line,
        warnings=tuple(warnings),
    )


def _ordered_parts(parts: list[_Part], warnings: list[str]) -> list[_Part]:
    """Parts in sequence order, duplicates dropped, gaps and a missing final part reported."""
    reference = parts[0].common_reference or parts[0].reference
    ordered = sorted(parts, key=lambda part: part.sequence if part.sequence is not None else 0)
    kept: list[_Part] = []
    seen: set[int] = set()
    for part in ordered:
        if part.sequence is not None and part.sequence in seen:
            warnings.append(f"line {part.line}: part {part.sequence} of message {reference!r} appears twice; the later copy is ignored")
            continue
        if part.sequence is not None:
            seen.add(part.sequence)
        kept.append(part)
    numbers = sorted(seen)
    if numbers:
        missing = sorted(set(range(1, numbers[-1] + 1)) - seen)
        if missing:
            warnings.append(f"message {reference!r} lacks part(s) {', '.join(map(str, missing))}")
    if not any(part.final for part in kept):
        warnings.append(f"message {reference!r} has no final part (F); later parts may be missing")
    return kept


def _read_body(part: _Part) -> _Body:
    """Walk a message body: header segments until the first NAD+FL/FM, then traveller groups.

    The hot path of a large manifest: segments the product does not read (RFF, COM, FTX, …) are never
    split, traveller segments are read straight from their text, and a position (line, column) is worked
    out only for a traveller's NAD, the flight header and what a warning names.
    """
    body = _Body()
    traveller: _TravellerDraft | None = None
    skipping = False  # inside a NAD group that is not a traveller
    stop: _StopDraft | None = None
    block, at = part.block, part.positions.at
    delimiters = block.delimiters
    terminator, element, component, release = delimiters.terminator, delimiters.element, delimiters.component, delimiters.release
    read_tags, itinerary = _READ_TAGS, _ITINERARY  # locals: faster in the loop
    all_bodies = block.bodies
    plain = release is None or not block.released  # no segment holds a release character
    for low, high in part.ranges:
        for index, text in enumerate(all_bodies[low:high], low):
            tag = text[:3]
            if tag not in read_tags:
                continue
            # Split only as far as needed: the first element's components, and later elements only when read.
            # ``parts[0]`` is the tag: a tag never holds the element separator.
            elements: list[list[str]] | None
            if plain or (release is not None and release not in text):
                parts = text.split(element)
                size = len(parts)
                first = parts[1].split(component) if size > 1 else [""]
                elements = None
            else:
                parts = []
                elements = split_elements(text[3:], delimiters)
                size = len(elements) + 1
                first = elements[0] if elements else [""]
            qualifier = first[0]
            if traveller is not None:
                # Traveller segments, read inline (the hottest code of a large manifest).
                if tag == "LOC" and qualifier not in itinerary:
                    if elements is None:
                        place = parts[2] if size > 2 else ""
                        if component in place:
                            place = place.split(component, 1)[0]
                    else:
                        place = _component(elements, 2)
                    if qualifier == "178":
                        traveller[8] = place.strip().upper() or None  # embarkation
                    elif qualifier == "179":
                        traveller[9] = place.strip().upper() or None  # disembarkation
                    elif qualifier == "91" and traveller[7]:
                        traveller[7][-1][3] = place.strip().upper() or None  # the last document's issuer
                    else:
                        continue  # residence country (174), birthplace (180) and others are not kept
                    traveller[12].append(text + terminator)  # kept segments
                    continue
                if tag == "DTM":
                    if qualifier == "329":
                        value = first[1].strip() if len(first) > 1 else ""
                        traveller[4] = (value, first[2].strip() if len(first) > 2 else "")  # birth
                    elif qualifier == "36" and traveller[7]:
                        value = first[1].strip() if len(first) > 1 else ""
                        fmt = first[2].strip() if len(first) > 2 else ""
                        traveller[7][-1][4] = _plain_date(value, fmt)  # the last document's expiry
                    else:
                        continue
                    traveller[12].append(text + terminator)
                    continue
                if tag == "NAT" or tag == "DOC":
                    if elements is None:
                        second = parts[2] if size > 2 else ""
                        if component in second:
                            second = second.split(component, 1)[0]
                    else:
                        second = _component(elements, 2)
                    if tag == "NAT":
                        nationality = second.strip().upper() or None
                        if traveller[6] is None:
                            traveller[6] = nationality
                        elif nationality != traveller[6]:
                            line = at(block.start(index))[0]
                            traveller[13] += (f"line {line}: a second nationality {nationality!r} is not recorded",)
                    else:
                        code = qualifier.strip().upper()
                        number = "".join(second.split()).upper()
                        traveller[7].append([DOCUMENT_TYPES.get(code, "O"), code, number or None, None, None])
                    traveller[12].append(text + terminator)
                    continue
                if tag == "ATT":
                    if qualifier != "2":
                        continue
                    if elements is None:
                        third = parts[3] if size > 3 else ""
                        code = (third.split(component, 1)[0] if component in third else third).strip().upper()
                    else:
                        code = _component(elements, 3).strip().upper()
                    traveller[3] = SEXES.get(code)  # sex
                    if code and code not in SEXES and code != "U":
                        line = at(block.start(index))[0]
                        traveller[13] += (f"line {line}: sex code {code!r} not understood; left empty",)
                    traveller[12].append(text + terminator)
                    continue
                # NAD, CNT and the flight header's TDT, BGM and LOC+125/87/92 end the traveller's group.
            if tag == "NAD":
                role = TRAVELLER_ROLES.get(qualifier.upper())
                if role is None:
                    traveller, skipping, stop = None, True, None
                    if qualifier.upper() not in ("MS", ""):
                        line = at(block.start(index))[0]
                        body.warnings.append(f"line {line}: NAD+{qualifier} is neither a passenger (FL) nor crew (FM); skipped")
                    continue
                traveller, skipping, stop = _start_traveller(text, at(block.start(index)), parts, elements, role, delimiters), False, None
                body.travellers.append(traveller)
                continue
            if elements is None:
                del parts[0]
                elements = list(map(str.split, parts, repeat(component)))
            if tag == "CNT":
                traveller, skipping = None, True
                for counted in elements:
                    declared = _count(counted[1]) if len(counted) > 1 else None
                    if counted[0] in COUNT_ROLES and declared is not None:
                        body.counts.setdefault(counted[0], []).append(declared)
                continue
            header_segment = (tag == "LOC" and qualifier in itinerary) or tag == "TDT" or tag == "BGM"
            if traveller is not None:
                traveller = None  # back in the flight header
            elif skipping:
                if header_segment:
                    skipping = False  # back in the flight header (after NAD+MS, say)
                else:
                    continue
            assert elements is not None
            segment = Segment(tag, elements, *at(block.start(index)))
            if tag == "BGM":
                kind = LIST_TYPES.get(qualifier)
                if kind is None:
                    body.warnings.append(f"line {segment.line}: BGM document code {qualifier!r} is neither 745 (passengers) nor 250 (crew)")
                else:
                    body.list_types.append(kind)
            elif tag == "TDT" and qualifier == "20":
                body.number = segment.value(2).strip().upper() or None
                carrier = segment.value(5).strip().upper()
                if not carrier and body.number:
                    match = _CARRIER_IN_FLIGHT_NUMBER.fullmatch(body.number)
                    carrier = match.group(1) if match else ""
                body.carrier = carrier or None
            elif tag == "LOC" and qualifier in ("125", "87", "92"):
                airport = segment.value(2).strip().upper()
                if not airport:
                    body.warnings.append(f"line {segment.line}: LOC+{qualifier} without an airport code ignored")
                    stop = None
                    continue
                stop = _StopDraft(airport, qualifier, segment.line, segment.column)
                body.stops.append(stop)
                following = segment.value(3).strip().upper()  # LOC+92+FROM+TO: a routing leg given as a pair
                if qualifier == "92" and following:
                    stop = _StopDraft(following, "92", segment.line, segment.column)
                    body.stops.append(stop)
            elif tag == "DTM" and stop is not None and qualifier in ("189", "232"):
                parsed = _flight_datetime(segment.value(1, 2), segment.value(1, 3))
                if parsed is None:
                    body.warnings.append(f"line {segment.line}: unreadable date {segment.value(1, 2)!r} in DTM+{qualifier}")
                    continue
                if qualifier == "189":
                    stop.departure = parsed
                else:
                    stop.arrival = parsed
    return body


def _component(elements: list[list[str]], element: int, component: int = 1) -> str:
    """Like ``Segment.value``, on bare elements (1-based numbers; "" when absent)."""
    if element > len(elements):
        return ""
    components = elements[element - 1]
    return components[component - 1] if component <= len(components) else ""


def _start_traveller(
    text: str, position: tuple[int, int], parts: list[str], elements: list[list[str]] | None, role: str, delimiters: Delimiters
) -> _TravellerDraft:
    """A new ``_TravellerDraft`` from its NAD segment: ``text`` (tag included, no terminator) split either into
    ``parts`` on the element separator (tag first) when it holds no release character, or into ``elements``."""
    if elements is None:
        name = parts[_NAME_ELEMENTS].split(delimiters.component) if len(parts) > _NAME_ELEMENTS else []
        address = len(parts) > _NAME_ELEMENTS + 1
        if address:  # cut the address off before keeping the text
            kept = delimiters.element.join(parts[: _NAME_ELEMENTS + 1]) + delimiters.terminator
    else:
        name = elements[_NAME_ELEMENTS - 1] if len(elements) >= _NAME_ELEMENTS else []
        address = len(elements) > _NAME_ELEMENTS
        if address:
            kept = render_segment(Segment("NAD", elements[:_NAME_ELEMENTS]), delimiters)
    if not address:
        kept = text + delimiters.terminator
    surname = name[0].strip() if name else ""
    given = " ".join(filter(None, map(str.strip, name[1:]))) if len(name) > 1 else ""
    return [role, surname or None, given or None, None, None, None, None, [], None, None, position[0], position[1], [kept], ()]


def _finish_traveller(draft: _TravellerDraft, reference: date | None) -> Traveller:
    """The ``Traveller`` of a ``_TravellerDraft`` (which it uses up), birth date placed against ``reference``."""
    birth = draft[4]
    if birth is not None:
        draft[4], draft[5] = _birth_date(birth[0], birth[1], reference)
    documents = draft[7]
    draft[7] = (Document(*documents[0]),) if len(documents) == 1 else tuple([Document(*document) for document in documents])
    draft[12] = tuple(draft[12])
    return Traveller(*draft)


def _check_counts(bodies: list[_Body], travellers: tuple[Traveller, ...], warnings: list[str]) -> None:
    """CNT+42 / CNT+41 against the travellers found: a mismatch is a warning, never a loss."""
    for qualifier, role in COUNT_ROLES.items():
        declared = [number for body in bodies for number in body.counts.get(qualifier, [])]
        if not declared:
            continue
        actual = sum(1 for traveller in travellers if traveller.role == role)
        if declared[-1] != actual and sum(declared) != actual:
            warnings.append(f"CNT+{qualifier} declares {declared[-1]} {role}s; the manifest names {actual}")


# ---------------------------------------------------------------------------------------------------
# Numbers and dates


def _count(text: str) -> int | None:
    """A count or sequence number: ASCII digits only (Unicode digits and huge numbers are not counts)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


_FORMAT_OF_LENGTH: Final = {6: "101", 8: "102", 10: "201", 12: "203"}  # DTM formats by length, when none is given
_LENGTH_OF_FORMAT: Final = {"101": 6, "102": 8, "201": 10, "203": 12}


def _digits_date(value: str, fmt: str) -> tuple[int, int, int, int | None, int | None] | None:
    """Split a DTM value into (year, month, day, hour, minute); years may be two-digit (< 100)."""
    if not value.isdigit() or not value.isascii():
        return None
    if not fmt:
        fmt = _FORMAT_OF_LENGTH.get(len(value), "")
    expected = _LENGTH_OF_FORMAT.get(fmt)
    if expected is None or len(value) != expected:
        return None
    if fmt in ("101", "201"):
        year, rest = int(value[:2]), value[2:]
    else:
        year, rest = int(value[:4]), value[4:]
    month, day = int(rest[:2]), int(rest[2:4])
    if fmt in ("201", "203"):
        return year, month, day, int(rest[4:6]), int(rest[6:8])
    return year, month, day, None, None


def _flight_datetime(value: str, fmt: str) -> tuple[date, time | None] | None:
    """A scheduled departure/arrival (201 YYMMDDHHMM, 203 CCYYMMDDHHMM, 102 CCYYMMDD, 101 YYMMDD)."""
    parts = _digits_date(value.strip(), fmt.strip())
    if parts is None:
        return None
    year, month, day, hour, minute = parts
    if year < 100:
        year += 2000
    try:
        return date(year, month, day), (time(hour, minute) if hour is not None and minute is not None else None)
    except ValueError:
        return None


def _plain_date(value: str, fmt: str) -> date | None:
    """A document expiry; two-digit years are 20YY (documents expire in this century)."""
    if len(value) == 6 and fmt in ("", "101") and value.isascii() and value.isdigit():  # the usual YYMMDD, directly
        try:
            return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
        except ValueError:
            return None
    parsed = _flight_datetime(value, fmt)
    return parsed[0] if parsed else None


def _birth_date(value: str, fmt: str, reference: date | None) -> tuple[str | None, str | None]:
    """ISO birth date from DTM+329, or (None, why not). Two-digit years: latest century not after ``reference``."""
    if len(value) == 6 and (fmt == "" or fmt == "101") and value.isdigit() and value.isascii():
        year, month, day = int(value[:2]), int(value[2:4]), int(value[4:])  # the usual YYMMDD, directly
    else:
        parts = _digits_date(value, fmt)
        if parts is None or parts[3] is not None:
            return None, f"birth date {value!r} is not YYMMDD or CCYYMMDD"
        year, month, day = parts[:3]
    if year < 100:
        if reference is None:
            return None, f"birth date {value!r} has a two-digit year and the flight has no date to place it"
        year += reference.year // 100 * 100
        if (year, month, day) > (reference.year, reference.month, reference.day):
            year -= 100
    try:
        born = date(year, month, day)
    except ValueError:
        return None, f"birth date {value!r} is not a calendar date"
    if year < EARLIEST_BIRTH_YEAR:
        return None, f"birth date {value!r} is before {EARLIEST_BIRTH_YEAR}"
    if reference is not None and born > reference:
        return None, f"birth date {born.isoformat()} is after the flight date {reference.isoformat()}"
    return born.isoformat(), None


# ---------------------------------------------------------------------------------------------------
# Conversion to canonical departure records


def manifest_departure_records(
    manifest: Manifest, country: str, airports: AirportTable | None = None
) -> ManifestConversion:
    """Departure records for ``country`` (alpha-3): one per passenger or crew member leaving it on this flight.

    A manifest whose first departure airport (LOC+125) lies in the country is outbound; each traveller who
    boards inside the country and leaves the flight outside it becomes a ``departure`` event. Inbound and
    other manifests yield no records (with a message). The conversion's warnings begin with the manifest's
    own. Raises ``ParseError`` for an airport on the route that the table does not know.
    """
    table = airports if airports is not None else bundled_airports()
    code = normalise_country(country)
    if code is None:
        raise ValueError(f"unknown receiving country {country!r} (expected ISO 3166-1 alpha-3)")
    area = border_area(code)
    flight = manifest.flight
    route = flight.route
    inside = {airport: _country(table, flight, airport) in area for airport in route}
    label = f"manifest {manifest.reference!r} (flight {flight.number or 'unknown'})"
    departure, arrival = flight.departure_airport, flight.arrival_airport

    warnings = list(manifest.warnings)
    if departure is None and arrival is None:
        warnings.append(f"{label}: no departure (LOC+125) or arrival (LOC+87) airport; nothing recorded")
        return ManifestConversion("neither", [], [], warnings)
    if departure is not None and inside[departure]:
        if all(inside.values()):
            warnings.append(f"{label}: every airport on the route ({'-'.join(route)}) is in {code}; a domestic flight records no departures")
            return ManifestConversion("neither", [], [], warnings)
        return _outbound(manifest, code, area, table, inside, label, warnings)
    if arrival is not None and inside[arrival]:
        warnings.append(
            f"{label}: inbound to {arrival} in {code}; a PAXLST manifest carries no admission class or admitted-until date, "
            "so it yields no arrival records"
        )
        return ManifestConversion("inbound", [], [], warnings)
    touched = [airport for airport in route if inside[airport]]
    note = f"; it stops at {', '.join(touched)} in {code} on the way, which is not converted" if touched else ""
    warnings.append(f"{label}: neither departs from nor arrives in {code}{note}")
    return ManifestConversion("neither", [], [], warnings)


class UnknownAirport(ParseError):
    """An airport on the flight's route that the airport table does not know (``code``): the whole manifest's
    direction depends on it."""

    def __init__(self, code: str, reason: str, line: int | None, column: int | None) -> None:
        self.code = code
        super().__init__(reason, line, column)


def _country(table: AirportTable, flight: Flight, airport: str) -> str:
    found = table.country_of(airport)
    if found is None:
        stop = flight.stop_at(airport)
        raise UnknownAirport(
            airport,
            f"unknown airport code {airport!r}: not in the airport table, so the flight's direction cannot be decided",
            stop.line if stop else None,
            stop.column if stop else None,
        )
    return found


def _outbound(
    manifest: Manifest,
    country: str,
    area: frozenset[str],
    table: AirportTable,
    inside: dict[str, bool],
    label: str,
    warnings: list[str],
) -> ManifestConversion:
    flight = manifest.flight
    route = flight.route
    records: list[dict[str, str]] = []
    rejected: list[RejectedTraveller] = []
    seen: set[str] = set()
    skipped_inside = skipped_abroad = 0
    number = flight.number or ""
    carrier = flight.carrier
    countries: dict[str, str | None] = {}  # normalise_country, asked once per code in a manifest
    exits: dict[str, tuple[str, date | None, str, bool]] = {}  # boarding airport → _exit

    for traveller in manifest.travellers:
        if traveller.warnings:
            warnings.extend(traveller.warnings)
        reason = _traveller_problem(traveller, countries)
        if reason is None:
            board = traveller.embarkation or route[0]
            alight = traveller.disembarkation or route[-1]
            board_in = inside.get(board)
            if board_in is None:
                board_in = _inside(table, board, area, inside)
            alight_in = inside.get(alight)
            if alight_in is None:
                alight_in = _inside(table, alight, area, inside)
            if board_in is None:
                reason = f"embarkation airport {board!r} (LOC+178) is not in the airport table"
            elif alight_in is None:
                reason = f"disembarkation airport {alight!r} (LOC+179) is not in the airport table"
            elif alight_in:
                skipped_inside += 1
                continue
            elif not board_in:
                skipped_abroad += 1
                continue
        if reason is not None:
            rejected.append(_reject(manifest, traveller, reason))
            continue
        leaving = exits.get(board)
        if leaving is None:
            leaving = exits[board] = _exit(flight, route, board, inside)
        port, occurred, occurred_on, borrowed = leaving
        if borrowed:
            warnings.append(f"{label}: no scheduled departure (DTM+189) from {port}; the flight's departure date is used")
        if occurred is None:
            rejected.append(_reject(manifest, traveller, "the flight has no scheduled departure date (DTM+189)"))
            continue
        assert traveller.date_of_birth is not None and traveller.surname is not None  # checked above
        if traveller.date_of_birth > occurred_on:
            rejected.append(_reject(manifest, traveller, f"birth date {traveller.date_of_birth} is after the departure date {occurred}"))
            continue
        record = _record(traveller, occurred_on, port, number, carrier, warnings, countries)
        if record["event_id"] in seen:
            warnings.append(f"line {traveller.line}: the same traveller appears twice on {label}; one record kept")
            continue
        seen.add(record["event_id"])
        records.append(record)

    if skipped_inside:
        warnings.append(f"{label}: {skipped_inside} traveller(s) leave the flight inside {country}; no departure recorded for them")
    if skipped_abroad:
        warnings.append(f"{label}: {skipped_abroad} traveller(s) board outside {country}; no departure recorded for them")
    return ManifestConversion("outbound", records, rejected, warnings)


def _traveller_problem(traveller: Traveller, countries: dict[str, str | None]) -> str | None:
    """Why the traveller cannot become a canonical record, or None."""
    if not traveller.surname:
        return "traveller without surname"
    if traveller.date_of_birth is None:
        return traveller.birth_date_problem or "traveller without birth date"
    if not traveller.nationality:
        return "traveller without nationality"
    if _normalised(traveller.nationality, countries) is None:
        return f"unknown nationality code {traveller.nationality!r}"
    return None


def _normalised(code: str, countries: dict[str, str | None]) -> str | None:
    """``normalise_country`` remembered in ``countries`` (a manifest names few countries many times)."""
    try:
        return countries[code]
    except KeyError:
        found = countries[code] = normalise_country(code)
        return found


def _exit(flight: Flight, route: tuple[str, ...], board: str, inside: dict[str, bool]) -> tuple[str, date | None, str, bool]:
    """Where a traveller boarding at ``board`` leaves the country, on what date (also as ISO text), and whether
    that date is the flight's departure date standing in for a missing DTM+189 at the exit port."""
    port = _exit_port(route, board, inside)
    occurred = flight.departure_date_at(port)
    borrowed = occurred is None and port != route[0] and flight.departure_date is not None
    if borrowed:
        occurred = flight.departure_date
    return port, occurred, occurred.isoformat() if occurred else "", borrowed


def _inside(table: AirportTable, airport: str, area: frozenset[str], known: dict[str, bool]) -> bool | None:
    if airport in known:
        return known[airport]
    found = table.country_of(airport)
    return None if found is None else found in area


def _exit_port(route: tuple[str, ...], board: str, inside: dict[str, bool]) -> str:
    """The last airport inside the country before the flight crosses out, starting where the traveller boards."""
    if board not in route:
        return board
    index = route.index(board)
    while index + 1 < len(route) and inside[route[index + 1]]:
        index += 1
    return route[index]


def _record(
    traveller: Traveller,
    occurred_on: str,
    port: str,
    number: str,
    carrier: str | None,
    warnings: list[str],
    countries: dict[str, str | None],
) -> dict[str, str]:
    documents = traveller.documents
    if len(documents) == 1:  # the usual case, without the search ``Traveller.document`` makes
        document = documents[0] if documents[0].type in _IDENTIFYING_TYPES else None
    else:
        document = traveller.document
    surname = traveller.surname or ""
    birth = traveller.date_of_birth or ""
    document_number = document.number if document else None
    # Given names too: twins share surname and birth date, and without document numbers only names differ.
    identity = "\x1f".join(
        (number, carrier or "", occurred_on, port, document_number or "", surname, traveller.given_names or "", birth, traveller.role)
    )
    issuer: str | None = None
    if document is not None and document.issuer:
        issuer = _normalised(document.issuer, countries)
        if issuer is None:
            warnings.append(f"line {traveller.line}: document issuing country {document.issuer!r} unknown; left empty")
    # Canonical field order (stayledger.domain.events.FIELDS); absent values left out.
    record = {
        "event_id": "paxlst:" + blake2b(identity.encode("utf-8"), digest_size=16).hexdigest(),
        "kind": "departure",
        "occurred_on": occurred_on,
        "source": "carrier",
    }
    if surname:
        record["surname"] = surname
    if traveller.given_names:
        record["given_names"] = traveller.given_names
    if birth:
        record["date_of_birth"] = birth
    if traveller.sex:
        record["sex"] = traveller.sex
    nationality = _normalised(traveller.nationality or "", countries)
    if nationality:
        record["nationality"] = nationality
    if document is not None:
        if document.type:
            record["document_type"] = document.type
        if document_number:
            record["document_number"] = document_number
        if issuer:
            record["document_issuer"] = issuer
    if port:
        record["port"] = port
    record["mode"] = "air"
    if carrier:
        record["carrier"] = carrier
    return record


def _reject(manifest: Manifest, traveller: Traveller, reason: str) -> RejectedTraveller:
    raw = "\n".join(traveller.segments)
    return RejectedTraveller(raw=raw, reason=reason, line=traveller.line, manifest_reference=manifest.reference)


def paxlst_to_records(text: str, country: str, airports: AirportTable | None = None) -> PaxlstRecords:
    """Parse a PAXLST file and convert every manifest for the receiving ``country``."""
    with cycle_collector_paused():
        return _to_records(text, country, airports)


def _to_records(text: str, country: str, airports: AirportTable | None) -> PaxlstRecords:
    parsed = _parse(text)
    records: list[dict[str, str]] = []
    rejected: list[RejectedTraveller] = []
    warnings = list(parsed.warnings)
    conversions: list[ManifestConversion] = []
    for manifest in parsed.manifests:
        conversion = manifest_departure_records(manifest, country, airports)
        conversions.append(conversion)
        records.extend(conversion.records)
        rejected.extend(conversion.rejected)
        warnings.extend(conversion.warnings)
    if _CONTROL_CHARACTER.search(text):  # rare: look at each record only then
        warnings.extend(_control_character_warnings(records))
    return PaxlstRecords(records, rejected, warnings, conversions, parsed.manifests)


# C0/C1 control codes (tab and line breaks are read past by the tokenizer) and the replacement character: no
# EDIFACT character set has them as data. A byte invalid in the declared set (``Nov\x87k`` in UNOC) arrives as one.
_CONTROL_CHARACTER: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


def _control_character_warnings(records: list[dict[str, str]]) -> list[str]:
    """One warning per record holding a control character: the record is kept as sent (nothing dropped) and the
    warning names the traveller, the field and the character, so that a person can check it."""
    found = []
    for record in records:
        for name, value in record.items():
            match = _CONTROL_CHARACTER.search(value)
            if match is None:
                continue
            char = match.group()
            if char == "\ufffd":
                what = "U+FFFD (a byte that is not UTF-8 in a UTF-8 file)"
            else:
                byte = f" (byte 0x{ord(char):02X} in ISO 8859-1)" if ord(char) < 0x100 else ""
                what = f"U+{ord(char):04X}{byte}, a control code that no EDIFACT character set has"
            who = f"{record.get('surname', '')!r} born {record.get('date_of_birth', 'unknown')}"
            shown = "" if name == "surname" else f" {value!r}"
            found.append(f"traveller {who} ({record['event_id']}): {name}{shown} holds {what}; kept as read, check the record")
            break
    return found
