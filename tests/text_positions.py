"""Test oracle shared by the EDIFACT and PAXLST tests: line and column the slow, obvious way."""


def naive_position(text: str, offset: int) -> tuple[int, int]:
    """Line and column by walking the text: LF, CRLF and CR each end a line."""
    line, line_start, index = 1, 0, 0
    while index < offset:
        if text[index] == "\r" and index + 1 < len(text) and text[index + 1] == "\n":
            index += 1
        if text[index] in "\r\n":
            line, line_start = line + 1, index + 1
        index += 1
    return line, offset - line_start + 1
