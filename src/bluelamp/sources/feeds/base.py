"""What every feed parser shares: the parser base class, CSV and text-line readers that keep
line numbers, and the vectorised builder of the `extra` JSON column.

A parser only has to say how its rows map onto `EVENT` field names (`loose`); validation,
normalisation, ids and located errors are done once, in `bluelamp.events.validate_events`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from bluelamp.errors import Location, RecordError
from bluelamp.events import LINE, validate_events
from bluelamp.schema import EVENT
from bluelamp.sources.base import Chunk

#: EVENT fields a feed column is never mapped to by name alone (a feed's own `id` is not
#: our id); a parser may still map to them explicitly.
RESERVED = frozenset({"id", "extra", "count", "raw_ref", "time_observed", "time_last_seen"})


def fixed(**values: Any) -> Mapping[str, Any]:
    """A read-only mapping, for the constants a parser class declares."""
    return MappingProxyType(values)


@dataclass
class Loose:
    """Rows named by EVENT fields (any types, mostly strings) + `_line`, errors met while
    splitting the input, and constants that fill what the rows leave empty."""

    table: pa.Table
    errors: list[RecordError] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)


class FeedParser:
    """Base of every feed parser. Subclasses set the class attributes and `loose`."""

    name: str = ""
    provider: str = ""
    description: str = ""
    #: classification and TLP when the feed says nothing per row
    constants: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def sniff(self, head: bytes, filename: str) -> int:
        """How sure this parser is that it reads the input: 0 (no) .. 100."""
        return 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        raise NotImplementedError

    def parse(self, stream: BinaryIO, source: str, *, batch_size: int = 65_536,
              observed: dt.datetime | None = None) -> Iterator[Chunk]:
        """Yield chunks of EVENT rows and the located errors of the bad ones."""
        observed = observed or dt.datetime.now(dt.UTC)
        for part in self.loose(stream, source, batch_size=batch_size):
            consts = {"feed_name": self.name, "feed_provider": self.provider,
                      **self.constants, **part.constants}
            good, errors = validate_events(part.table, source, constants=consts,
                                           observed=observed)
            batch = good.combine_chunks().to_batches()[0] if good.num_rows else None
            yield Chunk(batch, part.errors + errors)


# ---------------------------------------------------------------------------------------
# building loose tables
# ---------------------------------------------------------------------------------------
_NEEDS_ESCAPE = r'[\\"\x00-\x1f]'


def _json_escape(col: pa.Array) -> pa.Array:
    """JSON string escaping, vectorised; skipped for the (usual) column with nothing to
    escape, and done in Python only for values with rare control characters."""
    if not pc.any(pc.match_substring_regex(col, _NEEDS_ESCAPE)).as_py():
        return col
    out = pc.replace_substring(col, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    for char, escaped in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        out = pc.replace_substring(out, char, escaped)
    odd = pc.fill_null(pc.match_substring_regex(col, r"[\x00-\x08\x0b\x0c\x0e-\x1f]"), False)
    if pc.any(odd).as_py():
        fixed_values = [json.dumps(v)[1:-1] if v is not None else None
                        for v in pc.if_else(odd, col, None).to_pylist()]
        out = pc.if_else(odd, pa.array(fixed_values, pa.string()), out)
    return out


def extra_json(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """A JSON object per row of the named string columns, empty values left out; built
    with vectorised string kernels instead of a json.dumps per row."""
    pieces = []
    for name in columns:
        col = table.column(name).combine_chunks()
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        if col.null_count < len(col):
            col = pc.if_else(pc.equal(col, ""), None, col)
        key = json.dumps(name) + ':"'
        pieces.append(pc.binary_join_element_wise(key, _json_escape(col), '"', ""))
    if not pieces:
        return pa.nulls(table.num_rows, pa.string())
    # (a join of a single array drops its null rows in pyarrow 26, hence the special case)
    body = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(
        *pieces, ",", null_handling="skip")
    out = pc.binary_join_element_wise("{", body, "}", "")
    return pc.if_else(pc.equal(body, ""), None, out)


def loose_table(table: pa.Table, rename: Mapping[str, str], lines: pa.Array) -> pa.Table:
    """Columns renamed to EVENT fields by `rename` (feed column -> field; the first feed
    column that maps to a field wins), every other column into `extra`, plus `_line`."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    leftover = []
    for name in table.column_names:
        target = rename.get(name)
        if target and target not in columns:
            columns[target] = table.column(name)
        elif name in EVENT.names and name not in columns and name not in RESERVED:
            columns[name] = table.column(name)
        else:
            leftover.append(name)
    columns["extra"] = extra_json(table, leftover)
    columns[LINE] = lines
    return pa.table(columns)


def records_table(records: Iterable[Mapping[str, Any]], rename: Mapping[str, str],
                  lines: Sequence[int]) -> pa.Table:
    """The same, for feeds that arrive as JSON objects (small: built in Python)."""
    rows, extras = [], []
    for rec in records:
        row: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in rec.items():
            target = rename.get(key, key if key in EVENT.names and key not in RESERVED else None)
            if target and target not in row and value not in (None, ""):
                row[target] = value if isinstance(value, int | float) else str(value)
            elif value not in (None, "", [], {}):
                extra[key] = value
        rows.append(row)
        extras.append(json.dumps(extra, sort_keys=True, default=str) if extra else None)
    names = sorted({k for r in rows for k in r})
    data: dict[str, Any] = {n: pa.array([_text(r.get(n)) for r in rows], pa.string())
                            for n in names}
    data["extra"] = pa.array(extras, pa.string())
    data[LINE] = pa.array(list(lines), pa.int64())
    return pa.table(data)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------
# CSV with located errors
# ---------------------------------------------------------------------------------------
@dataclass
class CsvLayout:
    """How a CSV file is laid out: delimiter, comment prefix, and where names come from."""

    delimiter: str = ","
    comment: str | None = None
    #: column names when the file has no header line
    names: Sequence[str] | None = None
    #: take the names from the last comment line (URLhaus puts its header there)
    header_in_comment: bool = False


def split_comments(stream: BinaryIO, layout: CsvLayout) -> tuple[int, list[str] | None,
                                                                   BinaryIO]:
    """Consume leading comment and blank lines; return how many there were, the header
    found in them (if asked for) and the rest of the stream."""
    skipped, header = 0, None
    if not layout.comment:
        return 0, None, stream
    prefix = layout.comment.encode()
    reader: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    while True:
        head = reader.peek(1)[:1]
        if not head or (head != prefix[:1] and head not in (b"\n", b"\r")):
            break
        line = reader.readline().decode("utf-8", "replace").strip()
        skipped += 1
        text = line.lstrip(layout.comment).strip()
        if layout.header_in_comment and layout.delimiter in text:
            header = [h.strip() for h in text.split(layout.delimiter)]
    return skipped, header, reader


def read_csv(stream: BinaryIO, source: str, layout: CsvLayout, *,
             batch_size: int) -> Iterator[tuple[pa.Table, pa.Array, list[RecordError]]]:
    """Stream a CSV as all-string tables with the line of each row; rows with the wrong
    number of fields become errors and never stop the rows around them. Lines are record
    numbers: exact unless a quoted field spans several lines."""
    skipped, header, body = split_comments(stream, layout)
    names = list(layout.names or header or [])
    if not names:
        first = body.readline().decode("utf-8-sig", "replace")
        skipped += 1
        names = [h.strip() for h in next(csv.reader([first], delimiter=layout.delimiter), [])]
    invalid: list[tuple[int, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        invalid.append((skipped + (row.number or 0), row.text))
        return "skip"

    reader = pcsv.open_csv(
        body,
        # small blocks keep the reader's memory low (it grows with the block size); the
        # batches are gathered below into tables of about `batch_size` rows
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False,
                                      block_size=1 << 20),
        parse_options=pcsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True,
                                        invalid_row_handler=on_invalid),
        # empty fields are null (and only they: "NULL" or "NA" stay text)
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                            strings_can_be_null=True, null_values=[""]),
    )
    next_line = skipped + 1
    reported = 0
    for batches in _gather(reader, batch_size):
        table = pa.Table.from_batches(batches)
        lines, next_line = _lines(table.num_rows, next_line, invalid)
        errors = [RecordError(Location(source, line=ln), f"expected {len(names)} fields",
                              sample=text) for ln, text in invalid[reported:]]
        reported = len(invalid)
        yield table, lines, errors
    if len(invalid) > reported:
        yield (pa.table({n: pa.array([], pa.string()) for n in names}), pa.array([], pa.int64()),
               [RecordError(Location(source, line=ln), f"expected {len(names)} fields",
                            sample=text) for ln, text in invalid[reported:]])


def _gather(reader: Iterable[pa.RecordBatch], rows: int) -> Iterator[list[pa.RecordBatch]]:
    """Group consecutive record batches into lists of at least `rows` rows (the last may
    have fewer)."""
    group: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        group.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield group
            group, count = [], 0
    if group:
        yield group


def _lines(n: int, start: int, invalid: list[tuple[int, str]]) -> tuple[pa.Array, int]:
    """Lines of the next `n` good rows, stepping over the lines of skipped bad rows."""
    bad = np.array(sorted(ln for ln, _ in invalid if ln >= start), dtype=np.int64)
    lines = start + np.arange(n, dtype=np.int64)
    for b in bad:  # few: bad rows are the exception
        lines[lines >= b] += 1
    end = int(lines[-1]) + 1 if n else start
    return pa.array(lines), end


def text_lines(stream: BinaryIO, comment: str = "#") -> Iterator[tuple[int, str]]:
    """Non-blank, non-comment lines of a text list, with their 1-based line numbers."""
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8", "replace").strip()
        if line and not line.startswith(comment):
            yield number, line


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
