"""Bulk suspension requests: a CSV of domain names, up to `max_names` of them.

Accepted: one name per line, or a CSV whose header has a `domain` column (other columns
are ignored); blank lines and lines starting with `#` are skipped; a URL is taken for its
host name. The stream is read line by line (never whole into memory); the names are then
normalised and checked together, vectorised with pyarrow (lower-case, IDNA A-labels,
trailing dot removed, host-name syntax, length). A bad line becomes an error naming its
line and never drops the good names around it; duplicates are merged into the first."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import InputError, Location, RecordError
from bluelamp.sources.names import normalize_qnames

# LDH host-name syntax (RE2, so no look-arounds): labels of 1-63, not starting or ending
# with a hyphen, at least two labels.
NAME_RE = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
MAX_LINE = 4096


@dataclass
class BulkNames:
    names: list[str] = field(default_factory=list)  # unique, in first-seen order
    lines: list[int] = field(default_factory=list)  # line of each name's first occurrence
    merged: dict[str, int] = field(default_factory=dict)  # name -> duplicates merged
    errors: list[RecordError] = field(default_factory=list)


def _cells(raw_lines: Iterable[bytes], source: str,
           errors: list[RecordError]) -> tuple[list[str], list[int]]:
    """The raw name cell of every data line, with its line number."""
    values: list[str] = []
    lines: list[int] = []
    column: int | None = None
    header_possible = True  # only the first non-blank, non-comment line may be a header
    for number, raw in enumerate(raw_lines, start=1):
        if len(raw) > MAX_LINE:
            errors.append(RecordError(Location(source, number), "line too long",
                                      raw[:80].decode(errors="replace")))
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            errors.append(RecordError(Location(source, number, exc.start), "not UTF-8"))
            continue
        if not text or text.startswith("#"):
            continue
        row = next(csv.reader([text]), [])
        if header_possible:
            header_possible = False
            header = [c.strip().lower() for c in row]
            if "domain" in header:
                column = header.index("domain")
                continue
        index = column or 0
        if index >= len(row):
            errors.append(RecordError(Location(source, number, field="domain"),
                                      "no domain column on this line", text))
            continue
        values.append(row[index].strip())
        lines.append(number)
    return values, lines


def _host(value: str) -> str:
    if "://" in value:
        return urlsplit(value).hostname or value
    return value


def parse_names(raw_lines: Iterable[bytes], source: str, max_names: int = 25_000) -> BulkNames:
    """Parse a bulk CSV given as an iterable of byte lines (a binary file works)."""
    out = BulkNames()
    values, lines = _cells(raw_lines, source, out.errors)
    if len(values) > max_names:
        raise InputError(RecordError(Location(source, lines[max_names]),
                                     f"more than {max_names} names in one request; split it"))
    names = normalize_qnames(pa.array([_host(v) for v in values], pa.string()))
    ok = pc.and_(pc.match_substring_regex(names, NAME_RE),
                 pc.less_equal(pc.utf8_length(names), 253))
    ok = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
    first: dict[str, int] = {}
    for i, name in enumerate(names.to_pylist()):
        if not ok[i]:
            out.errors.append(RecordError(Location(source, lines[i], field="domain"),
                                          "not a valid domain name", values[i]))
        elif name in first:
            out.merged[name] += 1
        else:
            first[name] = lines[i]
            out.merged[name] = 0
            out.names.append(name)
            out.lines.append(lines[i])
    out.errors.sort(key=lambda e: e.location.line or 0)
    return out
