"""The EDIFACT tokenizer: separators, release characters, line breaks, junk, and error positions."""

from __future__ import annotations

import pytest

from stayledger.errors import ParseError
from stayledger.formats.edifact import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Segment,
    TextPositions,
    find_segments,
    render,
    scan,
    scan_raw,
    split_elements,
    tokenize,
)
from tests.text_positions import naive_position


def shapes(segments: list[Segment]) -> list[tuple[str, list[list[str]]]]:
    return [(segment.tag, segment.elements) for segment in segments]


def test_segments_split_into_tag_elements_and_components() -> None:
    segments = tokenize("UNB+UNOA:4+SENDER:ZZ+RECIPIENT'NAD+FL+++SMITH:JOHN:PAUL'UNZ+1+REF'")
    assert shapes(segments) == [
        ("UNB", [["UNOA", "4"], ["SENDER", "ZZ"], ["RECIPIENT"]]),
        ("NAD", [["FL"], [""], [""], ["SMITH", "JOHN", "PAUL"]]),
        ("UNZ", [["1"], ["REF"]]),
    ]


def test_values_are_numbered_from_one_like_the_edifact_documentation() -> None:
    [nad] = tokenize("NAD+FL+++SMITH:JOHN'")
    assert nad.value(1) == "FL"
    assert nad.value(4) == "SMITH"
    assert nad.value(4, 2) == "JOHN"
    assert nad.value(4, 3) == ""
    assert nad.value(9) == ""


def test_una_redefines_every_separator() -> None:
    text = "UNA*$.! ~UNB$UNOA*4$X~NAD$FL$$$SMITH*ANN~UNZ$1$R~"
    result = scan(text)
    assert result.blocks[0].delimiters == Delimiters("*", "$", ".", "!", " ", "~")
    assert shapes(result.segments)[1] == ("NAD", [["FL"], [""], [""], ["SMITH", "ANN"]])


def test_released_separators_are_literal_data() -> None:
    [nad] = tokenize("NAD+FL+++O?'BRIEN:ANN?+MARIE:A??B?:C'")
    assert nad.value(4, 1) == "O'BRIEN"
    assert nad.value(4, 2) == "ANN+MARIE"
    assert nad.value(4, 3) == "A?B:C"


def test_an_even_run_of_release_characters_does_not_release_the_terminator() -> None:
    segments = tokenize("FTX+A??'FTX+B'")
    assert shapes(segments) == [("FTX", [["A?"]]), ("FTX", [["B"]])]


def test_custom_release_character_from_una() -> None:
    [_, nad] = tokenize("UNA:+.# 'UNB+X'NAD+FL+++O#'BRIEN:JO#+ANN?'")
    assert nad.value(4, 1) == "O'BRIEN"
    assert nad.value(4, 2) == "JO+ANN?"


def test_una_release_of_space_means_no_release_character() -> None:
    [segment] = tokenize("UNA:+.  'FTX+WHAT?'")
    assert segment.value(1) == "WHAT?"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_breaks_between_segments_are_ignored_and_lines_are_counted(newline: str) -> None:
    text = newline.join(["UNB+X'", "UNH+1'", "  BGM+745'", "UNZ+1'"]) + newline
    segments = tokenize(text)
    assert [segment.tag for segment in segments] == ["UNB", "UNH", "BGM", "UNZ"]
    assert [(segment.line, segment.column) for segment in segments] == [(1, 1), (2, 1), (3, 3), (4, 1)]


def test_leading_whitespace_before_the_first_segment_and_the_una_is_ignored() -> None:
    segments = tokenize(" \t\n  UNA:+.? '\n   UNB+X'UNZ+1'")
    assert [segment.tag for segment in segments] == ["UNB", "UNZ"]
    assert (segments[0].line, segments[0].column) == (3, 4)


def test_line_breaks_inside_a_segment_are_dropped() -> None:
    [nad] = tokenize("NAD+FL+++SMI\r\nTH:JOHN'")
    assert nad.value(4) == "SMITH"


def test_junk_after_unz_is_ignored_with_a_warning() -> None:
    junk = "\x00\x00garbage without terminator ?'+"
    result = scan("UNB+X'UNZ+1+X'\n" + junk)
    assert [segment.tag for segment in result.segments] == ["UNB", "UNZ"]
    assert result.warnings == [f"line 2, position 1: ignored {len(junk)} characters after UNZ"]


def test_trailing_whitespace_after_unz_is_not_junk() -> None:
    assert scan("UNB+X'UNZ+1+X'\r\n\r\n").warnings == []


def test_junk_that_only_starts_like_una_is_still_junk() -> None:
    result = scan("UNB+X'UNZ+1+X'UNAVAILABLE")
    assert [segment.tag for segment in result.segments] == ["UNB", "UNZ"]
    assert len(result.warnings) == 1


def test_a_second_interchange_after_unz_is_read_with_its_own_una() -> None:
    result = scan("UNB+1'UNZ+0+1'\nUNA*$.! ~UNB$2~NAD$FL$$$O!~NEIL~UNZ$0$2~")
    assert [segment.tag for segment in result.segments] == ["UNB", "UNZ", "UNB", "NAD", "UNZ"]
    assert result.segments[3].value(4) == "O~NEIL"
    assert [block.delimiters for block in result.blocks] == [DEFAULT_DELIMITERS, Delimiters("*", "$", ".", "!", " ", "~")]


def test_an_empty_segment_is_skipped_with_a_warning() -> None:
    result = scan("UNB+X''UNZ+1'")
    assert [segment.tag for segment in result.segments] == ["UNB", "UNZ"]
    assert result.warnings == ["line 1, position 7: empty segment skipped"]


def test_unterminated_segment_names_its_line_and_position() -> None:
    with pytest.raises(ParseError) as caught:
        tokenize("UNB+X'\n  UNH+1+PAXLST")
    assert (caught.value.line, caught.value.column) == (2, 3)
    assert "unterminated segment" in caught.value.reason


def test_a_released_terminator_at_the_end_leaves_the_segment_unterminated() -> None:
    with pytest.raises(ParseError, match="unterminated"):
        tokenize("UNB+X'NAD+O?'")


@pytest.mark.parametrize("text", ["12+X'", "UN+X'", "U?N+X'", "UNBB+X'"])
def test_a_segment_tag_must_be_three_letters(text: str) -> None:
    with pytest.raises(ParseError, match="three letters") as caught:
        tokenize("UNB+X'\r\n" + text)
    assert caught.value.line == 2


def test_lowercase_tags_are_upper_cased_and_tag_components_dropped() -> None:
    assert shapes(tokenize("unb+X'UNH:1:2+R'")) == [("UNB", [["X"]]), ("UNH", [["R"]])]


@pytest.mark.parametrize(
    ("una", "reason"),
    [("UNA:+.", "six service characters"), ("UNA::.? 'UNB+X'", "same character twice"), ("UNAA+.? 'UNB+X'", "not supported"), ("UNA:+.? \nUNB+X\n", "not supported")],
)
def test_an_unusable_una_is_refused(una: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as caught:
        tokenize(una)
    assert (caught.value.line, caught.value.column) == (1, 1)


def test_render_releases_service_characters_and_reads_back_the_same() -> None:
    segments = [Segment("NAD", [["FL"], [""], [""], ["O'BRIEN", "A+B:C?"]])]
    delimiters = Delimiters("*", "$", ".", "!", " ", "~")
    text = render(segments, delimiters, una=True)
    assert text == "UNA*$.! ~NAD$FL$$$O'BRIEN*A+B:C?~"
    assert shapes(tokenize(text)) == shapes(segments)
    assert shapes(tokenize(render(segments))) == shapes(segments)


def test_raw_segments_split_on_demand_to_the_same_elements() -> None:
    text = "UNB+X'NAD+FL+++O?'BRIEN:ANN+STREET'UNZ+1'"
    raw = scan_raw(text)
    delimiters = raw.blocks[0].delimiters
    assert [split_elements(data, delimiters) for _, data, _, _ in raw.blocks[0].segments] == [s.elements for s in tokenize(text)]


def test_empty_text_has_no_segments() -> None:
    assert tokenize("") == []
    assert tokenize(" \r\n ") == []


def test_positions_asked_in_any_order_name_the_same_line_and_column() -> None:
    text = "UNB+X'\r\nUNH+1'\rBGM+745'\n\n  NAD+FL'\r\n\r\nUNZ+1'"
    offsets = [0, 8, 13, 16, 21, 24, 30, 34, 40, len(text)]
    in_order = [TextPositions(text).at(offset) for offset in offsets]
    assert in_order == [naive_position(text, offset) for offset in offsets]
    shuffled = TextPositions(text)
    for offset in [30, 8, 40, 0, 21, 34, 13, 24, 16, len(text)]:
        assert shuffled.at(offset) == naive_position(text, offset)


def test_whole_file_and_segment_by_segment_reading_agree() -> None:
    # The same interchange read at once, and (an empty segment forces it) one segment at a time.
    plain = "UNA:+.? '\nUNB+X'\nNAD+FL+++O?'BRIEN:ANN'\r\n  DTM+329:800101'\nUNZ+1'\n"
    careful = plain.replace("\r\n  DTM", "\r\n'  DTM")
    fast, slow = find_segments(plain), find_segments(careful)
    assert fast.blocks[0].bodies == slow.blocks[0].bodies == ["UNB+X", "NAD+FL+++O?'BRIEN:ANN", "DTM+329:800101", "UNZ+1"]
    assert slow.warnings == ["line 4, position 1: empty segment skipped"]
    for found, text in ((fast, plain), (slow, careful)):
        block = found.blocks[0]
        starts = [block.start(index) for index in range(len(block.bodies))]
        assert [text[start : start + 3] for start in starts] == ["UNB", "NAD", "DTM", "UNZ"]
        assert [found.positions.at(start) for start in starts] == [naive_position(text, start) for start in starts]
