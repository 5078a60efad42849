"""Vectorised membership of strings, and of their parent domains, in a large fixed set.

`pyarrow.compute.is_in` rebuilds its hash table from the value set on every call, which
costs ~0.2 s per call for a million indicators: far too slow per batch. Here the set is
hashed once into a sorted array of 64-bit polynomial hashes. A batch's strings are hashed
straight from the Arrow data buffer with prefix sums, so the hash of *any* substring, and
in particular of every parent domain (the part after each dot), costs O(1) after one
O(bytes) pass; lookups are a binary search. Hits are confirmed by exact comparison, so a
hash collision can never produce a false match.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import pyarrow as pa

#: odd multiplier, so it has an inverse modulo 2**64
_P = np.uint64(0x100000001B3)
_P_INV = np.uint64(pow(int(_P), -1, 2**64))
_DOT = 46


_POWERS: dict[int, np.ndarray] = {}
#: the powers cache stops growing here (32 MiB per base); callers hash in chunks
_MAX_CACHED = 1 << 22
#: strings hashed at a time when building a set (bounds the temporary arrays)
_BUILD_CHUNK = 65_536


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64 (cached up to a size, grown by doubling)."""
    cached = _POWERS.get(int(base))
    if cached is None or len(cached) < n:
        size = max(n, 2 * len(cached) if cached is not None else 1 << 16)
        fresh = np.empty(size, dtype=np.uint64)
        fresh[0] = 1
        fresh[1:] = base
        with np.errstate(over="ignore"):
            np.cumprod(fresh, out=fresh)  # wraps modulo 2**64, as intended
        if size > _MAX_CACHED:
            return fresh[:n]
        _POWERS[int(base)] = cached = fresh
    return cached[:n]


class _Hashed:
    """Prefix hashes of one string array's data buffer."""

    def __init__(self, strings: pa.Array) -> None:
        arr = strings.cast(pa.string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        self.valid = (np.ones(len(arr), dtype=bool) if arr.null_count == 0
                      else arr.is_valid().to_numpy(zero_copy_only=False))
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
            arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
        base = int(offsets[0]) if len(offsets) else 0
        end = int(offsets[-1]) if len(offsets) else 0
        data_buf = arr.buffers()[2]
        self.data = (np.frombuffer(data_buf, dtype=np.uint8)[base:end] if data_buf is not None
                     else np.zeros(0, dtype=np.uint8))
        self.starts = offsets[:-1] - base
        self.ends = offsets[1:] - base
        n = len(self.data)
        with np.errstate(over="ignore"):
            weighted = self.data.astype(np.uint64) * _powers(_P, n)
            self.prefix = np.concatenate(([np.uint64(0)], np.cumsum(weighted, dtype=np.uint64)))
        self.inv = _powers(_P_INV, n + 1)

    def substring_hash(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Hash of data[starts:ends], independent of where the substring sits."""
        with np.errstate(over="ignore"):
            return (self.prefix[ends] - self.prefix[starts]) * self.inv[starts]

    def text(self, start: int, end: int) -> str:
        return bytes(self.data[start:end]).decode("utf-8", "replace")


class StringSet:
    """A fixed set of strings with vectorised `contains` and parent-domain matching."""

    def __init__(self, values: Iterable[str]) -> None:
        # a set or dict given is kept by reference (lists of millions: no second copy)
        self.values: Collection[str] = (values if isinstance(values, set | frozenset | dict)
                                        else frozenset(values))
        ordered = sorted(self.values)
        parts = []
        for i in range(0, len(ordered), _BUILD_CHUNK):
            hashed = _Hashed(pa.array(ordered[i:i + _BUILD_CHUNK], pa.string()))
            parts.append(hashed.substring_hash(hashed.starts, hashed.ends))
        self._hashes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)

    def __len__(self) -> int:
        return len(self.values)

    def _hit(self, hashes: np.ndarray) -> np.ndarray:
        if not len(self._hashes):
            return np.zeros(len(hashes), dtype=bool)
        pos = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        return self._hashes[pos] == hashes

    def contains(self, strings: pa.Array) -> np.ndarray:
        """Boolean mask: which strings are in the set (nulls are not)."""
        h = _Hashed(strings)
        hit = self._hit(h.substring_hash(h.starts, h.ends)) & h.valid
        for i in np.flatnonzero(hit).tolist():  # confirm: hashes may collide
            hit[i] = h.text(int(h.starts[i]), int(h.ends[i])) in self.values
        return hit

    def match_domains(self, names: pa.Array) -> pa.Array:
        """For each name, the most specific member that is the name itself or one of its
        parent domains ("a.b.example" -> "a.b.example", "b.example", "example"); null if
        none."""
        h = _Hashed(names)
        dots = np.flatnonzero(h.data == _DOT)
        owner = np.searchsorted(h.ends, dots, side="right")  # name each dot belongs to
        # candidates: every whole name, and the suffix after every dot
        cand_name = np.concatenate((np.arange(len(h.starts)), owner))
        cand_start = np.concatenate((h.starts, dots + 1))
        cand_end = h.ends[cand_name]
        hit = self._hit(h.substring_hash(cand_start, cand_end)) & h.valid[cand_name]
        hit &= cand_end > cand_start
        # most specific first: the earliest start within each name
        order = np.lexsort((cand_start[hit], cand_name[hit]))
        names_hit, starts_hit = cand_name[hit][order], cand_start[hit][order]
        which = np.full(len(h.starts), -1, dtype=np.int64)
        texts: list[str] = []
        for name, start in zip(names_hit.tolist(), starts_hit.tolist(), strict=True):
            if which[name] < 0:
                text = h.text(start, int(h.ends[name]))
                if text in self.values:  # confirm: hashes may collide
                    which[name] = len(texts)
                    texts.append(text)
        return pa.array(texts, pa.string()).take(pa.array(which, mask=which < 0))
