"""Readers for canonical event files: JSON Lines, CSV (canonical column names) and Parquet.

Each reader yields ``RawRecord``s: the raw text kept for quarantine, the decoded mapping, or the reason it
could not be decoded (bad UTF-8, broken JSON, a row of the wrong width). Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

import orjson

from stayledger.errors import ParseError

FORMATS = ("jsonl", "csv", "parquet")


class RawRecord(NamedTuple):
    location: str  # "line 12", "row 4"
    raw: str
    fields: dict[str, Any] | None
    problem: str | None = None  # set when the record could not be decoded at all


def detect_format(path: Path) -> str:
    """Choose a reader from the file name, falling back to the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:3] in (b"UNA", b"UNB", b"UNH"):
        raise ParseError(f"{path.name} looks like a UN/EDIFACT PAXLST manifest; pass --format paxlst --country ALPHA3")
    head = head[:4]
    if head == b"PAR1":
        return "parquet"
    if head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    raise ParseError(
        f"cannot tell the format of {path.name} from its name or content; pass --format jsonl|csv|parquet|paxlst"
    )


_UTF8_BOM = b"\xef\xbb\xbf"
# A JSON or CSV file nesting deeper than this is hostile or broken; the standard library would recurse.
MAX_JSON_DEPTH = 64


def refuse_utf16(path: Path) -> None:
    """UTF-16 text would otherwise give one quarantine entry per line with no hint of the cause."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 2 and b"\x00" in head[:2]):
        raise ParseError(
            f"{path.name} is UTF-16 encoded text; events are read as UTF-8: convert it first "
            f"(e.g. iconv -f UTF-16 -t UTF-8 {path.name} > {path.stem}-utf8{path.suffix})"
        )


def read_records(path: Path, fmt: str, progress: Any = None) -> Iterator[RawRecord]:
    """Records of one file in the given format; ``progress(bytes_done)`` is called as it goes."""
    if fmt in ("jsonl", "csv"):
        refuse_utf16(path)
    if fmt == "jsonl":
        return _read_jsonl(path, progress)
    if fmt == "csv":
        return _read_csv(path, progress)
    if fmt == "parquet":
        return _read_parquet(path, progress)
    raise ParseError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _decode(raw_bytes: bytes) -> tuple[str, str | None]:
    try:
        return raw_bytes.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        text = raw_bytes.decode("utf-8", "backslashreplace")
        return text, f"not valid UTF-8 (byte 0x{raw_bytes[exc.start]:02x} at offset {exc.start})"


def _json_problem(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg} at column {exc.colno})"


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _strict_loads(text: str) -> tuple[Any, str | None]:
    """The standard library's parse, refusing duplicate keys (the last would silently win) and deep nesting."""
    if _depth_over(text, MAX_JSON_DEPTH):
        return None, f"not valid JSON (nested deeper than {MAX_JSON_DEPTH} levels)"
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs), None
    except _DuplicateKey as exc:
        return None, f"duplicate key {exc.args[0]!r} (which value is meant is unknown)"


def _depth_over(text: str, limit: int) -> bool:
    """Whether brackets nest deeper than ``limit`` (brackets inside strings count too: a safe over-estimate)."""
    if text.count("{") + text.count("[") <= limit:
        return False
    depth = 0
    for char in text:
        if char in "{[":
            depth += 1
            if depth > limit:
                return True
        elif char in "}]":
            depth -= 1
    return False


def _read_jsonl(path: Path, progress: Any) -> Iterator[RawRecord]:
    with path.open("rb") as handle:
        first = handle.read(1024).lstrip()
    if first.startswith(b"["):
        yield from _read_json_array(path)
        return
    with path.open("rb") as handle:
        if progress is None:
            yield from jsonl_records(handle)
            return
        for number, record in enumerate(jsonl_records(handle), start=1):
            if number % 4096 == 0:
                progress(handle.tell())
            yield record
        progress(path.stat().st_size)


def jsonl_records(lines: Iterable[bytes], first_line: int = 1) -> Iterator[RawRecord]:
    """Records from raw JSON Lines (bytes, line ends kept); blank lines are skipped, nothing else is.

    orjson parses the common, valid line about three times faster than the standard library; a line it
    refuses goes through ``json`` again, whose messages (and tolerance) we report.
    """
    fast_loads = orjson.loads
    for number, raw_line in enumerate(lines, start=first_line):
        stripped = raw_line.strip()
        if number == 1 and stripped.startswith(_UTF8_BOM):
            stripped = stripped[len(_UTF8_BOM):].strip()
        if not stripped:
            continue
        location = f"line {number}"
        try:
            value = fast_loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:
            # n distinct keys need n colons: only a line with more colons than keys can hide a duplicate.
            if type(value) is dict and stripped.count(b":") <= len(value):
                yield RawRecord(location, stripped.decode("utf-8"), value)
                continue
        text, problem = _decode(stripped)
        if problem:
            yield RawRecord(location, text, None, problem)
            continue
        try:
            value, problem = _strict_loads(text)
            if problem:
                yield RawRecord(location, text, None, problem)
                continue
        except json.JSONDecodeError as exc:
            truncated = not raw_line.endswith(b"\n")
            yield RawRecord(location, text, None, _json_problem(exc) + (" — the file may be truncated" if truncated else ""))
            continue
        if not isinstance(value, dict):
            yield RawRecord(location, text, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield RawRecord(location, text, value)


def _read_json_array(path: Path) -> Iterator[RawRecord]:
    text, problem = _decode(path.read_bytes())
    if problem:
        raise ParseError(f"{path.name}: {problem}")
    try:
        items, problem = _strict_loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{path.name}: {_json_problem(exc)}", line=exc.lineno, column=exc.colno) from None
    if problem:
        raise ParseError(f"{path.name}: {problem}")
    for index, item in enumerate(items, start=1):
        raw = json.dumps(item, ensure_ascii=False)
        if isinstance(item, dict):
            yield RawRecord(f"item {index}", raw, item)
        else:
            yield RawRecord(f"item {index}", raw, None, f"expected a JSON object, got {type(item).__name__}")


class CsvFault(NamedTuple):
    """A row the CSV reader could not read (a field over its size limit, say): its text and why, for quarantine."""

    raw: str
    reason: str


def csv_rows(
    path: Path, *, delimiter: str, encoding: str = "utf-8", progress: Any = None
) -> Iterator[tuple[int, list[str] | CsvFault]]:
    """(line number, cells) of a CSV file, the header first; blank rows skipped.

    Bytes that do not decode are kept as surrogates (the caller decides per row). A row the reader cannot read
    comes as a ``CsvFault`` and reading goes on with the next line (a faulty header is a ``ParseError``).
    ``progress(bytes_done)`` is called as it goes.
    """
    with path.open("rb") as binary:
        text_stream = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
        lines = _LineTap(text_stream)
        reader = csv.reader(lines, delimiter=delimiter)
        while True:
            lines.taken.clear()
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if reader.line_num <= 1:
                    raise ParseError(f"{path.name}: not valid CSV ({exc})", line=reader.line_num) from None
                raw = "".join(lines.taken).rstrip("\r\n")
                yield reader.line_num, CsvFault(_displayable(raw), f"not valid CSV ({exc})")
                continue
            number = reader.line_num
            if progress is not None and number % 4096 == 0:
                progress(binary.tell())
            if number > 1 and not any(cell.strip() for cell in cells):
                continue
            yield number, cells
        if progress is not None:
            progress(binary.tell())


class _LineTap:
    """The lines the CSV reader has taken for the row it is reading: the raw text of a row it cannot read."""

    __slots__ = ("_lines", "taken")

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> "_LineTap":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def _displayable(text: str) -> str:
    """Text with undecodable bytes (kept as surrogates) written as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read_csv(path: Path, progress: Any) -> Iterator[RawRecord]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = csv_rows(path, delimiter=delimiter, progress=progress)
    first = next(rows, None)
    if first is None:
        return
    assert not isinstance(first[1], CsvFault)  # a faulty header raises
    header = [h.strip().lstrip("\ufeff") for h in first[1]]
    refuse_duplicate_columns(path, header)
    width = len(header)
    for number, row in rows:
        location = f"line {number}"
        if isinstance(row, CsvFault):
            yield RawRecord(location, row.raw, None, row.reason)
            continue
        raw_text = delimiter.join(row)
        if any(_has_surrogates(cell) for cell in row):
            yield RawRecord(location, _displayable(raw_text), None, "not valid UTF-8")
            continue
        if len(row) != width:
            yield RawRecord(location, raw_text, None, f"row has {len(row)} fields but the header has {width}")
            continue
        yield RawRecord(location, raw_text, dict(zip(header, row)))


def refuse_duplicate_columns(path: Path, names: Iterable[str]) -> None:
    """Two columns of one name: the last would silently win (a given name taken for the surname)."""
    doubled = sorted(name for name, n in Counter(names).items() if n > 1)
    if doubled:
        raise ParseError(f"{path.name}: column(s) {', '.join(map(repr, doubled))} appear more than once "
                         "(which is meant is unknown)")


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _read_parquet(path: Path, progress: Any) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq  # imported here: only Parquet input needs it

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise ParseError(f"{path.name}: not a readable Parquet file ({exc})") from None
    refuse_duplicate_columns(path, parquet.schema_arrow.names)
    row_number = 0
    for batch in parquet.iter_batches(batch_size=65536):
        for row in batch.to_pylist():
            row_number += 1
            fields = {k: _plain(v) for k, v in row.items()}
            yield RawRecord(f"row {row_number}", json.dumps(fields, ensure_ascii=False, default=str), fields)
        if progress is not None:
            progress(row_number)


def progress_total(path: Path, fmt: str) -> int:
    """The unit ``read_records`` reports progress in: bytes for text formats, rows for Parquet."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:
            return 0
    return path.stat().st_size
