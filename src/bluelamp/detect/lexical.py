"""Shared helpers of the domain-behaviour detectors (tunnel, water torture, fast flux, spam,
lookalike, newly observed): vectorised string hashing, a mergeable distinct-count sketch,
per-string Shannon entropy and a homoglyph skeleton.

Everything here works on whole Arrow arrays with numpy; Python runs only per *distinct*
value where a transformation cannot be vectorised (IDNA decoding in `skeleton`).
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
#: odd multiplier of the polynomial string hash (a 64-bit prime close to 2**64 / phi)
_MULT = np.uint64(0x9E3779B97F4A7C15)
#: longest string the hash weights cover; DNS names are at most 253 characters in
#: presentation form, more with \DDD escapes
_MAX_LEN = 1024
#: seeds of the independent hashes of the distinct-count sketch
_SKETCH_SEEDS = np.array([0x51ED27 * (i + 1) + 0xA5A5 for i in range(64)], dtype=np.uint64)


@lru_cache(maxsize=1)
def _powers() -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.cumprod(np.full(_MAX_LEN, _MULT, dtype=np.uint64), dtype=np.uint64)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _string_buffers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64 [n+1], bytes uint8) of a string array; nulls read as ""."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1]
    data_buf = arr.buffers()[2]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets, data


def string_hash64(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of every string (null hashes as ""), vectorised: a polynomial hash
    over the bytes via one cumulative sum, then a bit mixer. Not cryptographic; used for
    sketches and Bloom filters."""
    offsets, data = _string_buffers(arr)
    start, end = offsets[:-1], offsets[1:]
    lengths = end - start
    if data.size == 0:
        return _mix(lengths.astype(np.uint64))
    base = int(start[0]) if len(start) else 0
    used = data[base : int(end[-1])] if len(end) else data[:0]
    # position of each byte inside its own string
    row = np.repeat(np.arange(len(lengths)), lengths)
    local = np.arange(used.size, dtype=np.int64) - (start - base)[row]
    weights = _powers()[np.minimum(local, _MAX_LEN - 1)]
    with np.errstate(over="ignore"):
        contrib = (used.astype(np.uint64) + np.uint64(1)) * weights
        cum = np.concatenate(([np.uint64(0)], np.cumsum(contrib, dtype=np.uint64)))
        h = cum[end - base] - cum[start - base]
    return _mix(h ^ lengths.astype(np.uint64))


def sketch_names(k: int, prefix: str = "h") -> list[str]:
    return [f"{prefix}{i}" for i in range(k)]


def sketch_columns(hashes: np.ndarray, k: int, prefix: str = "h") -> dict[str, pa.Array]:
    """The k columns of a distinct-count sketch for rows with these hashes: column i holds
    a uniform number in (0, 1) from the i-th independent hash of the row's value. The
    minimum of each column over a set of rows (a plain `min` aggregate, so it merges across
    batches and windows) estimates how many distinct values the set has (`estimate`)."""
    out = {}
    for i, name in enumerate(sketch_names(k, prefix)):
        mixed = _mix(hashes ^ _SKETCH_SEEDS[i])
        # top 52 bits → (0, 1); +0.5 keeps 0 out (the estimator takes a logarithm)
        out[name] = pa.array(((mixed >> np.uint64(12)).astype(np.float64) + 0.5) / 2.0**52)
    return out


def estimate(table: pa.Table, k: int, prefix: str = "h") -> np.ndarray:
    """Distinct values per row of a table holding the minima of a `sketch_columns` sketch.
    Each minimum m of D uniforms gives -ln(1 - m) ~ Exp(D); the sum of k of them is
    Gamma(k, D), so (k - 1) / sum is unbiased for D; relative error ≈ 1/sqrt(k - 2)."""
    if table.num_rows == 0:
        return np.zeros(0)
    mins = np.column_stack([table.column(c).to_numpy(zero_copy_only=False)
                            for c in sketch_names(k, prefix)])
    total = -np.log1p(-np.clip(mins, 0.0, 1.0 - 1e-16)).sum(axis=1)
    return (k - 1) / np.maximum(total, 1e-12)


def entropy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Shannon entropy (bits per character, over bytes) of every string; "" and null give 0.
    Vectorised: one sort of (row, byte) codes. Call it on distinct values."""
    offsets, data = _string_buffers(arr)
    start, end = offsets[:-1], offsets[1:]
    lengths = end - start
    n = len(lengths)
    out = np.zeros(n)
    if n == 0 or int(lengths.sum()) == 0:
        return out
    base = int(start[0])
    used = data[base : int(end[-1])]
    row = np.repeat(np.arange(n), lengths)
    codes, counts = np.unique(row * 256 + used.astype(np.int64), return_counts=True)
    owner = codes // 256
    p = counts / lengths[owner]
    np.add.at(out, owner, -p * np.log2(p))
    return out


# ------------------------------------------------------------------ homoglyph skeleton

# Latin lookalikes from Cyrillic, Greek and Armenian (a small subset of Unicode TR39
# confusables: the letters seen in homograph phishing), and the usual digit swaps.
_GLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ɡ": "g", "ո": "n", "ν": "v", "α": "a",
    "ο": "o", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "ε": "e", "ѵ": "v", "ӏ": "l",
    "ԛ": "q", "ԝ": "w", "ɩ": "i", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss",
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
})
#: letter pairs that read as one letter in most fonts
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def unicode_label(label: str) -> str:
    """An A-label (xn--…) decoded to Unicode with the Punycode codec (no IDNA validity
    rules: a mixed-script imitation is exactly what we want to see); else `label`."""
    if label.startswith("xn--"):
        try:
            return codecs.decode(label[4:].encode("ascii"), "punycode")
        except (UnicodeError, ValueError):
            return label
    return label


@lru_cache(maxsize=1 << 17)
def skeleton(label: str) -> str:
    """What a reader sees: Unicode form, compatibility-folded, accents dropped, homoglyphs
    and digit swaps replaced by Latin letters, look-alike pairs folded, hyphens dropped."""
    text = unicodedata.normalize("NFKD", unicode_label(label).lower())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_GLYPHS)
    for pair, letter in _PAIRS:
        text = text.replace(pair, letter)
    return text.replace("-", "").replace("_", "")


def distinct_values(values: pa.Array | pa.ChunkedArray
                    ) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(distinct values, row → distinct index, count, first row, last row) of a column:
    one hash pass (dictionary encoding) and numpy, much cheaper than a `group_by` when a
    detector only needs a count and the first and last occurrence per value. Null rows get
    index -1 and are not counted."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    n = len(encoded.dictionary)
    valid = idx >= 0
    rows = np.flatnonzero(valid)
    counts = np.bincount(idx[valid], minlength=n)
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    # assignments with repeated indices keep the last write: reversed order gives the first
    first[idx[rows[::-1]]] = rows[::-1]
    last[idx[rows]] = rows
    return encoded.dictionary, idx, counts, first, last


@dataclass(frozen=True)
class NameIndex:
    """The distinct query names of one batch column with their registered-domain parts."""

    names: pa.Array  # distinct names
    idx: np.ndarray  # row → distinct index (-1 for null)
    counts: np.ndarray
    first: np.ndarray  # first row of each distinct name
    last: np.ndarray
    sub: pa.Array  # subdomain part of each distinct name ("" none; null: no domain)
    label: pa.Array  # registered label of each distinct name (null: none)
    suffix: pa.Array
    domain: pa.Array  # label.suffix

    def per_row(self, values: pa.Array) -> pa.Array:
        """A per-distinct-name array spread back to the batch's rows (null rows null)."""
        return values.take(pa.array(self.idx, mask=self.idx < 0))


#: how many recent columns `name_index` remembers (a window's slice may hold several
#: batches, and every detector walks all of them before the next detector starts)
_CACHED = 8
#: the most recent columns indexed, and their indexes. Several detectors see the very same qname
#: buffers in one batch (the engine projects columns without copying), so the second asks
#: cost nothing. The cache holds a reference to the column, so its buffers cannot be freed
#: and their address reused while the entry lives; the key is the buffers' identity.
_LAST: list[tuple[tuple[int, int, int, int], pa.Array, NameIndex]] = []


def _key(arr: pa.Array) -> tuple[int, int, int, int]:
    offsets, data = arr.buffers()[1], arr.buffers()[2]
    return (offsets.address if offsets is not None else 0,
            data.address if data is not None else 0, arr.offset, len(arr))


def name_index(qname: pa.Array | pa.ChunkedArray) -> NameIndex:
    """`distinct_values` of a qname column plus `domains.split_names` of the distinct
    names; memoised for the most recent column (see `_LAST`)."""
    from bluelamp.domains import split_names

    if isinstance(qname, pa.ChunkedArray):
        qname = qname.combine_chunks() if qname.num_chunks != 1 else qname.chunk(0)
    key = _key(qname)
    for i, (k, arr, found) in enumerate(_LAST):
        if k == key and arr.type == qname.type:
            _LAST.insert(0, _LAST.pop(i))
            return found
    names, idx, counts, first, last = distinct_values(qname)
    sub, label, suffix = split_names(names)
    index = NameIndex(names, idx, counts, first, last, sub, label, suffix,
                      pc.binary_join_element_wise(label, suffix, "."))
    _LAST.insert(0, (key, qname, index))
    del _LAST[_CACHED:]
    return index
