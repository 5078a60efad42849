"""pcap and pcapng containers, read in large blocks into arrays of packet locations.

The record walk is sequential by nature (each record says how long it is), so it is a
tight Python loop over record headers only; the packet bytes are never copied: a
`PacketBatch` points into the block it was read from, for the vectorised link/IP/UDP parse
in `bluelamp.sources.pcap`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000), b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
}  # magic -> (byte order, nanoseconds per unit of the fraction field)
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
MAX_PACKET = 262_144
READ_BYTES = 16 << 20


class CaptureError(Exception):
    """The capture cannot be read further (bad header, record length, or a cut record).
    `offset` is the byte offset of the offending record."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass
class PacketBatch:
    """Packets i = data[starts[i]:starts[i] + lengths[i]], captured at ts_us[i] on a link of
    type linktypes[i]; offsets[i] is the record's byte offset in the file."""

    data: bytes
    starts: np.ndarray
    lengths: np.ndarray
    ts_us: np.ndarray
    linktypes: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.starts.size)

    def packet(self, i: int) -> bytes:
        s = int(self.starts[i])
        return self.data[s:s + int(self.lengths[i])]


def _u32(a: np.ndarray, idx: np.ndarray, order: str) -> np.ndarray:
    """Unaligned 32-bit integers at byte offsets `idx` of `a` (uint8)."""
    b = [a[idx + k].astype(np.int64) for k in range(4)]
    if order == "<":
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


def _pcap_batch(data: bytes, positions: list[int], base: int, order: str, ns_per_unit: int,
                linktype: int) -> PacketBatch:
    """Record headers at `positions`, gathered with numpy."""
    a = np.frombuffer(data, np.uint8)
    p = np.array(positions, np.int64)
    sec, frac, incl = _u32(a, p, order), _u32(a, p + 4, order), _u32(a, p + 8, order)
    return PacketBatch(data, p + 16, incl, sec * 1_000_000 + frac * ns_per_unit // 1_000,
                       np.full(p.size, linktype, np.int64), p + base)


def iter_pcap(stream: BinaryIO) -> Iterator[PacketBatch]:
    header = stream.read(24)
    if len(header) < 24 or header[:4] not in PCAP_MAGICS:
        raise CaptureError("not a pcap file header", 0)
    order, ns_per_unit = PCAP_MAGICS[header[:4]]
    linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
    incl_at = struct.Struct(order + "I").unpack_from
    data, base = b"", 24
    while True:
        more = stream.read(READ_BYTES)
        data += more
        # the walk is sequential: only find where records start, gather the rest after
        positions: list[int] = []
        keep, pos, n, bad = positions.append, 0, len(data), None
        while pos + 16 <= n:
            incl = incl_at(data, pos + 8)[0]
            if incl > MAX_PACKET:
                bad = pos
                break
            if pos + 16 + incl > n:
                break
            keep(pos)
            pos += 16 + incl
        if positions:
            yield _pcap_batch(data, positions, base, order, ns_per_unit, linktype)
        if bad is not None:
            raise CaptureError(f"record claims {incl} bytes; stopping", base + bad)
        data, base = data[pos:], base + pos
        if not more:
            if data:
                raise CaptureError("capture ends inside a packet record", base)
            return


@dataclass
class _Interface:
    linktype: int
    units_per_second: int = 1_000_000


def iter_pcapng(stream: BinaryIO) -> Iterator[PacketBatch]:
    """Enhanced Packet Blocks of every section and interface (Simple and obsolete Packet
    Blocks carry no usable time or interface and are ignored)."""
    order = "<"
    interfaces: list[_Interface] = []  # of every section so far
    section = 0                        # index of the current section's first interface
    data, base = b"", 0
    while True:
        more = stream.read(READ_BYTES)
        data += more
        epbs: list[tuple[int, int]] = []  # (block position, interface index)
        pos, n = 0, len(data)
        while pos + 12 <= n:
            if data[pos:pos + 4] == PCAPNG_MAGIC:
                if epbs:  # a new section may switch byte order: flush first
                    yield _pcapng_batch(data, epbs, base, order, interfaces)
                    epbs = []
                order = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                section = len(interfaces)
            btype, total = struct.unpack_from(order + "II", data, pos)
            if total < 12 or total > MAX_PACKET + 4096 or total % 4:
                if epbs:
                    yield _pcapng_batch(data, epbs, base, order, interfaces)
                raise CaptureError("block has a bad length; stopping", base + pos)
            if pos + total > n:
                break
            if btype == 6 and total >= 32:
                iface = struct.unpack_from(order + "I", data, pos + 8)[0]
                if section + iface < len(interfaces):
                    epbs.append((pos, section + iface))
            elif btype == 1:
                interfaces.append(_idb(data[pos + 8:pos + total - 4], order))
            pos += total
        if epbs:
            yield _pcapng_batch(data, epbs, base, order, interfaces)
        data, base = data[pos:], base + pos
        if not more:
            if data:
                raise CaptureError("capture ends inside a block", base)
            return


def _pcapng_batch(data: bytes, epbs: list[tuple[int, int]], base: int, order: str,
                  interfaces: list[_Interface]) -> PacketBatch:
    a = np.frombuffer(data, np.uint8)
    p = np.array([e[0] for e in epbs], np.int64)
    iface = np.array([e[1] for e in epbs], np.int64)
    total = _u32(a, p + 4, order)
    raw = (_u32(a, p + 12, order) << 32) | _u32(a, p + 16, order)
    ups = np.array([i.units_per_second for i in interfaces], np.int64)[iface]
    # split to stay inside int64: whole seconds, then the fraction
    ts_us = (raw // ups) * 1_000_000 + (raw % ups) * 1_000_000 // ups
    caplen = np.minimum(_u32(a, p + 20, order), total - 32)
    links = np.array([i.linktype for i in interfaces], np.int64)[iface]
    return PacketBatch(data, p + 28, caplen, ts_us, links, p + base)


def _idb(body: bytes, order: str) -> _Interface:
    linktype = struct.unpack(order + "H", body[:2])[0]
    iface = _Interface(linktype)
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack(order + "HH", body[pos:pos + 4])
        if code == 0:
            break
        if code == 9 and length >= 1:  # if_tsresol
            v = body[pos + 4]
            iface.units_per_second = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
        pos += 4 + (length + 3) // 4 * 4
    return iface


def iter_capture(stream: BinaryIO, head: bytes) -> Iterator[PacketBatch]:
    return iter_pcapng(stream) if head[:4] == PCAPNG_MAGIC else iter_pcap(stream)
