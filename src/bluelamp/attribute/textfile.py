"""Reading line-oriented registry files as Arrow columns, with located errors.

Routing and registry files have hundreds of thousands of lines, so each file is split into
lines once and into fields with pyarrow.compute; Python touches only the bad lines, to say
where they are.
"""

from __future__ import annotations

import bz2
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import InputError, Location, RecordError


def read_text(path: Path) -> str:
    """The whole file as text; gzip and bzip2 are recognised by their magic bytes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        elif raw[:3] == b"BZh":
            raw = bz2.decompress(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: corrupt compressed file ({exc})") from None
    return raw.decode("utf-8", errors="replace")


def read_lines(path: Path) -> pa.Array:
    """Lines without their end-of-line characters; element i is line i + 1."""
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return pc.utf8_rtrim(pa.array(lines, type=pa.string()), characters="\r")


@dataclass
class Fields:
    """A file's lines split into a fixed number of fields."""

    lines: pa.Array
    columns: list[pa.Array]
    count: np.ndarray  # fields present on each line
    source: str
    errors: list[RecordError] = field(default_factory=list)
    bad: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if len(self.bad) != len(self.lines):
            self.bad = np.zeros(len(self.lines), dtype=bool)

    def sorted_errors(self) -> list[RecordError]:
        return sorted(self.errors, key=lambda e: e.location.line or 0)

    def reject(self, mask: np.ndarray, message: str, field_name: str | None = None) -> None:
        """Record an error for each line in `mask` not already rejected; keep the rest."""
        new = mask & ~self.bad
        for i in np.flatnonzero(new).tolist():
            self.errors.append(RecordError(
                Location(self.source, line=i + 1, field=field_name), message,
                str(self.lines[i].as_py())))
        self.bad |= new


def split_fields(lines: pa.Array, sep: str, n: int, source: str) -> Fields:
    """Split each line on `sep` into `n` fields (the last keeps any further separators)."""
    count = pc.add(pc.count_substring(lines, sep), 1).to_numpy(zero_copy_only=False)
    padded = pc.binary_join_element_wise(lines, pa.scalar(sep * (n - 1)), "")
    parts = pc.split_pattern(padded, sep, max_splits=n - 1)
    columns = [pc.list_element(parts, k) for k in range(n - 1)]
    # The last field got the padding appended: strip exactly what was added.
    last = pc.list_element(parts, n - 1)
    columns.append(pc.replace_substring_regex(last, f"{_escape(sep)}*$", "")
                   if n > 1 else last)
    return Fields(lines, columns, count.astype(np.int64), source)


def skip_mask(lines: pa.Array, comment: str = "#") -> np.ndarray:
    """Blank lines and comments, which are not records."""
    stripped = pc.utf8_trim_whitespace(lines)
    blank = pc.equal(stripped, "")
    comment_line = pc.starts_with(stripped, comment)
    return np.asarray(pc.or_(blank, comment_line).to_numpy(zero_copy_only=False), dtype=bool)


def matches(arr: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(
        pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False),
        dtype=bool)


def _escape(sep: str) -> str:
    return "".join("\\" + c if not c.isalnum() else c for c in sep)
