"""Vectorised text-to-value conversions shared by the text readers.

Each converter takes a string column and returns the typed values plus a boolean mask of the
rows whose text was present but unparsable, so that the reader can report those rows with
their line numbers and drop them while keeping the rest. The happy path is one
`pyarrow.compute.cast`; the regular-expression check only runs when that cast fails.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.schema import TIMESTAMP

_INT = r"^[0-9]{1,18}$"
_FLOAT = r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
# 9999-12-31: beyond it a timestamp is certainly garbage
MAX_EPOCH = 253_402_300_799.0


def as_array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    return col


def absent(col: pa.Array, unset: tuple[str, ...] = ()) -> np.ndarray:
    """Rows that are null or carry one of the `unset` markers (e.g. Zeek's "-")."""
    mask = pc.is_null(col)
    for marker in unset:
        mask = pc.or_(mask, pc.fill_null(pc.equal(col, marker), False))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def with_nulls(col: pa.Array, mask: np.ndarray) -> pa.Array:
    """`col` with the rows in `mask` set to null. Zero-copy (a new validity bitmap over the
    same buffers) for the usual unsliced arrays; `if_else` copies every value and is several
    times slower on string and list columns."""
    if not mask.any():
        return col
    simple = (pa.types.is_string(col.type) or pa.types.is_binary(col.type)
              or pa.types.is_list(col.type) or pa.types.is_primitive(col.type))
    if col.offset != 0 or not simple or pa.types.is_boolean(col.type):
        return pc.if_else(pa.array(mask), pa.scalar(None, col.type), col)
    valid = ~mask
    if col.null_count:
        valid &= ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    own = col.buffers()[1:col.type.num_buffers]
    children = [col.values] if pa.types.is_list(col.type) else None
    return pa.Array.from_buffers(col.type, len(col), [bitmap, *own], children=children)


_null_where = with_nulls


def constant_strings(value: str, n: int) -> pa.Array:
    """A string array of `n` copies of `value`, built from buffers (no Python objects)."""
    raw = value.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(raw)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(raw * n)])


def numbers(col: pa.Array | pa.ChunkedArray, *, floats: bool, unset: tuple[str, ...] = ()
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a string column as numbers: (values as float64 with NaN where missing,
    present mask, bad mask)."""
    col = as_array(col)
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        values = pc.cast(col, pa.float64())
        present = ~np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
        arr = values.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = present & ~np.isfinite(arr)
        return arr, present & ~bad, bad
    missing = absent(col, unset)
    text = _null_where(col, missing)
    target = pa.float64() if floats else pa.int64()
    bad = np.zeros(len(col), dtype=bool)
    try:
        parsed = pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.fill_null(pc.match_substring_regex(text, _FLOAT if floats else _INT), False)
        ok_np = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        bad = ~ok_np & ~missing
        parsed = pc.cast(_null_where(text, ~ok_np), target)
    arr = parsed.to_numpy(zero_copy_only=False).astype(np.float64)
    present = ~missing & ~bad
    nonfinite = present & ~np.isfinite(arr)
    return arr, present & ~nonfinite, bad | nonfinite


def bounded(values: np.ndarray, present: np.ndarray, bad: np.ndarray, lo: float, hi: float,
            target: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Integers within [lo, hi] as `target`; out-of-range values join the bad mask."""
    with np.errstate(invalid="ignore"):
        out = present & ((values < lo) | (values > hi) | (values != np.round(values)))
    ok = present & ~out
    ints = np.where(ok, values, 0).astype(np.int64)
    return pa.array(ints, type=pa.int64(), mask=~ok).cast(target), bad | out


def epoch_seconds_to_ts(values: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Seconds since the epoch (float) to UTC microsecond timestamps; null where not ok."""
    micros = np.where(ok, np.round(values * 1e6), 0).astype(np.int64)
    return pa.array(micros, type=pa.int64(), mask=~ok).cast(TIMESTAMP)


def epoch_range_ok(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return present & (values >= 0) & (values <= MAX_EPOCH)


def iso_to_ts(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """ISO 8601 strings (with Z or an offset, or naive meaning UTC) to timestamps, and the
    mask of unparsable non-null values."""
    col = as_array(col)
    try:
        return _cast_iso(col), np.zeros(len(col), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [_one_iso(v) for v in col.to_pylist()]
        bad = np.array([v is False for v in values], dtype=bool)
        clean = [None if v is False else v for v in values]
        return pa.array(clean, type=TIMESTAMP), bad


def _cast_iso(col: pa.Array) -> pa.Array:
    try:
        return pc.cast(col, TIMESTAMP)
    except pa.ArrowInvalid:
        # naive ISO strings: read as UTC
        return pc.assume_timezone(pc.cast(col, pa.timestamp("us")), "UTC").cast(TIMESTAMP)


def _one_iso(value: str | None) -> object:
    """Per-value fallback used only when the vectorised cast fails: the parsed value, None
    for null, False for garbage."""
    import datetime as dt

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def min_per_list(lists: pa.Array, *, unset: tuple[str, ...] = ()
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest number in each list (of strings or numbers): (mins, present, bad row mask)."""
    lists = as_array(lists)
    n = len(lists)
    # walk the child values through the offsets: null lists may still own child values
    offsets = np.asarray(lists.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = lists.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    parents = np.repeat(np.arange(n), np.diff(offsets))
    listed = ~np.asarray(lists.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    in_list = listed[parents]
    if not in_list.all():  # e.g. Zeek's "-" split into ["-"] under a null list
        flat = with_nulls(flat, ~in_list)
    values, present, bad_items = numbers(flat, floats=True, unset=unset)
    present &= in_list
    bad = np.zeros(n, dtype=bool)
    bad[parents[bad_items & in_list]] = True
    # one reduceat over the starts of the non-empty lists; values of null lists that lie
    # between them are +inf and cannot change a minimum
    lengths = np.diff(offsets)
    vals = np.where(present, values, np.inf)
    mins = np.full(n, np.inf)
    nonempty = (lengths > 0) & listed
    if nonempty.any():
        mins[nonempty] = np.minimum.reduceat(vals, (offsets[:-1] - offsets[0])[nonempty])
    has = np.isfinite(mins)
    return mins, has, bad
