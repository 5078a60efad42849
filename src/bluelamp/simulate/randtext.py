"""Random strings for simulated names, drawn from numpy generators (vectorised)."""

from __future__ import annotations

import numpy as np

LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
ALNUM = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
BASE32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", np.uint8)


def random_string(g: np.random.Generator, alphabet: np.ndarray, length: int) -> str:
    return alphabet[g.integers(0, len(alphabet), length)].tobytes().decode()


def random_strings(g: np.random.Generator, alphabet: np.ndarray, count: int, lo: int,
                   hi: int) -> list[str]:
    """`count` strings of lo..hi characters (inclusive), in one draw."""
    lengths = g.integers(lo, hi + 1, size=count)
    text = alphabet[g.integers(0, len(alphabet), int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths).tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
