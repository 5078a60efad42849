"""Parquet, CSV and NDJSON files that already use the canonical `dns` columns.

Columns are matched by name (order does not matter, unknown columns are ignored, missing
ones are null) and cast with `DNS.conform`. In text formats:

- `ts` is ISO 8601 (`2026-11-21T09:00:00.123456Z`; no zone means UTC) or seconds since
  1970 as a number;
- `answers` in CSV is either a JSON list (`["192.0.2.1","a.example"]`, quoted as CSV
  requires) or `;`-separated (`192.0.2.1;a.example`); an empty cell is null, `[]` is empty;
- an empty CSV cell is null.

`qname` is normalised (lower-case, no trailing dot, IDNA) like every other reader's.
Errors name the line (CSV, NDJSON) or the row number (Parquet, counted from 1) and field.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bluelamp.errors import InputError, Location, RecordError
from bluelamp.schema import DNS, TIMESTAMP
from bluelamp.sources import convert
from bluelamp.sources.base import Chunk
from bluelamp.sources.names import normalize_qnames
from bluelamp.sources.textblocks import (
    MAX_LINE_BYTES,
    ErrorLog,
    iter_line_blocks,
    parse_ndjson,
    sample,
    split_lines,
)

_INT_FIELDS = {f.name: f for f in DNS.fields if pa.types.is_integer(f.type)}
_STR_FIELDS = [f.name for f in DNS.fields if pa.types.is_string(f.type)]
_NUMERIC_TS = re.compile(r"^-?[0-9.eE+-]+$")


def _chunks(table: pa.Table | None, errors: list[RecordError], batch_size: int
            ) -> Iterator[Chunk]:
    batches = table.to_batches(max_chunksize=batch_size) if table is not None else []
    batches = [b for b in batches if b.num_rows]
    if not batches and errors:
        yield Chunk(None, errors)
    for i, batch in enumerate(batches):
        yield Chunk(batch, errors if i == 0 else [])


def to_dns(cols: dict[str, pa.Array], lines: np.ndarray, source: str
           ) -> tuple[pa.Table, list[RecordError]]:
    """Canonical columns (text or typed) to a conformed `dns` table, dropping and reporting
    rows with a value that does not fit its field."""
    n = len(lines)
    bad = np.zeros(n, dtype=bool)
    errors: list[RecordError] = []
    out: dict[str, pa.Array] = {}

    def report(mask: np.ndarray, name: str, what: str) -> None:
        new = mask & ~bad
        if new.any():
            texts = pc.filter(cols[name], pa.array(new)).to_pylist()
            errors.extend(RecordError(Location(source, line=int(ln), field=name), what,
                                      sample(str(t))) for ln, t in zip(lines[new], texts,
                                                                       strict=True))
        bad[:] |= mask

    if "ts" not in cols:
        raise InputError(f"{source}: no ts column")
    out["ts"], ts_bad = _timestamps(cols["ts"])
    report(ts_bad | convert.absent(out["ts"]), "ts", "missing or not a time")
    for name, fld in _INT_FIELDS.items():
        if name in cols:
            values, present, num_bad = convert.numbers(cols[name], floats=False, unset=("",))
            hi = float(np.iinfo(fld.type.to_pandas_dtype()).max)
            out[name], num_bad = convert.bounded(values, present, num_bad, 0, hi, fld.type)
            report(num_bad, name, f"not an integer in 0..{int(hi)}")
    for name in _STR_FIELDS:
        if name in cols:
            col = convert.as_array(cols[name]).cast(pa.string())
            out[name] = pc.if_else(pa.array(convert.absent(col, ("",))),
                                   pa.scalar(None, pa.string()), col)
    if "qname" in out:
        out["qname"] = normalize_qnames(out["qname"])
    if "answers" in cols:
        out["answers"], ans_bad = _answers(cols["answers"])
        report(ans_bad, "answers", "not a JSON list or ;-separated list")
    table = DNS.conform(pa.table(out))
    if bad.any():
        table = table.filter(pa.array(~bad))
    return table, sorted(errors, key=lambda e: e.location.line or 0)


def _timestamps(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    col = convert.as_array(col)
    if pa.types.is_timestamp(col.type):
        if col.type.tz is None:
            col = pc.assume_timezone(col, "UTC")
        return col.cast(TIMESTAMP), np.zeros(len(col), dtype=bool)
    if pa.types.is_string(col.type):
        first = pc.drop_null(col)
        if len(first) == 0 or not _NUMERIC_TS.match(str(first[0].as_py())):
            return convert.iso_to_ts(col)
    values, present, bad = convert.numbers(col, floats=True, unset=("",))
    ok = convert.epoch_range_ok(values, present)
    return convert.epoch_seconds_to_ts(values, ok), bad | (present & ~ok)


def _answers(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    col = convert.as_array(col)
    list_type = pa.list_(pa.string())
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        return col.cast(list_type), np.zeros(len(col), dtype=bool)
    col = col.cast(pa.string())
    is_json = pc.fill_null(pc.starts_with(col, "["), False)
    missing = pa.array(convert.absent(col, ("",)))
    plain = pc.split_pattern(col, ";")
    bad = np.zeros(len(col), dtype=bool)
    if pc.any(is_json).as_py():
        parsed, bad = _json_lists(pc.filter(col, is_json).to_pylist())
        idx = np.flatnonzero(np.asarray(is_json.to_numpy(zero_copy_only=False), dtype=bool))
        full_bad = np.zeros(len(col), dtype=bool)
        full_bad[idx] = bad
        bad = full_bad
        take = np.arange(len(col))
        take[idx] = len(col) + np.arange(len(idx))
        plain = pa.concat_arrays([plain, parsed]).take(pa.array(take))
    return pc.if_else(missing, pa.scalar(None, list_type), plain), bad


def _json_lists(texts: list[str]) -> tuple[pa.Array, np.ndarray]:
    import json

    values: list[list[str] | None] = []
    bad = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        try:
            value = json.loads(text)
            if not isinstance(value, list):
                raise ValueError
            values.append([str(v) for v in value])
        except ValueError:
            values.append(None)
            bad[i] = True
    return pa.array(values, pa.list_(pa.string())), bad


# ------------------------------------------------------------------------------------ Parquet
class ParquetReader:
    name = "parquet"
    description = "Parquet with the canonical dns columns (e.g. the lake's files)"
    sniff_priority = 10

    def sniff(self, head: bytes) -> bool:
        return head[:4] == b"PAR1"

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        try:
            seekable = stream.seekable()
        except (AttributeError, OSError):
            seekable = False
        handle = stream if seekable else pa.BufferReader(stream.read())
        try:
            pf = pq.ParquetFile(handle)
        except (pa.ArrowInvalid, OSError) as exc:
            yield Chunk(None, [RecordError(Location(source), f"not a readable Parquet file: "
                                                             f"{exc}")])
            return
        columns = [c for c in pf.schema_arrow.names if c in DNS.names]
        row = 1
        for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
            cols = {c: batch.column(c) for c in batch.schema.names}
            lines = np.arange(row, row + batch.num_rows, dtype=np.int64)
            row += batch.num_rows
            table, errors = to_dns(cols, lines, source)
            yield from _chunks(table, errors, batch_size)


# ------------------------------------------------------------------------------------ CSV
class CsvReader:
    name = "csv"
    description = "CSV with a header row of canonical dns column names"
    sniff_priority = 60

    def sniff(self, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
        names = {c.strip().strip('"') for c in first.split(",")}
        return {"ts", "qname"} <= names

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        log = ErrorLog(source)
        header: list[str] | None = None
        for block in iter_line_blocks(stream, source):
            data, first_line = block.data, block.first_line
            if header is None:
                head, _, data = data.partition(b"\n")
                header = next(csv.reader([head.decode("utf-8", "replace").strip("\r")]))
                first_line += 1
                if "ts" not in header or len(set(header)) != len(header):
                    yield Chunk(None, [RecordError(Location(source, line=1),
                                                   "CSV header has no ts column or names a "
                                                   "column twice")])
                    return
            table, errors = self._block(data, first_line, header, source)
            yield from _chunks(table, log.admit(block.errors + errors), batch_size)
        if log.dropped:
            yield Chunk(None, log.summary())

    def _block(self, data: bytes, first_line: int, header: list[str], source: str
               ) -> tuple[pa.Table | None, list[RecordError]]:
        errors: list[RecordError] = []
        cols: dict[str, pa.Array] | None
        try:
            cols = _parse_csv(data, header)
            lines = np.arange(first_line, first_line + data.count(b"\n"), dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            cols, lines, errors = _line_by_line(data, first_line, header, source)
        if cols is None:
            return None, errors
        table, conv_errors = to_dns(cols, lines, source)
        return table, sorted(errors + conv_errors, key=lambda e: e.location.line or 0)


def _line_by_line(data: bytes, first_line: int, header: list[str], source: str
                  ) -> tuple[dict[str, pa.Array] | None, np.ndarray, list[RecordError]]:
    """The slow path for a block pyarrow rejected: check each line, parse the good ones."""
    good: list[bytes] = []
    numbers: list[int] = []
    errors: list[RecordError] = []
    for i, raw in enumerate(split_lines(data)):
        line = raw.rstrip(b"\r")
        problem = _csv_line_problem(line, len(header))
        if problem:
            errors.append(RecordError(Location(source, line=first_line + i), problem,
                                      sample(line)))
        elif line.strip():
            good.append(line + b"\n")
            numbers.append(first_line + i)
    if not good:
        return None, np.zeros(0, dtype=np.int64), errors
    cols, lines, more = _parse_good_lines(good, numbers, header, source)
    return cols, lines, errors + more


def _parse_csv(data: bytes, header: list[str]) -> dict[str, pa.Array]:
    stray_cr = b"\r" in data and b"\r" in data.replace(b"\r\n", b"\n")
    if b"\n\n" in data or data.startswith(b"\n") or stray_cr:
        raise pa.ArrowInvalid("blank line or stray carriage return")
    wanted = [c for c in header if c in DNS.names]
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=header, use_threads=False,
                                       block_size=max(1 << 20, len(data) + 1)),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(include_columns=wanted,
                                             column_types=dict.fromkeys(wanted, pa.string()),
                                             null_values=[], strings_can_be_null=False))
    return {c: convert.as_array(table.column(c)) for c in wanted}


def _parse_good_lines(good: list[bytes], numbers: list[int], header: list[str], source: str
                      ) -> tuple[dict[str, pa.Array] | None, np.ndarray, list[RecordError]]:
    """Lines that Python's csv module accepted; should pyarrow still reject the lot, parse
    them one by one so that only the line it rejects is lost."""
    try:
        return _parse_csv(b"".join(good), header), np.array(numbers, dtype=np.int64), []
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    parts: list[dict[str, pa.Array]] = []
    kept: list[int] = []
    errors: list[RecordError] = []
    for line, number in zip(good, numbers, strict=True):
        try:
            parts.append(_parse_csv(line, header))
            kept.append(number)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            errors.append(RecordError(Location(source, line=number),
                                      f"bad CSV: {str(exc).splitlines()[0]}", sample(line)))
    if not parts:
        return None, np.zeros(0, dtype=np.int64), errors
    cols = {c: pa.concat_arrays([p[c] for p in parts]) for c in parts[0]}
    return cols, np.array(kept, dtype=np.int64), errors


def _csv_line_problem(line: bytes, want: int) -> str | None:
    if not line.strip():
        return None
    if len(line) > MAX_LINE_BYTES:
        return f"line is longer than {MAX_LINE_BYTES} bytes"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start})"
    if "\r" in text:
        return "carriage return inside a line"
    try:
        fields = next(csv.reader([text], strict=True))
    except csv.Error as exc:
        return f"bad CSV: {exc}"
    if len(fields) != want:
        return f"{len(fields)} fields, but the header names {want}"
    return None


# ------------------------------------------------------------------------------------ NDJSON
_TEXT_TS = re.compile(rb'"ts"\s*:\s*"')


class NdjsonReader:
    name = "ndjson"
    description = "NDJSON, one object per line with canonical dns keys"
    sniff_priority = 35

    def sniff(self, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0]
        return (first.startswith(b"{") and b'"qname"' in first and b'"ts"' in first
                and b'"id.orig_h"' not in first)

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        log = ErrorLog(source)
        for block in iter_line_blocks(stream, source):
            ts_type = pa.string() if _TEXT_TS.search(block.data[:4096]) else pa.float64()
            schema = pa.schema([("ts", ts_type)] + [
                (f.name, pa.int64() if f.name in _INT_FIELDS else f.type)
                for f in DNS.fields if f.name != "ts"])
            table, lines, errors = parse_ndjson(block.data, block.first_line, schema, source)
            out = None
            if table is not None:
                cols = {c: table.column(c) for c in table.column_names}
                out, conv_errors = to_dns(cols, lines, source)
                errors = sorted(errors + conv_errors, key=lambda e: e.location.line or 0)
            yield from _chunks(out, log.admit(block.errors + errors), batch_size)
        if log.dropped:
            yield Chunk(None, log.summary())


READERS = [ParquetReader(), CsvReader(), NdjsonReader()]
