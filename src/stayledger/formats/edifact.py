"""UN/EDIFACT syntax: turn interchange text into segments (tag + elements of components).

Pure core: standard library only.

Why our own tokenizer: pydifact (the usual Python choice) fails on what real API feeds carry —
functional groups (UNG/UNE), spaces and line breaks before segments, and junk after UNZ. This module
is small, honours the service string advice, and reports errors with the line and position of the
segment that failed in the original text.

What it does:
- ``UNA`` (optional, at the start of an interchange) redefines the component separator, element
  separator, decimal mark, release character, reserved/repetition character and segment terminator.
  A release character of space in the UNA means "no release character".
- Released characters (``?'``, ``?+``, ``?:``, ``??`` with the default release) are literal data.
- Line breaks (LF, CRLF, CR) and other whitespace before a segment are ignored; line breaks inside a
  segment are dropped too (feeds wrapped at a fixed width put them there; they are never data).
- After ``UNZ`` the text ends the interchange: a following ``UNA``/``UNB`` starts another one, anything
  else is ignored with a warning.
- An empty segment (two terminators in a row) is skipped with a warning.
- Spaces between a segment tag and its separator (``UNG +PAXLST``, as GTAS-style feeds write) are dropped with
  one warning per tag.

How it stays fast (a large manifest has millions of segments): ``find_segments`` keeps each segment as a
bare string plus an offset and works out a line and column only when asked (``TextPositions``). When the
text is one well-formed block it is split on the terminator in one go and checked in bulk; anything
unusual (empty segments, line breaks inside a segment, odd tags, text after UNZ) is read segment by
segment instead, which is where warnings and errors with positions come from. ``tokenize``, ``scan`` and
``scan_raw`` build on it.

Not supported (documented limits): the repetition separator of syntax version 4 (UNA5) is not split
on — PAXLST does not repeat elements, so it stays literal data; whitespace or letters/digits as
separators; binary (UNO) objects; a line break used as segment terminator; the decimal mark is
recorded but not applied (PAXLST counts are integers).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate, count, repeat
from operator import add
from dataclasses import dataclass, field
from typing import Callable, Final, Iterable, NamedTuple

from stayledger.bulk_objects import cycle_collector_paused
from stayledger.errors import ParseError

_WHITESPACE: Final = " \t\r\n\f\v\ufeff"
_TAG_GAP: Final = " \t"  # what may stand between a segment tag and its separator
_TAG_LENGTH: Final = 3


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The service characters of an interchange (the UNA), defaulting to ``UNA:+.? '``."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str | None = "?"
    reserved: str = " "
    terminator: str = "'"

    def una(self) -> str:
        """The UNA service string advice that declares these delimiters."""
        return "UNA" + self.component + self.element + self.decimal + (self.release or " ") + self.reserved + self.terminator


DEFAULT_DELIMITERS: Final = Delimiters()


class Segment(NamedTuple):
    """One segment: its tag, its data elements (each a list of components) and where it starts.

    ``line`` and ``column`` are 1-based positions in the original text. Element and component numbers in
    ``value`` are 1-based like the EDIFACT documentation (``NAD+FL+++SMITH`` → ``value(1) == "FL"``,
    ``value(4) == "SMITH"``). A named tuple rather than a dataclass: millions are made per file, and a
    tuple is the cheapest immutable record Python has.
    """

    tag: str
    elements: list[list[str]]
    line: int = 0
    column: int = 0

    def value(self, element: int, component: int = 1) -> str:
        """The component (1-based) of the element (1-based), or "" when the segment does not have it."""
        elements = self[1]
        if element > len(elements):
            return ""
        components = elements[element - 1]
        return components[component - 1] if component <= len(components) else ""


# A segment before splitting: (tag, data, line, column). ``data`` is "" or starts with the element
# separator, still escaped, line breaks removed. A bare tuple: the shape ``scan_raw`` gives tests and tools.
RawSegment = tuple[str, str, int, int]


@dataclass(frozen=True, slots=True)
class RawBlock:
    """Consecutive raw segments that share one set of delimiters."""

    delimiters: Delimiters
    segments: list[RawSegment]


@dataclass(frozen=True, slots=True)
class RawScan:
    """``scan_raw``'s answer: raw segments grouped by delimiters, and warnings about tolerated input."""

    blocks: list[RawBlock]
    warnings: list[str] = field(default_factory=list)


class SegmentBlock:
    """Consecutive segments sharing one set of delimiters, as bare strings with their offsets.

    ``bodies[i]`` is segment ``i`` without its terminator: the tag (three upper-case letters, its own
    components dropped) followed by the still-escaped data ("" or starting with the element separator),
    line breaks removed. Where it starts in the text is ``start(i)``. No object per segment and no line
    numbers: a file has millions of segments and a parser needs the position of only a few of them.
    """

    __slots__ = ("delimiters", "bodies", "released", "_starts", "_terminators")

    def __init__(
        self,
        delimiters: Delimiters,
        bodies: list[str],
        released: bool,
        starts: list[int] | None = None,
        terminators: list[int] | None = None,
    ) -> None:
        self.delimiters = delimiters
        self.bodies = bodies
        self.released = released  # whether any segment may hold a release character
        self._starts = starts  # offsets of each segment, when known one by one
        self._terminators = terminators  # else: offsets of each segment's terminator

    def start(self, index: int) -> int:
        """Offset in the text of segment ``index``'s first character (its tag)."""
        if self._starts is not None:
            return self._starts[index]
        assert self._terminators is not None
        return self._terminators[index] - len(self.bodies[index])


@dataclass(frozen=True, slots=True)
class SegmentScan:
    """``find_segments``'s answer: blocks of segments, warnings, and the positions of the text."""

    blocks: list[SegmentBlock]
    warnings: list[str]
    positions: TextPositions


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive segments that share one set of delimiters (one interchange, or several without UNA)."""

    delimiters: Delimiters
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Scan:
    """The tokenizer's full answer: segments grouped by delimiters, and warnings about tolerated input."""

    blocks: list[Block]
    warnings: list[str] = field(default_factory=list)

    @property
    def segments(self) -> list[Segment]:
        """Every segment in order, across blocks."""
        if len(self.blocks) == 1:
            return self.blocks[0].segments
        return [segment for block in self.blocks for segment in block.segments]


def tokenize(text: str) -> list[Segment]:
    """Split EDIFACT text into segments; raises ``ParseError`` with the line and position of bad input."""
    return scan(text).segments


def scan(text: str) -> Scan:
    """Tokenize like ``tokenize`` and also return the delimiters in force and the warnings."""
    with cycle_collector_paused():
        raw = scan_raw(text)
        blocks = [
            Block(block.delimiters, [to_segment(segment, block.delimiters) for segment in block.segments])
            for block in raw.blocks
        ]
        return Scan(blocks, raw.warnings)


def scan_raw(text: str) -> RawScan:
    """Find the segments (tags checked, positions known) without splitting their elements."""
    with cycle_collector_paused():
        found = find_segments(text)
        at = found.positions.at
        blocks = []
        for block in found.blocks:
            segments: list[RawSegment] = []
            for index, body in enumerate(block.bodies):
                segments.append((body[:3], body[3:], *at(block.start(index))))
            blocks.append(RawBlock(block.delimiters, segments))
        return RawScan(blocks, found.warnings)


def find_segments(text: str) -> SegmentScan:
    """Find the segments of EDIFACT text (tags checked), grouped by delimiters; positions on demand.

    Raises ``ParseError`` with the line and position of bad input, like ``tokenize``.
    """
    with cycle_collector_paused():
        positions = TextPositions(text)
        blocks: list[SegmentBlock] = []
        warnings: list[str] = []
        offset = _skip_whitespace(text, 0)
        while offset < len(text):
            delimiters, offset = _read_una(text, offset, positions)
            block = _whole_block(text, offset, delimiters)
            if block is not None:
                blocks.append(block)
                break
            bodies: list[str] = []
            starts: list[int] = []
            released = delimiters.release is not None and text.find(delimiters.release, offset) >= 0
            offset = _scan_block(text, offset, delimiters, positions, bodies, starts, warnings)
            blocks.append(SegmentBlock(delimiters, bodies, released, starts))
        if not blocks:
            blocks.append(SegmentBlock(DEFAULT_DELIMITERS, [], False, []))
        return SegmentScan(blocks, warnings, positions)


def to_segment(raw: RawSegment, delimiters: Delimiters) -> Segment:
    """Split a raw segment into a ``Segment``."""
    return Segment(raw[0], split_elements(raw[1], delimiters), raw[2], raw[3])


def split_elements(data: str, delimiters: Delimiters) -> list[list[str]]:
    """Split a raw segment's ``data`` into elements of components, resolving released characters."""
    release = delimiters.release
    if release is None or release not in data:
        parts = data.split(delimiters.element)
        del parts[0]
        return list(map(str.split, parts, repeat(delimiters.component)))
    parts = _split_released(data, delimiters.element, release)
    del parts[0]
    component = delimiters.component
    return [[_unrelease(value, release) for value in _split_released(part, component, release)] for part in parts]


def _skip_whitespace(text: str, offset: int) -> int:
    end = len(text)
    while offset < end and text[offset] in _WHITESPACE:
        offset += 1
    return offset


class TextPositions:
    """Turns offsets into 1-based (line, column), counting line breaks only when a position is asked for.

    LF, CRLF and CR each end a line. Each answer counts on from the nearest position known before it: the
    furthest one asked so far, or the previous one (a parser revisits a message after reading its
    envelope, then walks forward through it), or an earlier checkpoint.
    """

    __slots__ = ("text", "_offsets", "_lines", "_line_starts", "_previous", "_lf_only")

    def __init__(self, text: str) -> None:
        self.text = text
        self._offsets = [0]  # checkpoints, increasing: offset, its line, where that line starts
        self._lines = [1]
        self._line_starts = [0]
        self._previous = (0, 1, 0)  # the last position answered: offset, line, line start
        self._lf_only = "\r" not in text

    def at(self, offset: int) -> tuple[int, int]:
        """The line and column of ``offset``."""
        offsets = self._offsets
        furthest = offset >= offsets[-1]
        index = len(offsets) - 1 if furthest else bisect_right(offsets, offset) - 1
        start, line, line_start = offsets[index], self._lines[index], self._line_starts[index]
        previous = self._previous
        if start < previous[0] <= offset:
            start, line, line_start = previous
        if offset > start:
            text = self.text
            if self._lf_only:
                breaks = text.count("\n", start, offset)
                if breaks:
                    line += breaks
                    line_start = text.rfind("\n", start, offset) + 1
            else:
                line, line_start = _count_lines(text, start, offset, line, line_start)
            if furthest:
                offsets.append(offset)
                self._lines.append(line)
                self._line_starts.append(line_start)
        self._previous = (offset, line, line_start)
        return line, offset - line_start + 1


def _count_lines(text: str, start: int, offset: int, line: int, line_start: int) -> tuple[int, int]:
    """Line and line start at ``offset``, counting on from ``start`` (at ``line``, starting ``line_start``)."""
    lf = text.count("\n", start, offset)
    cr = text.count("\r", start, offset)
    if lf or cr:
        crlf = text.count("\r\n", start, offset) if lf and cr else 0
        # A CR just before ``start`` pairs with an LF at ``start``: that LF is not a second break.
        if lf and start > 0 and text[start] == "\n" and text[start - 1] == "\r":
            crlf += 1
        line += lf + cr - crlf
        line_start = max(text.rfind("\n", start, offset), text.rfind("\r", start, offset)) + 1
    return line, line_start


def _read_una(text: str, offset: int, positions: TextPositions) -> tuple[Delimiters, int]:
    """Read an optional UNA at ``offset``; return the delimiters and the offset after it."""
    if not text.startswith("UNA", offset):
        return DEFAULT_DELIMITERS, offset
    line, column = positions.at(offset)
    chars = text[offset + 3 : offset + 9]
    if len(chars) < 6:
        raise ParseError("UNA must be followed by six service characters", line, column)
    component, element, decimal, release, reserved, terminator = tuple(chars)
    delimiters = Delimiters(component, element, decimal, None if release == " " else release, reserved, terminator)
    separators = [component, element, terminator] + ([release] if release != " " else [])
    for char in separators:
        if char.isalnum() or char in _WHITESPACE:
            raise ParseError(f"UNA declares {char!r} as a separator; letters, digits and whitespace are not supported", line, column)
    if len(set(separators)) != len(separators):
        raise ParseError(f"UNA declares the same character twice among separators {''.join(separators)!r}", line, column)
    return delimiters, offset + 9


_TAG_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _whole_block(text: str, offset: int, delimiters: Delimiters) -> SegmentBlock | None:
    """The common case at C speed: the rest of the text is one block of well-formed segments.

    Splits the whole text on the terminator at once and checks the result in bulk. Returns None (and the
    caller walks segment by segment, warning and raising with positions) when anything is unusual: an
    empty segment, a line break inside one, a tag that is not three upper-case letters followed by the
    element separator, text after the last terminator, or an UNZ that is not the last segment.
    """
    terminator, element, release = delimiters.terminator, delimiters.element, delimiters.release
    unz = text.count("UNZ", offset)
    if unz > 1:
        return None
    pieces = text[offset:].split(terminator)
    # Where each piece's terminator is: the text before it holds the earlier pieces and terminators.
    terminators = list(map(add, accumulate(map(len, pieces)), count(offset)))
    released = release is not None and text.find(release, offset) >= 0
    if release is not None and released and text.find(release + terminator, offset) >= 0:
        pieces, terminators = _join_released(text, offset, pieces, terminators, delimiters)
    if pieces[-1].strip(_WHITESPACE):
        return None  # an unterminated segment
    del pieces[-1]
    bodies = [piece.lstrip(_WHITESPACE) for piece in pieces]
    if "" in bodies or unz and not bodies[-1].startswith("UNZ"):
        return None
    joined = "".join(bodies)
    if "\n" in joined or "\r" in joined:
        return None
    for prefix in {body[:4] for body in bodies}:
        tag = prefix[:3]
        if len(tag) != _TAG_LENGTH or not _TAG_CHARS.issuperset(tag) or (len(prefix) == 4 and prefix[3] != element):
            return None
    return SegmentBlock(delimiters, bodies, released, terminators=terminators)


def _join_released(
    text: str, offset: int, pieces: list[str], terminators: list[int], delimiters: Delimiters
) -> tuple[list[str], list[int]]:
    """Rejoin pieces split at a released terminator (one after an odd run of release characters)."""
    release, terminator = delimiters.release, delimiters.terminator
    assert release is not None
    released: list[int] = []  # pieces whose terminator is data
    pair = release + terminator
    found = text.find(pair, offset)
    while found >= 0:
        end = found + 1
        if _released_before(text, end, offset, release):
            released.append(bisect_left(terminators, end))
        found = text.find(pair, end + 1)
    joined_pieces: list[str] = []
    joined_terminators: list[int] = []
    low = index = 0
    while index < len(released):
        first = last = released[index]
        while index + 1 < len(released) and released[index + 1] == last + 1:
            index += 1
            last += 1
        joined_pieces += pieces[low:first]
        joined_terminators += terminators[low:first]
        joined_pieces.append(terminator.join(pieces[first : last + 2]))
        joined_terminators.append(terminators[last + 1])
        low = last + 2
        index += 1
    joined_pieces += pieces[low:]
    joined_terminators += terminators[low:]
    return joined_pieces, joined_terminators


def _scan_block(
    text: str,
    offset: int,
    delimiters: Delimiters,
    positions: TextPositions,
    bodies: list[str],
    starts: list[int],
    warnings: list[str],
) -> int:
    """Append the segments from ``offset`` until UNZ (or the end); return where the next block starts.

    The careful path, one ``find`` per segment, for text ``_whole_block`` declines; tags are checked once
    per distinct tag.
    """
    terminator = delimiters.terminator
    release = delimiters.release
    element = delimiters.element
    careful = release is not None and text.find(release, offset) >= 0
    find = text.find
    known_tags: set[str] = set()
    spaced_tags: set[str] = set()  # tags already warned about for a space before their separator
    position = offset
    while True:
        end = find(terminator, position)
        while careful and end > position and text[end - 1] == release and _released_before(text, end, position, release):
            end = find(terminator, end + 1)
        if end < 0:
            body_start = _skip_whitespace(text, position)
            if body_start < len(text):
                raise ParseError(
                    f"unterminated segment {text[body_start:body_start + 20]!r}: "
                    f"the text ends without the segment terminator {terminator!r}",
                    *positions.at(body_start),
                )
            return len(text)
        body = text[position:end].lstrip(_WHITESPACE)
        start = end - len(body)
        position = end + 1
        if not body:
            line, column = positions.at(start)
            warnings.append(f"line {line}, position {column}: empty segment skipped")
            continue
        if "\n" in body or "\r" in body:
            body = body.replace("\r", "").replace("\n", "")
        tag = body[:3]
        if len(body) > 3 and body[3] in _TAG_GAP:
            body = _close_tag_gap(body, delimiters, spaced_tags, warnings, *positions.at(start))
        if tag not in known_tags or (len(body) > 3 and body[3] != element):
            checked, data = _checked_tag(body, delimiters, *positions.at(start))
            known_tags.add(checked)
            if checked != tag or data != body[3:]:
                body = checked + data
                tag = checked
        bodies.append(body)
        starts.append(start)
        if tag == "UNZ":
            following = _after_unz(text, position, positions, warnings)
            if following < len(text) and delimiters == DEFAULT_DELIMITERS and text.startswith("UNB", following):
                position = following  # the next interchange uses the same delimiters: keep going
                continue
            return following


def _close_tag_gap(body: str, delimiters: Delimiters, warned: set[str], warnings: list[str], line: int, column: int) -> str:
    """``UNG +PAXLST``: GTAS-style feeds put spaces between a tag and its separator; the US CBP GTAS lexer
    accepts them, so we do too, with one warning per tag (a space is never data there)."""
    data = body[3:].lstrip(_TAG_GAP)
    if data and data[0] not in (delimiters.element, delimiters.component):
        return body  # not a gap before a separator: the tag check names the fault
    tag = body[:3]
    if tag not in warned:
        warned.add(tag)
        warnings.append(f"line {line}, position {column}: whitespace between the segment tag {tag} and its separator ignored")
    return tag + data


def _checked_tag(body: str, delimiters: Delimiters, line: int, column: int) -> tuple[str, str]:
    """The tag (three ASCII letters, upper-cased) and the data after it; a tag's own components are dropped."""
    tag, data = body[:3], body[3:]
    if len(tag) != _TAG_LENGTH or not tag.isascii() or not tag.isalpha():
        raise ParseError(f"segment tag must be three letters, found {body[:20]!r}", line, column)
    if data and data[0] != delimiters.element:
        if data[0] != delimiters.component:
            raise ParseError(f"segment tag must be three letters, found {body[:20]!r}", line, column)
        cut = data.find(delimiters.element)  # TAG:1:1 — keep the tag alone
        data = data[cut:] if cut >= 0 else ""
    return tag.upper(), data


def _released_before(text: str, end: int, start: int, release: str) -> bool:
    """True when an odd run of release characters ends just before ``end`` (that terminator is data)."""
    run = 0
    index = end - 1
    while index >= start and text[index] == release:
        run += 1
        index -= 1
    return run % 2 == 1


def _released_at_end(chunk: str, release: str) -> bool:
    """True when the chunk ends in an odd run of release characters (the separator after it is data)."""
    run = len(chunk) - len(chunk.rstrip(release))
    return run % 2 == 1


def _after_unz(text: str, offset: int, positions: TextPositions, warnings: list[str]) -> int:
    """Decide what follows an UNZ: another interchange (return its offset) or junk (warn, return the end)."""
    following = _skip_whitespace(text, offset)
    if following >= len(text):
        return len(text)
    if _starts_interchange(text, following, positions):
        return following
    line, column = positions.at(following)
    warnings.append(f"line {line}, position {column}: ignored {len(text) - following} characters after UNZ")
    return len(text)


def _starts_interchange(text: str, offset: int, positions: TextPositions) -> bool:
    """A well-formed UNA, or UNB followed by a separator, starts another interchange; "UNAVAILABLE" does not."""
    if text.startswith("UNA", offset):
        try:
            _read_una(text, offset, positions)
        except ParseError:
            return False
        return True
    if text.startswith("UNB", offset) and offset + 3 < len(text):
        gap = offset + 3
        while gap + 1 < len(text) and text[gap] in _TAG_GAP:
            gap += 1
        follower = text[gap]
        return not follower.isalnum() and follower not in _WHITESPACE
    return False


def _split_released(text: str, separator: str, release: str) -> list[str]:
    """Split on ``separator`` except where the release character makes it data (kept escaped)."""
    pieces = text.split(separator)
    if len(pieces) == 1:
        return pieces
    joined: list[str] = []
    carry: str | None = None
    for piece in pieces:
        if carry is not None:
            piece = carry + separator + piece
            carry = None
        if piece.endswith(release) and _released_at_end(piece, release):
            carry = piece
        else:
            joined.append(piece)
    if carry is not None:
        joined.append(carry)
    return joined


_UNRELEASE_CACHE: dict[str, re.Pattern[str]] = {}


def _unrelease(text: str, release: str) -> str:
    """Drop release characters, keeping the character each one releases (a trailing one is dropped)."""
    if release not in text:
        return text
    pattern = _UNRELEASE_CACHE.get(release)
    if pattern is None:
        pattern = _UNRELEASE_CACHE.setdefault(release, re.compile(re.escape(release) + "(.?)", re.DOTALL))
    return pattern.sub(r"\1", text)


def render(segments: Iterable[Segment], delimiters: Delimiters = DEFAULT_DELIMITERS, *, una: bool = False, line_break: str = "") -> str:
    """Write segments as EDIFACT text, releasing service characters inside data.

    Used for samples, benchmarks and for showing a rejected traveller's segments to a person.
    Requires a release character when data contains a service character.
    """
    lines = [delimiters.una()] if una else []
    for segment in segments:
        lines.append(render_segment(segment, delimiters))
    return line_break.join(lines) + (line_break if lines else "")


def render_segment(segment: Segment, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """One segment as text, terminator included."""
    escape = _escaper(delimiters)
    elements = [segment.tag] + [delimiters.component.join(escape(c) for c in element) for element in segment.elements]
    return delimiters.element.join(elements) + delimiters.terminator


_ESCAPERS: dict[Delimiters, Callable[[str], str]] = {}


def _escaper(delimiters: Delimiters) -> Callable[[str], str]:
    """The function that releases service characters in data for ``delimiters`` (made once per set)."""
    escape = _ESCAPERS.get(delimiters)
    if escape is None:
        if len(_ESCAPERS) >= 64:  # a few sets in practice; stay small whatever the input declares
            _ESCAPERS.clear()
        escape = _ESCAPERS[delimiters] = _make_escaper(delimiters)
    return escape


def _make_escaper(delimiters: Delimiters) -> Callable[[str], str]:
    release = delimiters.release
    specials = {delimiters.component, delimiters.element, delimiters.terminator}
    if release is None:
        def check(value: str) -> str:
            if any(char in specials for char in value):
                raise ValueError(f"cannot write {value!r} without a release character")
            return value
        return check
    specials.add(release)
    table = str.maketrans({char: release + char for char in specials})

    def escape(value: str) -> str:
        return value.translate(table)

    return escape
