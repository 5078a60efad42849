"""A Bloom filter of strings in one numpy bit array: the bounded memory of "have we seen
this registered domain before?" for the newly-observed-domain detector.

Sized for `capacity` items at a false-positive rate `fp_rate` (m = -n ln p / ln² 2 bits,
k = m/n ln 2 hashes; 2 M domains at 1 % take 2.4 MB). A false positive here means a new
domain is taken for an old one (a missed finding), never the reverse. Positions come from
one 64-bit string hash by double hashing (Kirsch-Mitzenmacher), all vectorised.
"""

from __future__ import annotations

import base64
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from bluelamp.detect.lexical import string_hash64


@dataclass
class SeenSet:
    capacity: int = 2_000_000
    fp_rate: float = 0.01
    bits: np.ndarray = field(init=False, repr=False)
    m: int = field(init=False)
    k: int = field(init=False)
    added: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.capacity < 1 or not 0 < self.fp_rate < 1:
            raise ValueError("SeenSet needs capacity >= 1 and 0 < fp_rate < 1")
        self.m = max(64, math.ceil(-self.capacity * math.log(self.fp_rate) / math.log(2) ** 2))
        self.k = max(1, round(self.m / self.capacity * math.log(2)))
        self.bits = np.zeros((self.m + 7) // 8, dtype=np.uint8)

    def _positions(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        h = string_hash64(values)
        h1 = h & np.uint64(0xFFFFFFFF)
        h2 = (h >> np.uint64(32)) | np.uint64(1)
        i = np.arange(self.k, dtype=np.uint64)
        with np.errstate(over="ignore"):
            pos = (h1[:, None] + i[None, :] * h2[:, None]) % np.uint64(self.m)
        return pos.astype(np.int64)

    def contains(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """True where a value was (probably) added before; False means certainly not."""
        if len(values) == 0:
            return np.zeros(0, dtype=bool)
        pos = self._positions(values)
        bit = (self.bits[pos >> 3] >> (pos & 7).astype(np.uint8)) & 1
        return np.asarray(bit.all(axis=1))

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        if len(values) == 0:
            return
        pos = self._positions(values).ravel()
        np.bitwise_or.at(self.bits, pos >> 3, (1 << (pos & 7)).astype(np.uint8))
        self.added += len(values)

    @property
    def saturated(self) -> bool:
        """More distinct values added than the filter was sized for (counted with repeats,
        so an upper bound)."""
        return self.added > self.capacity

    def to_text(self) -> str:
        """The filter as compact text (zlib + base64) for a checkpoint."""
        return base64.b64encode(zlib.compress(self.bits.tobytes(), 6)).decode("ascii")

    def load_text(self, text: str, added: int) -> bool:
        """Restore bits saved by `to_text` from a filter of the same size; False (and no
        change) when the sizes differ or the text is damaged."""
        try:
            bits = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8)
        except (ValueError, zlib.error):
            return False
        if bits.shape != self.bits.shape:
            return False
        self.bits = bits.copy()
        self.added = added
        return True
