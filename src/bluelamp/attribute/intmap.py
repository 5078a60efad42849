"""A read-only integer → string mapping looked up for whole arrays at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa


class IntMap:
    """Sorted keys searched with `np.searchsorted`: one numpy pass per array of keys, instead
    of a dict look-up per row."""

    def __init__(self, mapping: Mapping[int, object]) -> None:
        items = sorted(mapping.items())
        self.keys = np.array([k for k, _ in items], dtype=np.int64)
        self.values = [v for _, v in items]
        self.array = pa.array([None if v is None else str(v) for v in self.values],
                              type=pa.string())

    def __len__(self) -> int:
        return len(self.keys)

    def index(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key in `values`, or -1 where absent."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, -1)

    def strings(self, keys: np.ndarray) -> pa.Array:
        """The mapped strings (null where absent) for an array of keys."""
        return take_or_null(self.array, self.index(keys))


def take_or_null(values: pa.Array, index: np.ndarray) -> pa.Array:
    """values[index] with null where index is -1 (or values is empty)."""
    if len(values) == 0:
        return pa.nulls(len(index), values.type)
    return values.take(pa.array(np.maximum(index, 0), mask=index < 0))


def first_of(parts: Sequence[tuple[pa.Array, np.ndarray]]) -> pa.Array:
    """Per row, the value from the first part whose index is not -1 (then null).

    Each part is (values, index per row); choosing happens on integer indices and the strings
    are gathered with one `take`, which is much cheaper than coalescing string columns."""
    if not parts:
        return pa.nulls(0, pa.string())
    chosen = np.full(len(parts[0][1]), -1, dtype=np.int64)
    offset = 0
    arrays = []
    for values, index in parts:
        free = (chosen < 0) & (index >= 0)
        chosen[free] = index[free] + offset
        offset += len(values)
        arrays.append(values)
    return take_or_null(pa.concat_arrays(arrays), chosen)


def valid_index(values: pa.Array, index: np.ndarray) -> np.ndarray:
    """`index` with -1 where it points at a null of `values` (so first_of skips it)."""
    if len(values) == 0:
        return np.full(len(index), -1, dtype=np.int64)
    ok = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.where((index >= 0) & ok[np.maximum(index, 0)], index, -1)
