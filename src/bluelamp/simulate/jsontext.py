"""JSON text built column-wise with pyarrow.compute (NDJSON and Zeek JSON writers).

Strings are escaped for `\\` and `"` only: callers send tables with control characters
(which JSON spells as \\uXXXX) to `json.dumps` instead (`needs_escapes`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

_CONTROL = r"[\x00-\x1f]"


def needs_escapes(table: pa.Table, columns: Iterable[str]) -> bool:
    """True if a string (or list-of-string) column holds a control character."""
    for name in columns:
        col = table.column(name)
        if pa.types.is_list(col.type):
            col = pc.list_flatten(col)
            if not len(col):
                continue
        if pc.any(pc.match_substring_regex(col, _CONTROL)).as_py():
            return True
    return False


def quoted(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    text = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise(pa.scalar('"'), text, pa.scalar('"'), "")


def quoted_lists(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each string of each list quoted (a sliced array's offsets are rebased)."""
    lists = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    flat = lists.flatten()
    values = quoted(flat) if len(flat) else pa.array([], pa.string())
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    return pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(lists))
