"""Helpers shared by the line-oriented readers (zeek, zeek-json, bind, csv, ndjson).

`iter_line_blocks` cuts a byte stream into large blocks of whole lines so that readers can
hand each block to a vectorised parser, while keeping track of line numbers for errors.
`ErrorLog` collects located errors for one file and caps how many are kept, so that a file
of pure garbage cannot exhaust memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from bluelamp.errors import Location, RecordError

BLOCK_BYTES = 8 << 20
MAX_LINE_BYTES = 1 << 20
MAX_ERRORS_PER_FILE = 10_000
SAMPLE_CHARS = 120


@dataclass
class LineBlock:
    """Whole lines (ending in a newline) and the number of the first one (1-based)."""

    first_line: int
    data: bytes
    errors: list[RecordError] = field(default_factory=list)
    lines: int = -1  # number of lines in data (counted once, here)


def iter_line_blocks(stream: BinaryIO, source: str, *, block_bytes: int = BLOCK_BYTES,
                     max_line: int = MAX_LINE_BYTES) -> Iterator[LineBlock]:
    """Yield blocks of whole lines. A line longer than `max_line` bytes without a newline is
    skipped and reported (it cannot be a DNS log record), the lines around it are kept."""
    line_no = 1          # number of the first line in `carry`
    carry = b""
    skipping = False     # inside an over-long line whose error was already reported
    while True:
        data = stream.read(block_bytes)
        if not data:
            break
        if skipping:
            nl = data.find(b"\n")
            if nl < 0:
                continue
            data, skipping, line_no = data[nl + 1:], False, line_no + 1
        buf = carry + data
        cut = buf.rfind(b"\n")
        block, carry = (buf[:cut + 1], buf[cut + 1:]) if cut >= 0 else (b"", buf)
        errors: list[RecordError] = []
        tail_line = line_no + block.count(b"\n")
        if len(carry) > max_line:
            errors.append(too_long(source, tail_line, carry))
            carry, skipping = b"", True
        if block or errors:
            yield LineBlock(line_no, block, errors, tail_line - line_no)
        line_no = tail_line
    if carry:
        yield LineBlock(line_no, carry + b"\n", [], 1)


def too_long(source: str, line: int, text: bytes) -> RecordError:
    return RecordError(Location(source, line=line),
                       f"line is longer than {MAX_LINE_BYTES} bytes; skipped", sample(text))


def sample(text: bytes | str) -> str:
    """A short printable excerpt of a bad record for an error message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    return text[:SAMPLE_CHARS]


def split_lines(block: bytes) -> list[bytes]:
    """The lines of a block, without newlines and without a final empty element."""
    lines = block.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


@dataclass
class ErrorLog:
    """Located errors of one input, capped at `limit`; the overflow is counted and reported
    once by `summary()`."""

    source: str
    limit: int = MAX_ERRORS_PER_FILE
    kept: int = 0
    dropped: int = 0
    first_dropped: int | None = None

    def admit(self, errors: list[RecordError]) -> list[RecordError]:
        room = max(0, self.limit - self.kept)
        admitted = errors[:room]
        self.kept += len(admitted)
        if len(errors) > room:
            if self.first_dropped is None:
                self.first_dropped = errors[room].location.line
            self.dropped += len(errors) - room
        return admitted

    def summary(self) -> list[RecordError]:
        if not self.dropped:
            return []
        return [RecordError(Location(self.source, line=self.first_dropped),
                            f"{self.dropped} more bad records from here on were not listed "
                            f"(at most {self.limit} errors are listed per file)")]


def row_errors(source: str, lines: np.ndarray, bad: np.ndarray, message: str,
               field_name: str | None, values: list[object] | None = None) -> list[RecordError]:
    """One error per bad row: `lines[i]` is the line of row i, `bad` a boolean mask."""
    idx = np.flatnonzero(bad)
    out = []
    for k, i in enumerate(idx):
        text = None if values is None else sample(str(values[k]))
        out.append(RecordError(Location(source, line=int(lines[i]), field=field_name), message,
                               text))
    return out


def parse_ndjson(data: bytes, first_line: int, schema: pa.Schema, source: str
                 ) -> tuple[pa.Table | None, np.ndarray, list[RecordError]]:
    """Parse newline-delimited JSON objects with `pyarrow.json` against `schema` (unknown keys
    ignored). A block the parser rejects is bisected until the bad lines are isolated, so
    every bad line is named and every good one kept; the vectorised parser does the work."""
    fast = _ndjson_whole(data, first_line, schema)
    if fast is not None:
        return fast
    lines = split_lines(data)
    numbered = [(first_line + i, ln) for i, ln in enumerate(lines) if ln.strip()]
    tables: list[pa.Table] = []
    numbers: list[np.ndarray] = []
    errors: list[RecordError] = []
    stack = [(0, len(numbered))]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi:
            continue
        part = numbered[lo:hi]
        problem = None
        try:
            table = _read_json(b"\n".join(ln for _, ln in part) + b"\n", schema)
            if table.num_rows != hi - lo:
                problem = "not exactly one JSON object on the line"
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            problem = str(exc).split("\n")[0]
        if problem is None:
            tables.append(table)
            numbers.append(np.array([n for n, _ in part], dtype=np.int64))
        elif hi - lo == 1:
            errors.append(RecordError(Location(source, line=part[0][0]),
                                      f"bad JSON record: {problem}", sample(part[0][1])))
        else:
            mid = (lo + hi) // 2
            stack += [(mid, hi), (lo, mid)]  # lo half first: keeps rows in file order
    if not tables:
        return None, np.zeros(0, dtype=np.int64), errors
    return (pa.concat_tables(tables), np.concatenate(numbers),
            sorted(errors, key=lambda e: e.location.line or 0))


# a blank line inside the block (fast: starts at a newline), or at its start
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_START = re.compile(rb"[ \t\r]*\n")


def _ndjson_whole(data: bytes, first_line: int, schema: pa.Schema
                  ) -> tuple[pa.Table, np.ndarray, list[RecordError]] | None:
    """The usual case in one parse: no blank lines and one object per line (then row i is
    line i). None when that does not hold, or the parser rejects the block."""
    if _BLANK_LINE.search(data) or _BLANK_START.match(data):
        return None
    nlines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        table = _read_json(data, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != nlines:  # some line held two objects
        return None
    return table, np.arange(first_line, first_line + nlines, dtype=np.int64), []


def _read_json(data: bytes, schema: pa.Schema) -> pa.Table:
    return pajson.read_json(
        io.BytesIO(data),
        read_options=pajson.ReadOptions(use_threads=False, block_size=max(1 << 20,
                                                                          len(data) + 1)),
        parse_options=pajson.ParseOptions(explicit_schema=schema,
                                          unexpected_field_behavior="ignore"))


def lines_array(data: bytes) -> pa.Array:
    """The lines of a block as a string array without copying them: value i is line i
    *including* its newline. Raises UnicodeDecodeError-like `pa.ArrowInvalid` when the block
    is not valid UTF-8 (the caller then falls back to a checked split)."""
    raw = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(raw == 0x0A) + 1
    if ends.size == 0 or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.zeros(ends.size + 1, np.int32 if len(data) < 2**31 else np.int64)
    offsets[1:] = ends
    kind = pa.binary() if offsets.dtype == np.int32 else pa.large_binary()
    binary = pa.Array.from_buffers(kind, ends.size, [None, pa.py_buffer(offsets),
                                                     pa.py_buffer(data)])
    return binary.cast(pa.string() if kind == pa.binary() else pa.large_string())
