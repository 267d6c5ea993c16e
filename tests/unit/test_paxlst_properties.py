"""Property tests for the EDIFACT tokenizer and PAXLST reader.

Any legal set of separators reads the same; any text fails only with ``ParseError`` and in bounded time;
every record produced is valid canonical input. A modest run by default; ``STAYLEDGER_FUZZ=1`` runs a
long fuzz (thousands of examples per property).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stayledger.domain.events import parse_event
from stayledger.errors import ParseError
from stayledger.formats.edifact import DEFAULT_DELIMITERS, Delimiters, Segment, render, render_segment, scan_raw, tokenize
from stayledger.formats.paxlst import parse_paxlst, paxlst_to_records
from tests.text_positions import naive_position

FUZZ = os.environ.get("STAYLEDGER_FUZZ") == "1"
PROPERTY = settings(
    max_examples=3000 if FUZZ else 60,
    deadline=timedelta(seconds=2),  # a hang or a quadratic blow-up fails the test
    suppress_health_check=[HealthCheck.too_slow],
)

# A separator: anything that is not a letter, digit, space or control character.
separator = st.characters(blacklist_categories=("L", "N", "Z", "C", "M"), max_codepoint=0x2FFF)
delimiters = st.tuples(st.lists(separator, min_size=4, max_size=4, unique=True), st.sampled_from(".,"), separator).map(
    lambda drawn: Delimiters(drawn[0][0], drawn[0][1], drawn[1], drawn[0][2], drawn[2], drawn[0][3])
)
line_breaks = st.sampled_from(["", "\n", "\r\n", "\r", "\n   "])
# Name text full of characters that are service characters under some UNA.
name = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜÉ '-+:?*$!~#", min_size=1, max_size=12).map(str.strip).filter(bool)


@st.composite
def travellers(draw: st.DrawFn) -> list[dict[str, str]]:
    people = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        people.append(
            {
                "role": draw(st.sampled_from(["FL", "FM"])),
                "surname": draw(st.one_of(name, st.just(""))),
                "given": draw(name),
                "middle": draw(st.one_of(name, st.just(""))),
                "sex": draw(st.sampled_from("MFXU")),
                "birth": draw(st.one_of(st.from_regex(r"\A[0-9]{6}\Z"), st.just(""))),
                "nationality": draw(st.sampled_from(["USA", "GBR", "D", "ZZZ", ""])),
                "document": draw(st.from_regex(r"\A[A-Z0-9]{1,9}\Z")),
            }
        )
    return people


def manifest_segments(people: list[dict[str, str]]) -> list[Segment]:
    def seg(tag: str, *elements: list[str]) -> Segment:
        return Segment(tag, list(elements))

    segments = [
        seg("UNB", ["UNOA", "4"], ["SENDER"], ["RECIPIENT"], ["250614", "1200"], ["IC1"]),
        seg("UNH", ["M1"], ["PAXLST", "D", "02B", "UN", "IATA"], ["REF1"]),
        seg("BGM", ["745"]),
        seg("TDT", ["20"], ["XX123"], [""], [""], ["XX"]),
        seg("LOC", ["125"], ["JFK"]),
        seg("DTM", ["189", "2506141900", "201"]),
        seg("LOC", ["87"], ["LHR"]),
    ]
    for person in people:
        segments += [
            seg("NAD", [person["role"]], [""], [""], [person["surname"], person["given"], person["middle"]], ["1 HIGH ST"], ["TOWN"]),
            seg("ATT", ["2"], [""], [person["sex"]]),
            seg("DTM", ["329", person["birth"]]),
            seg("NAT", ["2"], [person["nationality"]]),
            seg("RFF", ["SEA", "SEAT-12A"]),
            seg("DOC", ["P", "110", "111"], [person["document"]]),
            seg("LOC", ["91"], ["GBR"]),
        ]
    segments.append(seg("CNT", ["42", str(len(people))]))
    segments.append(seg("UNT", [str(len(segments))], ["M1"]))
    segments.append(seg("UNZ", ["1"], ["IC1"]))
    return segments


def shapes(segments: list[Segment]) -> list[tuple[str, list[list[str]]]]:
    return [(segment.tag, segment.elements) for segment in segments]


@PROPERTY
@given(people=travellers(), custom=delimiters, line_break=line_breaks)
def test_any_legal_separators_read_the_same_segments_and_manifest(
    people: list[dict[str, str]], custom: Delimiters, line_break: str
) -> None:
    segments = manifest_segments(people)
    plain = render(segments)
    odd = render(segments, custom, una=True, line_break=line_break)
    assert shapes(tokenize(odd)) == shapes(tokenize(plain)) == shapes(segments)
    expected, actual = paxlst_to_records(plain, "USA"), paxlst_to_records(odd, "USA")
    assert actual.records == expected.records
    assert [r.reason for r in actual.rejected] == [r.reason for r in expected.rejected]
    travellers_read = parse_paxlst(odd).manifests[0].travellers
    assert [t.surname or "" for t in travellers_read] == [p["surname"] for p in people]
    assert [t.given_names for t in travellers_read] == [" ".join(x for x in (p["given"], p["middle"]) if x) for p in people]


@PROPERTY
@given(people=travellers())
def test_every_traveller_becomes_a_valid_record_or_a_reasoned_rejection(people: list[dict[str, str]]) -> None:
    result = paxlst_to_records(render(manifest_segments(people), line_break="\n"), "USA")
    duplicates = sum("appears twice" in w for w in result.warnings)
    assert len(result.records) + len(result.rejected) + duplicates == len(people)
    for record in result.records:
        event = parse_event(record)
        assert event.kind == "departure" and event.port == "JFK"
        assert "1 HIGH ST" not in repr(record)
    for rejected in result.rejected:
        assert rejected.reason and "1 HIGH ST" not in rejected.raw and "SEAT-12A" not in rejected.raw


segment_tag = st.from_regex(r"\A[A-Z]{3}\Z").filter(lambda tag: tag not in ("UNA", "UNZ"))
value = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=8)
segments_strategy = st.lists(
    st.builds(Segment, segment_tag, st.lists(st.lists(value, min_size=1, max_size=3), max_size=4)), max_size=6
)


@PROPERTY
@given(segments=segments_strategy, custom=st.one_of(st.just(DEFAULT_DELIMITERS), delimiters), line_break=line_breaks)
def test_rendered_segments_read_back_unchanged(segments: list[Segment], custom: Delimiters, line_break: str) -> None:
    assert shapes(tokenize(render(segments, custom, una=True, line_break=line_break))) == shapes(segments)


@PROPERTY
@given(
    segments=segments_strategy,
    custom=st.one_of(st.just(DEFAULT_DELIMITERS), delimiters),
    gaps=st.lists(st.sampled_from(["", "\n", "\r\n", "\r", "  ", "\n\t", "\r\n\r\n "]), min_size=7, max_size=7),
    empty=st.booleans(),
)
def test_every_segment_is_found_at_its_line_and_column(
    segments: list[Segment], custom: Delimiters, gaps: list[str], empty: bool
) -> None:
    # An empty segment sends the reader down its segment-by-segment path; without one it reads the whole text at once.
    text, starts = custom.una(), []
    for gap, segment in zip(gaps, segments):
        text += gap + (custom.terminator if empty else "")
        starts.append(len(text))
        text += render_segment(segment, custom)
    found = scan_raw(text).blocks[0].segments
    assert [(tag, line, column) for tag, _, line, column in found] == [
        (segment.tag, *naive_position(text, start)) for segment, start in zip(segments, starts)
    ]


def _only_parse_errors(text: str) -> None:
    for read in (tokenize, parse_paxlst, lambda t: paxlst_to_records(t, "USA")):
        try:
            read(text)
        except ParseError:
            pass


@PROPERTY
@given(text=st.one_of(st.text(), st.binary().map(lambda data: data.decode("latin-1"))))
def test_arbitrary_text_fails_only_with_parse_error(text: str) -> None:
    _only_parse_errors(text)


@PROPERTY
@given(people=travellers(), edits=st.lists(st.tuples(st.integers(min_value=0), st.text(alphabet="UNAHBTZ'+:?* \r\n0123", max_size=4), st.integers(0, 3)), max_size=6))
def test_damaged_manifests_fail_only_with_parse_error(people: list[dict[str, str]], edits: list[tuple[int, str, int]]) -> None:
    text = render(manifest_segments(people), line_break="\n")
    for position, insert, delete in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + delete :]
    _only_parse_errors(text)
