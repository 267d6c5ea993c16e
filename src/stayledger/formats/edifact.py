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

Not supported (documented limits): the repetition separator of syntax version 4 (UNA5) is not split
on — PAXLST does not repeat elements, so it stays literal data; whitespace or letters/digits as
separators; binary (UNO) objects; a line break used as segment terminator; the decimal mark is
recorded but not applied (PAXLST counts are integers).
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from itertools import repeat
from dataclasses import dataclass, field
from typing import Callable, Final, Iterable, Iterator, NamedTuple

from stayledger.errors import ParseError

_WHITESPACE: Final = " \t\r\n\f\v\ufeff"
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
# separator, still escaped, line breaks removed. A bare tuple because a file has millions of them; parsers
# that read only some segments (PAXLST skips seat and booking references) split just those.
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
    with gc_paused():
        raw = scan_raw(text)
        blocks = [
            Block(block.delimiters, [to_segment(segment, block.delimiters) for segment in block.segments])
            for block in raw.blocks
        ]
        return Scan(blocks, raw.warnings)


def scan_raw(text: str) -> RawScan:
    """Find the segments (tags checked, positions known) without splitting their elements."""
    with gc_paused():
        cursor = _Cursor(text)
        blocks: list[RawBlock] = []
        warnings: list[str] = []
        offset = _skip_whitespace(text, 0)
        while offset < len(text):
            delimiters, offset = _read_una(text, offset, cursor)
            segments: list[RawSegment] = []
            offset = _scan_block(text, offset, delimiters, cursor, segments, warnings)
            blocks.append(RawBlock(delimiters, segments))
        if not blocks:
            blocks.append(RawBlock(DEFAULT_DELIMITERS, []))
        return RawScan(blocks, warnings)


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small lists.

    A parse allocates millions of short lists and tuples and no reference cycles; left on, the collector
    rescans them again and again and costs several times the parse itself. Restores the previous state.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _skip_whitespace(text: str, offset: int) -> int:
    end = len(text)
    while offset < end and text[offset] in _WHITESPACE:
        offset += 1
    return offset


class _Cursor:
    """Turns offsets into 1-based (line, column); offsets must be asked for in increasing order."""

    __slots__ = ("text", "offset", "line", "line_start")

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1
        self.line_start = 0

    def position(self, offset: int) -> tuple[int, int]:
        if offset > self.offset:
            self._advance(offset)
        return self.line, offset - self.line_start + 1

    def _advance(self, offset: int) -> None:
        text = self.text
        start = self.offset
        lf = text.count("\n", start, offset)
        cr = text.count("\r", start, offset)
        if lf or cr:
            crlf = text.count("\r\n", start, offset) if lf and cr else 0
            # A CR just before ``start`` pairs with an LF at ``start``: that LF is not a second break.
            if lf and start > 0 and text[start] == "\n" and text[start - 1] == "\r":
                crlf += 1
            self.line += lf + cr - crlf
            self.line_start = max(text.rfind("\n", start, offset), text.rfind("\r", start, offset)) + 1
        self.offset = offset


def _read_una(text: str, offset: int, cursor: _Cursor) -> tuple[Delimiters, int]:
    """Read an optional UNA at ``offset``; return the delimiters and the offset after it."""
    if not text.startswith("UNA", offset):
        return DEFAULT_DELIMITERS, offset
    line, column = cursor.position(offset)
    chars = text[offset + 3 : offset + 9]
    if len(chars) < 6:
        raise ParseError("UNA must be followed by six service characters", line, column)
    component, element, decimal, release, reserved, terminator = chars
    delimiters = Delimiters(component, element, decimal, None if release == " " else release, reserved, terminator)
    separators = [component, element, terminator] + ([release] if release != " " else [])
    for char in separators:
        if char.isalnum() or char in _WHITESPACE:
            raise ParseError(f"UNA declares {char!r} as a separator; letters, digits and whitespace are not supported", line, column)
    if len(set(separators)) != len(separators):
        raise ParseError(f"UNA declares the same character twice among separators {''.join(separators)!r}", line, column)
    return delimiters, offset + 9


def _scan_block(
    text: str, offset: int, delimiters: Delimiters, cursor: _Cursor, out: list[RawSegment], warnings: list[str]
) -> int:
    """Append the raw segments from ``offset`` until UNZ (or the end); return where the next block starts.

    The hot loop of every parse: one ``find`` per segment, tags checked once per distinct tag, and (for
    text without CR) the cursor's line counting done inline on local variables.
    """
    terminator = delimiters.terminator
    release = delimiters.release
    element = delimiters.element
    careful = release is not None and text.find(release, offset) >= 0
    lf_only = "\r" not in text
    find, count, rfind = text.find, text.count, text.rfind
    append = out.append
    known_tags: set[str] = set()
    position = offset
    seen, line, line_start = cursor.offset, cursor.line, cursor.line_start
    while True:
        end = find(terminator, position)
        while careful and end > position and text[end - 1] == release and _released_before(text, end, position, release):
            end = find(terminator, end + 1)
        if end < 0:
            cursor.offset, cursor.line, cursor.line_start = seen, line, line_start
            body_start = _skip_whitespace(text, position)
            if body_start < len(text):
                raise ParseError(
                    f"unterminated segment {text[body_start:body_start + 20]!r}: "
                    f"the text ends without the segment terminator {terminator!r}",
                    *cursor.position(body_start),
                )
            return len(text)
        body = text[position:end].lstrip(_WHITESPACE)
        start = end - len(body)
        if lf_only:
            breaks = count("\n", seen, start)
            if breaks:
                line += breaks
                line_start = rfind("\n", seen, start) + 1
            seen = start
            column = start - line_start + 1
        else:
            line, column = cursor.position(start)
            seen, line_start = cursor.offset, cursor.line_start
        position = end + 1
        if not body:
            warnings.append(f"line {line}, position {column}: empty segment skipped")
            continue
        if "\n" in body or not lf_only and "\r" in body:
            body = body.replace("\r", "").replace("\n", "")
        tag = body[:3]
        data = body[3:]
        if tag not in known_tags or (data and data[0] != element):
            tag, data = _checked_tag(body, delimiters, line, column)
            known_tags.add(tag)
        append((tag, data, line, column))
        if tag == "UNZ":
            cursor.offset, cursor.line, cursor.line_start = seen, line, line_start
            following = _after_unz(text, position, cursor, warnings)
            if following < len(text) and delimiters == DEFAULT_DELIMITERS and text.startswith("UNB", following):
                position = following  # the next interchange uses the same delimiters: keep going
                seen, line, line_start = cursor.offset, cursor.line, cursor.line_start
                continue
            return following


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


def _after_unz(text: str, offset: int, cursor: _Cursor, warnings: list[str]) -> int:
    """Decide what follows an UNZ: another interchange (return its offset) or junk (warn, return the end)."""
    following = _skip_whitespace(text, offset)
    if following >= len(text):
        return len(text)
    if _starts_interchange(text, following, cursor):
        return following
    line, column = cursor.position(following)
    warnings.append(f"line {line}, position {column}: ignored {len(text) - following} characters after UNZ")
    return len(text)


def _starts_interchange(text: str, offset: int, cursor: _Cursor) -> bool:
    """A well-formed UNA, or UNB followed by a separator, starts another interchange; "UNAVAILABLE" does not."""
    if text.startswith("UNA", offset):
        try:
            _read_una(text, offset, cursor)
        except ParseError:
            return False
        return True
    if text.startswith("UNB", offset) and offset + 3 < len(text):
        follower = text[offset + 3]
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


def _escaper(delimiters: Delimiters) -> Callable[[str], str]:
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
