"""Address ranges → CIDR prefixes.

RIR delegated files give IPv4 blocks as a start address and a count of addresses, which is not
always a power of two (e.g. 1536 addresses = a /23 + a /24), and ip2asn gives arbitrary
inclusive ranges; both become prefixes here. IPv4 is split for all ranges at once (one numpy
pass per block emitted per range, at most 32); IPv6 ranges are rarer and split with integers.
"""

from __future__ import annotations

import numpy as np

V4_TOP = np.uint64(1 << 32)


def split_v4(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inclusive IPv4 ranges → (network, prefix length, index of the range it came from)."""
    cur = np.asarray(start, dtype=np.uint64).copy()
    end = np.asarray(end, dtype=np.uint64)
    parent = np.arange(len(cur), dtype=np.int64)
    nets, lens, parents = [], [], []
    active = cur <= end
    while active.any():
        c, e, p = cur[active], end[active], parent[active]
        # Largest aligned block at c: its lowest set bit (c == 0 is aligned to everything).
        align = np.where(c == 0, V4_TOP, c & (~c + np.uint64(1)))
        remaining = e - c + np.uint64(1)
        # Largest power of two <= remaining; frexp is exact below 2**53.
        exp = np.frexp(remaining.astype(np.float64))[1] - 1
        fit = np.uint64(1) << exp.astype(np.uint64)
        size = np.minimum(align, fit)
        bits = np.frexp(size.astype(np.float64))[1] - 1
        nets.append(c)
        lens.append((32 - bits).astype(np.uint8))
        parents.append(p)
        cur[active] = c + size
        active = cur <= end
    if not nets:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.int64)
    return np.concatenate(nets), np.concatenate(lens), np.concatenate(parents)


def split_int_range(start: int, end: int, bits: int) -> list[tuple[int, int]]:
    """One inclusive range of `bits`-bit integers → [(network, prefix length)]."""
    out: list[tuple[int, int]] = []
    cur = start
    while cur <= end:
        align = (cur & -cur) if cur else 1 << bits
        fit = 1 << ((end - cur + 1).bit_length() - 1)
        size = min(align, fit)
        out.append((cur, bits - (size.bit_length() - 1)))
        cur += size
    return out
