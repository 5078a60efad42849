"""Zeek `dns.log` written by the ASCII (TSV) writer; the JSON writer is in `zeekjson`.

TSV is driven by its header lines (`#separator`, `#set_separator`, `#unset_field`,
`#empty_field`, `#fields`); columns may come in any order, unknown columns are ignored,
missing ones are null, and a file may hold several header blocks (rotated or concatenated
logs). Data lines are parsed with `pyarrow.csv` in large blocks and converted with
pyarrow.compute / numpy; only a block that the fast parser rejects is re-read line by line,
to name the bad lines and keep the good ones.

Timestamps masked as `XXXXXXXXXX.XXXXXX` (Zeek's test baselines) cannot be placed in time:
such rows are kept with `ts` = 1970-01-01T00:00:00Z and reported by one error per file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS
from bluelamp.sources import convert
from bluelamp.sources.base import Chunk
from bluelamp.sources.names import normalize_qnames
from bluelamp.sources.textblocks import (
    MAX_LINE_BYTES,
    ErrorLog,
    iter_line_blocks,
    sample,
    split_lines,
)

#: Zeek column -> dns field
ZEEK_FIELDS = {
    "ts": "ts", "id.orig_h": "client", "id.orig_p": "client_port", "id.resp_h": "server",
    "query": "qname", "qtype": "qtype", "rcode": "rcode", "answers": "answers",
    "TTLs": "ttl", "proto": "transport",
}
REQUIRED = ("ts", "query")
MASKED_TS = "XXXXXXXXXX"


@dataclass
class Header:
    """The TSV header state in force for the following data lines."""

    separator: str = "\t"
    set_separator: str = ","
    unset: str = "-"
    empty: str = "(empty)"
    fields: tuple[str, ...] | None = None
    fields_line: int = 0
    problem: str | None = None  # why the current #fields cannot be used

    def apply(self, line: str, line_no: int) -> Header:
        """The header after one `#...` line (unknown directives are comments)."""
        if line.startswith("#separator"):
            value = line[len("#separator"):].strip(" ")
            return replace(self, separator=_unescape_hex(value))
        key, _, value = line.partition(self.separator)
        if key == "#set_separator":
            return replace(self, set_separator=_unescape_hex(value))
        if key == "#unset_field":
            return replace(self, unset=value)
        if key == "#empty_field":
            return replace(self, empty=value)
        if key == "#fields":
            names = tuple(value.split(self.separator))
            problem = _fields_problem(names)
            if len(self.separator) != 1 or self.separator in "\r\n":
                problem = f"unsupported #separator {self.separator!r} (one character needed)"
            return replace(self, fields=names, fields_line=line_no, problem=problem)
        return self


def _unescape_hex(value: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def _fields_problem(names: tuple[str, ...]) -> str | None:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        return f"#fields has no {', '.join(missing)} column"
    if len(set(names)) != len(names):
        return "#fields names a column twice"
    return None


# --------------------------------------------------------------------------------------------
# conversion of parsed columns to the dns schema (shared by TSV and JSON)
# --------------------------------------------------------------------------------------------
@dataclass
class Converted:
    table: pa.Table
    errors: list[RecordError] = field(default_factory=list)
    masked_count: int = 0
    masked_first: int | None = None


def to_dns(cols: dict[str, pa.Array], lines: np.ndarray, source: str, header: Header
           ) -> Converted:
    """Turn Zeek columns (strings from TSV, typed values from JSON) into dns rows. Rows with
    an unparsable value are dropped and reported with their line and field."""
    n = len(lines)
    unset = (header.unset,)
    bad = np.zeros(n, dtype=bool)
    errors: list[RecordError] = []
    out: dict[str, pa.Array] = {}

    def report(mask: np.ndarray, zeek_name: str, what: str) -> None:
        nonlocal bad
        new = mask & ~bad
        if new.any():
            texts = pc.filter(cols[zeek_name], pa.array(new)).to_pylist()
            errors.extend(RecordError(Location(source, line=int(ln), field=zeek_name), what,
                                      sample(str(t)))
                          for ln, t in zip(lines[new], texts, strict=True))
        bad |= mask

    ts_col = convert.as_array(cols["ts"])
    masked = np.zeros(n, dtype=bool)
    if pa.types.is_string(ts_col.type) and _looks_iso(ts_col):
        out["ts"], ts_bad = convert.iso_to_ts(ts_col)
        report(ts_bad | convert.absent(ts_col), "ts", "not an ISO 8601 time")
    else:
        if pa.types.is_string(ts_col.type):
            masked = np.asarray(pc.fill_null(pc.starts_with(ts_col, MASKED_TS), False)
                                .to_numpy(zero_copy_only=False), dtype=bool)
            if masked.any():
                ts_col = pc.if_else(pa.array(masked), pa.scalar("0", pa.string()), ts_col)
        values, present, ts_bad = convert.numbers(ts_col, floats=True, unset=unset)
        ok = convert.epoch_range_ok(values, present)
        report(ts_bad | ~ok, "ts", "not a time in seconds since 1970")
        out["ts"] = convert.epoch_seconds_to_ts(values, ok)

    for zeek_name, dns_name, hi in (("id.orig_p", "client_port", 65535),
                                    ("qtype", "qtype", 65535), ("rcode", "rcode", 255)):
        if zeek_name in cols:
            values, present, num_bad = convert.numbers(cols[zeek_name], floats=False,
                                                       unset=unset)
            out[dns_name], num_bad = convert.bounded(values, present, num_bad, 0, hi,
                                                     DNS.field(dns_name).type)
            report(num_bad, zeek_name, f"not an integer in 0..{hi}")

    for zeek_name, dns_name in (("id.orig_h", "client"), ("id.resp_h", "server"),
                                ("proto", "transport")):
        if zeek_name in cols:
            col = convert.as_array(cols[zeek_name]).cast(pa.string())
            out[dns_name] = convert.with_nulls(col, convert.absent(col, unset))

    query = convert.as_array(cols["query"]).cast(pa.string())
    root = np.asarray(pc.fill_null(pc.equal(query, header.empty), False)
                      .to_numpy(zero_copy_only=False), dtype=bool)
    if root.any():  # Zeek writes the root name as the empty field
        query = pc.if_else(pa.array(root), pa.scalar("."), query)
    query = convert.with_nulls(query, convert.absent(query, unset))
    out["qname"] = normalize_qnames(query, escapes="zeek")
    too_long = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(out["qname"]), 1024), False)
                          .to_numpy(zero_copy_only=False), dtype=bool)
    report(too_long, "query", "name longer than 1024 characters")

    if "answers" in cols:
        out["answers"] = _set_column(cols["answers"], header)
    if "TTLs" in cols:
        ttls = _set_column(cols["TTLs"], header)
        mins, has, ttl_bad = convert.min_per_list(ttls)
        out["ttl"], ttl_bad = convert.bounded(np.floor(mins), has, ttl_bad, 0, 2**32 - 1,
                                              pa.uint32())
        report(ttl_bad, "TTLs", "not a list of durations")

    out["sensor"] = convert.constant_strings(PurePath(source).name, n)
    table = DNS.conform(pa.table(out))
    kept_masked = masked & ~bad
    if bad.any():
        table = table.filter(pa.array(~bad))
    errors.sort(key=lambda e: e.location.line or 0)
    first = int(lines[kept_masked][0]) if kept_masked.any() else None
    return Converted(table, errors, int(kept_masked.sum()), first)


def _looks_iso(col: pa.Array) -> bool:
    first = pc.drop_null(col)
    return len(first) > 0 and bool(re.match(r"^\d{4}-\d\d-\d\d", first[0].as_py()))


def _set_column(col: pa.Array | pa.ChunkedArray, header: Header) -> pa.Array:
    """A Zeek set/vector column as list<string>: split TSV text, keep JSON lists."""
    col = convert.as_array(col)
    if pa.types.is_list(col.type):
        return col.cast(pa.list_(pa.string()))
    missing = convert.absent(col, (header.unset,))
    empty = pc.fill_null(pc.equal(col, header.empty), False)
    parts = pc.split_pattern(col, header.set_separator)
    if pc.any(empty).as_py():
        parts = pc.if_else(empty, pa.scalar([], pa.list_(pa.string())), parts)
    parts = _unescape_elements(parts)
    return convert.with_nulls(parts, missing)


def _unescape_elements(lists: pa.Array) -> pa.Array:
    """Zeek writes a set separator (and unprintable bytes) inside an element as \\xHH;
    decode those, once per distinct escaped element."""
    if not pa.types.is_list(lists.type) or lists.offset != 0:
        return lists
    values = lists.values
    escaped = pc.fill_null(pc.match_substring(values, "\\x"), False)
    if not pc.any(escaped).as_py():
        return lists
    distinct = pc.unique(pc.filter(values, escaped))
    decoded = pa.array([_unescape_element(v) for v in distinct.to_pylist()], pa.string())
    fixed = pc.if_else(escaped, pc.take(decoded, pc.index_in(values, distinct)), values)
    return pa.ListArray.from_arrays(lists.offsets, fixed, mask=lists.is_null())


def _unescape_element(text: str) -> str:
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                 text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "backslashreplace")


# --------------------------------------------------------------------------------------------
# TSV
# --------------------------------------------------------------------------------------------
class ZeekTsvReader:
    name = "zeek"
    description = "Zeek dns.log, ASCII/TSV writer (header-driven columns, gzip ok)"
    sniff_priority = 20

    def sniff(self, head: bytes) -> bool:
        text = head.lstrip()
        return text.startswith(b"#separator") or (
            text.startswith(b"#") and b"\n#fields" in text and b"query" in text)

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        state = _TsvState(source)
        for block in iter_line_blocks(stream, source):
            errors = state.log.admit(block.errors)
            tables: list[pa.Table] = []
            for kind, line_no, data, nlines in _segments(block.data, block.first_line,
                                                         block.lines):
                if kind == "header":
                    text = data.rstrip(b"\r").decode("utf-8", "backslashreplace")
                    state.header = state.header.apply(text, line_no)
                    if text.startswith("#fields") and state.header.problem:
                        errors += state.log.admit([RecordError(
                            Location(source, line=line_no), state.header.problem
                            + "; the data lines under it are skipped", sample(text))])
                    continue
                table, errs = state.parse_run(data, line_no, nlines)
                errors += state.log.admit(errs)
                if table is not None and table.num_rows:
                    tables.append(table)
            yield from chunks(tables, errors, batch_size)
        final = state.log.admit(state.masked_error()) + state.log.summary()
        if final:
            yield Chunk(None, final)


def chunks(tables: list[pa.Table], errors: list[RecordError], batch_size: int
            ) -> Iterator[Chunk]:
    batches = [b for t in tables for b in t.to_batches(max_chunksize=batch_size)]
    if not batches:
        if errors:
            yield Chunk(None, errors)
        return
    for i, batch in enumerate(batches):
        yield Chunk(batch, errors if i == 0 else [])


def _segments(block: bytes, first_line: int, total_lines: int
              ) -> Iterator[tuple[str, int, bytes, int]]:
    """Split a block into header lines and runs of data lines: (kind, first line number,
    bytes, number of lines). Lines are counted once per block, not per run."""
    pos, line, end_line = 0, first_line, first_line + total_lines
    while pos < len(block):
        if block.startswith(b"#", pos):
            end = block.index(b"\n", pos)
            yield "header", line, block[pos:end], 1
            pos, line = end + 1, line + 1
            continue
        nxt = _next_header(block, pos)
        if nxt < 0:
            yield "data", line, block[pos:] if pos else block, end_line - line
            return
        data = block[pos:nxt]
        count = data.count(b"\n")
        yield "data", line, data, count
        pos, line = nxt, line + count


def _next_header(block: bytes, pos: int) -> int:
    """Index of the next line that starts with '#' (a one-byte search is much faster than
    searching for "\\n#"; '#' inside data lines is rare)."""
    i = block.find(b"#", pos)
    while i > 0 and block[i - 1] != 0x0A:
        i = block.find(b"#", i + 1)
    return i


class _FastPathFailed(Exception):
    pass


@dataclass
class _TsvState:
    source: str
    header: Header = field(default_factory=Header)
    log: ErrorLog = field(init=False)
    masked_count: int = 0
    masked_first: int | None = None

    def __post_init__(self) -> None:
        self.log = ErrorLog(self.source)

    def parse_run(self, data: bytes, first_line: int, nlines: int
                  ) -> tuple[pa.Table | None, list[RecordError]]:
        h = self.header
        if h.fields is None or h.problem:
            why = "no #fields header before it" if h.fields is None else (
                f"the #fields header at line {h.fields_line} is unusable")
            if h.fields is None:
                return None, [RecordError(Location(self.source, line=first_line + i),
                                          f"data line with {why}", sample(line))
                              for i, line in enumerate(split_lines(data)) if line.strip()]
            return None, [RecordError(Location(self.source, line=first_line),
                                      f"{nlines} data lines skipped: {why}")]
        errors: list[RecordError] = []
        try:
            cols = _parse_tsv(data, h)
            lines = np.arange(first_line, first_line + nlines)
            cols, lines = _drop_blank(cols, lines)
        except _FastPathFailed:
            good, lines, errors = self._line_by_line(data, first_line)
            if not good:
                return None, errors
            try:
                cols = _parse_tsv(b"".join(good), h)
            except _FastPathFailed:  # not expected: the lines passed the checks above
                return None, [*errors, RecordError(
                    Location(self.source, line=first_line),
                    f"{nlines} lines skipped: the TSV parser rejected them")]
        conv = to_dns(cols, lines, self.source, h)
        self.masked_count += conv.masked_count
        if self.masked_first is None:
            self.masked_first = conv.masked_first
        return conv.table, sorted(errors + conv.errors, key=lambda e: e.location.line or 0)

    def _line_by_line(self, data: bytes, first_line: int
                      ) -> tuple[list[bytes], np.ndarray, list[RecordError]]:
        """The slow path: check each line, keep the good ones (with their numbers)."""
        h = self.header
        assert h.fields is not None
        want = len(h.fields)
        sep = h.separator.encode()
        good: list[bytes] = []
        numbers: list[int] = []
        errors: list[RecordError] = []
        for i, raw in enumerate(split_lines(data)):
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line.strip():
                continue  # blank lines carry no record
            problem = _line_problem(line, sep, want)
            if problem:
                errors.append(RecordError(Location(self.source, line=first_line + i), problem,
                                          sample(line)))
            else:
                good.append(line + b"\n")
                numbers.append(first_line + i)
        return good, np.array(numbers, dtype=np.int64), errors

    def masked_error(self) -> list[RecordError]:
        if not self.masked_count:
            return []
        return [RecordError(
            Location(self.source, line=self.masked_first, field="ts"),
            f"{self.masked_count} rows have masked timestamps (XXXXXXXXXX.XXXXXX) and cannot "
            "be placed in time; they are kept with ts = 1970-01-01T00:00:00Z")]


def _drop_blank(cols: dict[str, pa.Array], lines: np.ndarray
                ) -> tuple[dict[str, pa.Array], np.ndarray]:
    """pyarrow reads a blank line as a row of empty strings (we keep empty lines so that
    rows and lines stay aligned); a real record never has an empty ts, so drop those."""
    blank = pc.equal(cols["ts"], "")
    if not pc.any(blank).as_py():
        return cols, lines
    keep = pc.invert(blank)
    mask = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    return {k: pc.filter(v, keep) for k, v in cols.items()}, lines[mask]


def _line_problem(line: bytes, sep: bytes, want: int) -> str | None:
    if len(line) > MAX_LINE_BYTES:
        return f"line is longer than {MAX_LINE_BYTES} bytes"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start})"
    if b"\r" in line:
        return "carriage return inside a line"
    got = line.count(sep) + 1
    if got != want:
        return f"{got} fields, but the #fields header names {want}"
    return None


def _parse_tsv(data: bytes, h: Header) -> dict[str, pa.Array]:
    """Parse clean TSV data lines with pyarrow.csv, only the columns we map, all as strings.
    Raises _FastPathFailed when any line is malformed (then the caller goes line by line)."""
    assert h.fields is not None
    wanted = [c for c in h.fields if c in ZEEK_FIELDS]
    if b"\r" in data:  # pyarrow would take it for a line end and shift the line numbers
        raise _FastPathFailed
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            # ~2 MiB blocks parse faster than one huge block (cache), and still hold the
            # longest line the fast path accepts
            read_options=pacsv.ReadOptions(column_names=list(h.fields), use_threads=False,
                                           block_size=2 * MAX_LINE_BYTES + 1024),
            parse_options=pacsv.ParseOptions(delimiter=h.separator, quote_char=False,
                                             escape_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types=dict.fromkeys(wanted, pa.string()),
                null_values=[], strings_can_be_null=False, check_utf8=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _FastPathFailed from exc
    return {c: convert.as_array(table.column(c)) for c in wanted}


READERS = [ZeekTsvReader()]
