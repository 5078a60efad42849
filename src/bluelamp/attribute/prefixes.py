"""Vectorised longest-prefix match for IPv4 and IPv6.

A set of prefixes (possibly nested: a /16 with /24 more-specifics inside it, a /0 default) is
flattened once into sorted, non-overlapping elementary intervals, each owned by the most
specific prefix covering it. A lookup is then one `np.searchsorted` over the interval starts:
the interval holding the address is the last start <= address.

Flattening "paints" prefixes onto the intervals in order of increasing prefix length, one
numpy pass per distinct length (at most 33 for IPv4, 129 for IPv6), so more-specifics
overwrite their covering prefixes. Each prefix keeps its row number in the input: callers
hold the per-prefix attributes (ASN, organisation, country, ...) and index them with the
result of `lookup`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.attribute.addresses import (
    MAX_U64,
    V6_DTYPE,
    ParsedIPs,
    halves_to_v6,
    low_mask,
    parse_ips,
    v6_to_halves,
    v6_to_text,
)
from bluelamp.attribute.intmap import take_or_null
from bluelamp.textutil import is_decimal

NO_MATCH = -1


@dataclass(frozen=True)
class Intervals:
    """Sorted interval starts (first is always address 0) and the prefix row owning each."""

    starts: np.ndarray
    owner: np.ndarray

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.starts, addresses, side="right") - 1
        return self.owner[pos]


@dataclass(frozen=True)
class Prefixes:
    """Prefixes in columnar form: IPv4 networks (uint64) and IPv6 networks (S16), each with a
    prefix length and the row number it stands for in the caller's attribute table."""

    v4_net: np.ndarray
    v4_len: np.ndarray
    v4_row: np.ndarray
    v6_net: np.ndarray
    v6_len: np.ndarray
    v6_row: np.ndarray

    @classmethod
    def empty(cls) -> Prefixes:
        return cls(
            np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.int64),
            np.zeros(0, V6_DTYPE), np.zeros(0, np.uint8), np.zeros(0, np.int64),
        )

    @classmethod
    def from_cidrs(cls, cidrs: Sequence[str | None]) -> tuple[Prefixes, list[int]]:
        """Parse "addr/len" strings (row i → row number i); returns the prefixes and the
        positions of strings that are not valid prefixes."""
        addrs: list[str | None] = []
        lens: list[str] = []
        for text in cidrs:
            addr, _, length = (text or "").strip().partition("/")
            addrs.append(addr or None)
            lens.append(length)
        parsed = parse_ips(addrs)
        length_arr = np.zeros(len(lens), dtype=np.int64)
        ok = parsed.version > 0
        for i, length in enumerate(lens):
            # Written as IPv6 (even when IPv4-mapped) → lengths count 128 bits.
            written_v6 = ":" in (addrs[i] or "")
            maxlen = 128 if written_v6 else 32
            value = maxlen if length == "" else int(length) if is_decimal(length) else -1
            # An IPv4-mapped IPv6 prefix (::ffff:0:0/104) is an IPv4 prefix of length - 96.
            if written_v6 and parsed.version[i] == 4:
                value = value - 96 if value <= maxlen else -1
                maxlen = 32
            if not 0 <= value <= maxlen:
                ok[i] = False
            length_arr[i] = max(value, 0)
        bad = np.flatnonzero(~ok).tolist()
        return cls.from_parsed(parsed, length_arr, np.arange(len(cidrs)), ok), bad

    @classmethod
    def from_parsed(
        cls, parsed: ParsedIPs, lengths: np.ndarray, rows: np.ndarray, ok: np.ndarray | None = None
    ) -> Prefixes:
        ok = np.ones(len(parsed), dtype=bool) if ok is None else ok
        is4 = ok & (parsed.version == 4)
        is6 = ok & (parsed.version == 6)
        return cls(
            parsed.v4[is4], lengths[is4].astype(np.uint8), rows[is4].astype(np.int64),
            parsed.v6[is6], lengths[is6].astype(np.uint8), rows[is6].astype(np.int64),
        )

    @staticmethod
    def concat(parts: Sequence[Prefixes]) -> Prefixes:
        if not parts:
            return Prefixes.empty()
        return Prefixes(*(np.concatenate([getattr(p, f) for p in parts]) for f in (
            "v4_net", "v4_len", "v4_row", "v6_net", "v6_len", "v6_row")))

    def __len__(self) -> int:
        return len(self.v4_net) + len(self.v6_net)


class PrefixTable:
    """Longest-prefix match over a fixed set of IPv4 and IPv6 prefixes."""

    def __init__(self, prefixes: Prefixes) -> None:
        self.prefixes = prefixes
        self.v4 = _flatten_v4(prefixes.v4_net, prefixes.v4_len, prefixes.v4_row)
        self.v6 = _flatten_v6(prefixes.v6_net, prefixes.v6_len, prefixes.v6_row)
        # Row → position in `prefixes` (-1: not this family), to print the matched network.
        size = int(max(prefixes.v4_row.max(initial=-1), prefixes.v6_row.max(initial=-1))) + 1
        self._v4_pos = np.full(size, -1, dtype=np.int64)
        self._v4_pos[prefixes.v4_row] = np.arange(len(prefixes.v4_row))
        self._v6_pos = np.full(size, -1, dtype=np.int64)
        self._v6_pos[prefixes.v6_row] = np.arange(len(prefixes.v6_row))
        self._all_text: pa.Array | None = None  # every row's text, once asked for many

    def __len__(self) -> int:
        return len(self.prefixes)

    def lookup(self, parsed: ParsedIPs) -> np.ndarray:
        """Row number of the most specific prefix holding each address, or -1."""
        out = np.full(len(parsed), NO_MATCH, dtype=np.int64)
        is4 = parsed.version == 4
        if is4.any():
            out[is4] = self.v4.lookup(parsed.v4[is4])
        is6 = parsed.version == 6
        if is6.any():
            out[is6] = self.v6.lookup(parsed.v6[is6])
        return out

    def network_text(self, rows: np.ndarray) -> dict[int, str]:
        """CIDR text of the given prefix rows, as a dict (for small sets and tests)."""
        uniq = np.unique(rows[rows >= 0])
        texts = self.network_strings(uniq).to_pylist()
        return {int(r): t for r, t in zip(uniq.tolist(), texts, strict=True) if t is not None}

    def network_strings(self, rows: np.ndarray) -> pa.Array:
        """CIDR text per prefix row (null for -1).

        A call for many rows formats the whole table once and keeps it: a stream of event
        chunks then pays only a `take` per chunk."""
        rows = np.asarray(rows, dtype=np.int64)
        size = len(self._v4_pos)
        if self._all_text is None and len(rows) * 4 >= size > 0:
            self._all_text = self._format(np.arange(size))
        if self._all_text is not None:
            return take_or_null(self._all_text, np.where((rows >= 0) & (rows < size), rows, -1))
        return self._format(rows)

    def _format(self, rows: np.ndarray) -> pa.Array:
        """IPv4 is formatted with pyarrow.compute, IPv6 one by one with inet_ntop."""
        inside = (rows >= 0) & (rows < len(self._v4_pos))
        safe = np.where(inside, rows, 0)
        pos4 = np.where(inside, self._v4_pos[safe] if len(self._v4_pos) else -1, -1)
        pos6 = np.where(inside, self._v6_pos[safe] if len(self._v6_pos) else -1, -1)
        has4, has6 = np.flatnonzero(pos4 >= 0), np.flatnonzero(pos6 >= 0)
        text4 = format_v4(self.prefixes.v4_net[pos4[has4]], self.prefixes.v4_len[pos4[has4]])
        nets6 = v6_to_text(self.prefixes.v6_net[pos6[has6]])
        lens6 = self.prefixes.v6_len[pos6[has6]].tolist()
        text6 = pa.array([f"{n}/{ln}" for n, ln in zip(nets6, lens6, strict=True)],
                         type=pa.string())
        index = np.full(len(rows), -1, dtype=np.int64)
        index[has4] = np.arange(len(has4))
        index[has6] = len(has4) + np.arange(len(has6))
        return take_or_null(pa.concat_arrays([text4, text6]), index)


def format_v4(nets: np.ndarray, lens: np.ndarray) -> pa.Array:
    """"a.b.c.d/len" for arrays of IPv4 networks and lengths, without a Python loop."""
    nets = np.asarray(nets, dtype=np.uint64)
    parts = [pa.array(((nets >> np.uint64(s)) & np.uint64(255)).astype(np.uint8)).cast(
        pa.string()) for s in (24, 16, 8, 0)]
    addr = pc.binary_join_element_wise(*parts, ".")
    return pc.binary_join_element_wise(
        addr, pa.array(np.asarray(lens, dtype=np.uint8)).cast(pa.string()), "/")


def _flatten_v4(net: np.ndarray, length: np.ndarray, row: np.ndarray) -> Intervals:
    host = (np.uint64(1) << (32 - length.astype(np.uint64))) - np.uint64(1)
    start = net.astype(np.uint64) & ~host & np.uint64(0xFFFF_FFFF)
    stop = start + host + np.uint64(1)  # exclusive; 2**32 fits in uint64
    bounds = np.unique(np.concatenate([np.zeros(1, np.uint64), start, stop]))
    bounds = bounds[bounds < np.uint64(1 << 32)]
    s_idx = np.searchsorted(bounds, start)
    e_idx = np.searchsorted(bounds, stop)
    return _paint(bounds, s_idx, e_idx, length, row)


def _flatten_v6(net: np.ndarray, length: np.ndarray, row: np.ndarray) -> Intervals:
    hi, lo = v6_to_halves(net)
    bits = length.astype(np.int64)
    hi_host = low_mask(np.clip(64 - bits, 0, 64))
    lo_host = low_mask(np.clip(128 - bits, 0, 64))
    hi, lo = hi & ~hi_host, lo & ~lo_host
    end_hi, end_lo = hi | hi_host, lo | lo_host
    # stop = end + 1, with carry; the prefix reaching the top of the space has no stop.
    carry = end_lo == MAX_U64
    stop_lo = end_lo + np.uint64(1)
    stop_hi = end_hi + carry.astype(np.uint64)
    top = carry & (end_hi == MAX_U64)
    start = halves_to_v6(hi, lo)
    stop = halves_to_v6(stop_hi[~top], stop_lo[~top])
    bounds = np.unique(np.concatenate([np.zeros(1, V6_DTYPE), start, stop]))
    s_idx = np.searchsorted(bounds, start)
    e_idx = np.full(len(start), len(bounds), dtype=np.int64)
    e_idx[~top] = np.searchsorted(bounds, stop)
    return _paint(bounds, s_idx, e_idx, length, row)


def _paint(
    bounds: np.ndarray, s_idx: np.ndarray, e_idx: np.ndarray, length: np.ndarray, row: np.ndarray
) -> Intervals:
    """Assign each elementary interval to its most specific prefix, then merge neighbours
    that ended up with the same owner."""
    owner = np.full(len(bounds), NO_MATCH, dtype=np.int64)
    for plen in np.unique(length):
        sel = np.flatnonzero(length == plen)  # input order: a later duplicate wins
        counts = (e_idx[sel] - s_idx[sel]).astype(np.int64)
        total = int(counts.sum())
        if total == 0:
            continue
        first = np.repeat(s_idx[sel], counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        owner[first + offset] = np.repeat(row[sel], counts)
    keep = np.ones(len(owner), dtype=bool)
    keep[1:] = owner[1:] != owner[:-1]
    return Intervals(bounds[keep], owner[keep])
