"""pcap and pcapng captures of DNS over UDP and TCP port 53.

Link layers: Ethernet (up to two 802.1Q/802.1ad VLAN tags), Linux cooked capture SLL and
SLL2, raw IP (LINKTYPE_RAW, IPv4, IPv6) and BSD loopback. IP fragments are skipped (counted
in one error). TCP streams are reassembled per direction, simply: segments are taken in
sequence order as they arrive, retransmitted bytes are dropped, a gap (lost segment) drops
the partial message and resynchronises on the next segment; each DNS message is found by its
2-byte length prefix.

The common case (UDP over Ethernet/SLL/SLL2/raw IPv4 or IPv6) is parsed for a whole block of
packets at once with numpy; TCP, loopback, IPv6 extension headers, fragments and malformed
packets take a per-packet Python path, which also names the bad ones. DNS messages are
decoded in bulk by `bluelamp.sources.dnswire.decode_messages` and paired into transactions
by `bluelamp.sources.pairing`.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from bluelamp.errors import Location, RecordError
from bluelamp.sources.base import Chunk
from bluelamp.sources.pairing import I64, MessageBatch, Pairer, concat
from bluelamp.sources.pcapfile import (
    PCAP_MAGICS,
    PCAPNG_MAGIC,
    CaptureError,
    PacketBatch,
    iter_capture,
)
from bluelamp.sources.textblocks import ErrorLog

DNS_PORT = 53
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
RAW_LINKS = (101, 12, 14)
IPV6_EXTENSIONS = (0, 43, 44, 60)
V4_PREFIX = bytes(10) + b"\xff\xff"


# ----------------------------------------------------------------------- vectorised path
class _Gather:
    """Bounded gathers from the block (reads past the end return the last byte; callers
    check lengths themselves)."""

    def __init__(self, data: bytes) -> None:
        self.a = np.frombuffer(data, np.uint8) if data else np.zeros(1, np.uint8)
        self.last = self.a.size - 1

    def u8(self, idx: np.ndarray) -> np.ndarray:
        return self.a[np.minimum(idx, self.last)].astype(I64)

    def u16(self, idx: np.ndarray) -> np.ndarray:
        return (self.u8(idx) << 8) | self.u8(idx + 1)

    def bytes16(self, idx: np.ndarray, width: int) -> np.ndarray:
        """(n, 16) addresses: `width` bytes at idx, right-aligned after the IPv4 prefix."""
        out = np.zeros((idx.size, 16), np.uint8)
        cols = idx[:, None] + np.arange(width)
        out[:, 16 - width:] = self.a[np.minimum(cols, self.last)]
        if width == 4:
            out[:, 10:12] = 0xFF
        return out


@dataclass
class _Layers:
    l3: np.ndarray
    l4: np.ndarray
    end: np.ndarray
    proto: np.ndarray
    v4: np.ndarray
    v6: np.ndarray
    ip_ok: np.ndarray
    slow: np.ndarray


def _link(g: _Gather, b: PacketBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ethertype and IP header offset per packet, and which link types are handled here."""
    s, lt = b.starts, b.linktypes
    n = s.size
    etype = np.full(n, -1, I64)
    l3 = s.copy()
    eth = lt == 1
    etype = np.where(eth, g.u16(s + 12), etype)
    l3 = np.where(eth, s + 14, l3)
    for _ in range(2):
        tagged = eth & np.isin(etype, VLAN_TYPES)
        etype = np.where(tagged, g.u16(l3 + 2), etype)
        l3 = np.where(tagged, l3 + 4, l3)
    for code, off, hdr in ((113, 14, 16), (276, 0, 20)):
        mine = lt == code
        etype = np.where(mine, g.u16(s + off), etype)
        l3 = np.where(mine, s + hdr, l3)
    raw = np.isin(lt, RAW_LINKS)
    version = g.u8(s) >> 4
    etype = np.where(raw, np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6,
                                                                      -1)), etype)
    etype = np.where(lt == 228, ETH_IPV4, np.where(lt == 229, ETH_IPV6, etype))
    known = eth | np.isin(lt, (113, 276, 228, 229, *RAW_LINKS))
    return etype, l3, known


def _layers(g: _Gather, b: PacketBatch) -> _Layers:
    etype, l3, known = _link(g, b)
    end = b.starts + b.lengths
    v4 = known & (etype == ETH_IPV4)
    v6 = known & (etype == ETH_IPV6)
    first = g.u8(l3)
    ihl = (first & 0x0F) * 4
    total = g.u16(l3 + 2)
    v4_ok = v4 & (l3 + 20 <= end) & (first >> 4 == 4) & (ihl >= 20)
    unfragmented = (g.u16(l3 + 6) & 0x3FFF) == 0
    proto6 = g.u8(l3 + 6)
    v6_ok = v6 & (l3 + 40 <= end) & (first >> 4 == 6)
    simple6 = ~np.isin(proto6, IPV6_EXTENSIONS)
    proto = np.where(v4, g.u8(l3 + 9), proto6)
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    ip_end = np.where(v4, np.where(total >= ihl, np.minimum(end, l3 + total), end),
                      np.minimum(end, l3 + 40 + g.u16(l3 + 4)))
    ip_ok = (v4_ok & unfragmented) | (v6_ok & simple6)
    # what the per-packet path must look at: unknown links, anything odd at the IP layer,
    # and TCP (reassembly is sequential)
    slow = (~known | (v4 & ~(v4_ok & unfragmented)) | (v6 & ~(v6_ok & simple6))
            | (ip_ok & (proto == 6)) | (ip_ok & (proto == 17) & (l4 + 8 > ip_end)))
    return _Layers(l3, l4, ip_end, proto, v4, v6, ip_ok, slow)


def _addresses(g: _Gather, l3: np.ndarray, v4: np.ndarray, off4: int, off6: int
               ) -> np.ndarray:
    out = np.zeros((l3.size, 16), np.uint8)
    out[v4] = g.bytes16(l3[v4] + off4, 4)
    out[~v4] = g.bytes16(l3[~v4] + off6, 16)
    return out


def fast_udp(b: PacketBatch) -> tuple[MessageBatch, np.ndarray, np.ndarray]:
    """DNS-over-UDP messages of the simple packets, their packet indices, and the indices of
    the packets left for the per-packet path."""
    g = _Gather(b.data)
    ly = _layers(g, b)
    sport, dport = g.u16(ly.l4), g.u16(ly.l4 + 2)
    dns = (ly.ip_ok & ~ly.slow & (ly.proto == 17)
           & ((sport == DNS_PORT) | (dport == DNS_PORT)))
    idx = np.flatnonzero(dns)
    v4 = ly.v4[idx]
    l3 = ly.l3[idx]
    src, dst = _addresses(g, l3, v4, 12, 8), _addresses(g, l3, v4, 16, 24)
    msgs = MessageBatch(b.data, ly.l4[idx] + 8, ly.end[idx], b.ts_us[idx], src, dst, v4,
                        sport[idx], dport[idx], np.zeros(idx.size, bool), b.offsets[idx])
    return msgs, idx, np.flatnonzero(ly.slow)


# ----------------------------------------------------------------------- per-packet path
@dataclass
class Segment:
    src: bytes
    dst: bytes
    proto: int      # 6 TCP, 17 UDP
    l4: bytes       # transport header and payload


class Malformed(Exception):
    pass


class _Fragment(Exception):
    pass


def network_layer(linktype: int, data: bytes) -> tuple[int, int] | None:
    """(ethertype, offset of the IP header) for the link types we know; None otherwise."""
    if linktype == 1:
        pos, etype = 14, int.from_bytes(data[12:14], "big")
        while etype in VLAN_TYPES and len(data) >= pos + 4:
            etype, pos = int.from_bytes(data[pos + 2:pos + 4], "big"), pos + 4
        return etype, pos
    if linktype == 113:
        return int.from_bytes(data[14:16], "big"), 16
    if linktype == 276:
        return int.from_bytes(data[0:2], "big"), 20
    if linktype in RAW_LINKS:
        return (ETH_IPV4 if data and data[0] >> 4 == 4 else ETH_IPV6), 0
    if linktype in (228, 229):
        return (ETH_IPV4 if linktype == 228 else ETH_IPV6), 0
    if linktype in (0, 108):  # BSD loopback: address family
        family = int.from_bytes(data[:4], "little" if linktype == 0 else "big")
        if family == 2:
            return ETH_IPV4, 4
        if family in (10, 24, 28, 30):
            return ETH_IPV6, 4
    return None


def ip_layer(etype: int, data: bytes, pos: int) -> Segment | None:
    if etype == ETH_IPV4:
        if len(data) < pos + 20 or data[pos] >> 4 != 4 or data[pos] & 0x0F < 5:
            raise Malformed("truncated or bad IPv4 header")
        ihl = (data[pos] & 0x0F) * 4
        total = int.from_bytes(data[pos + 2:pos + 4], "big")
        if int.from_bytes(data[pos + 6:pos + 8], "big") & 0x3FFF:
            raise _Fragment
        end = min(len(data), pos + total) if total >= ihl else len(data)
        return Segment(data[pos + 12:pos + 16], data[pos + 16:pos + 20], data[pos + 9],
                       data[pos + ihl:end])
    if etype == ETH_IPV6:
        if len(data) < pos + 40 or data[pos] >> 4 != 6:
            raise Malformed("truncated or bad IPv6 header")
        nxt = data[pos + 6]
        end = min(len(data), pos + 40 + int.from_bytes(data[pos + 4:pos + 6], "big"))
        p = pos + 40
        while nxt in IPV6_EXTENSIONS:
            if len(data) < p + 8:
                raise Malformed("truncated IPv6 extension header")
            if nxt == 44:
                raise _Fragment
            nxt, p = data[p], p + (data[p + 1] + 1) * 8
        return Segment(data[pos + 8:pos + 24], data[pos + 24:pos + 40], nxt, data[p:end])
    return None


@dataclass
class _Flow:
    next_seq: int | None = None
    buf: bytearray = field(default_factory=bytearray)


class TcpReassembler:
    """Per-direction reassembly of DNS-over-TCP (RFC 7766: 2-byte length prefix)."""

    def __init__(self) -> None:
        self.flows: dict[tuple[bytes, bytes, int, int], _Flow] = {}
        self.gaps = 0

    def feed(self, key: tuple[bytes, bytes, int, int], seq: int, flags: int, payload: bytes
             ) -> list[bytes]:
        flow = self.flows.setdefault(key, _Flow())
        if flags & 0x02:  # SYN
            flow.next_seq, flow.buf = (seq + 1) & 0xFFFFFFFF, bytearray()
        if payload:
            self._add(flow, seq, payload)
        messages = []
        while len(flow.buf) >= 2:
            length = int.from_bytes(flow.buf[:2], "big")
            if len(flow.buf) < 2 + length:
                break
            messages.append(bytes(flow.buf[2:2 + length]))
            del flow.buf[:2 + length]
        if flags & 0x05:  # FIN or RST: the flow is over
            self.flows.pop(key, None)
        return messages

    def _add(self, flow: _Flow, seq: int, payload: bytes) -> None:
        if flow.next_seq is None:
            flow.next_seq = seq
        ahead = (seq - flow.next_seq) & 0xFFFFFFFF
        if ahead == 0:
            flow.buf += payload
        elif ahead >= 0x80000000:  # before next_seq: retransmission, keep only new bytes
            behind = 0x100000000 - ahead
            if behind >= len(payload):
                return
            flow.buf += payload[behind:]
        else:  # a gap: the partial message is lost; resynchronise here
            self.gaps += 1
            flow.buf = bytearray(payload)
        flow.next_seq = (seq + len(payload)) & 0xFFFFFFFF


@dataclass
class _Slow:
    """Messages found by the per-packet path, as columns."""

    payloads: list[bytes] = field(default_factory=list)
    packet: list[int] = field(default_factory=list)
    src: list[bytes] = field(default_factory=list)
    dst: list[bytes] = field(default_factory=list)
    sport: list[int] = field(default_factory=list)
    dport: list[int] = field(default_factory=list)
    tcp: list[bool] = field(default_factory=list)

    def batch(self, b: PacketBatch) -> MessageBatch:
        if not self.payloads:
            return MessageBatch.empty()
        lengths = np.array([len(p) for p in self.payloads], I64)
        ends = np.cumsum(lengths)
        pkt = np.array(self.packet, I64)
        v4 = np.array([len(a) == 4 for a in self.src], bool)

        def addrs(values: list[bytes]) -> np.ndarray:
            padded = b"".join(V4_PREFIX + a if len(a) == 4 else a for a in values)
            return np.frombuffer(padded, np.uint8).reshape(-1, 16).copy()

        return MessageBatch(b"".join(self.payloads), ends - lengths, ends, b.ts_us[pkt],
                            addrs(self.src), addrs(self.dst), v4,
                            np.array(self.sport, I64), np.array(self.dport, I64),
                            np.array(self.tcp, bool), b.offsets[pkt])


class _Extractor:
    """The per-packet path, with located errors."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tcp = TcpReassembler()
        self.fragments = 0
        self.unknown_links: set[int] = set()
        self.errors: list[RecordError] = []

    def packets(self, b: PacketBatch, indices: np.ndarray) -> tuple[MessageBatch, np.ndarray]:
        out = _Slow()
        for i in indices.tolist():
            self._packet(b, i, out)
        return out.batch(b), np.array(out.packet, I64)

    def _packet(self, b: PacketBatch, i: int, out: _Slow) -> None:
        data = b.packet(i)
        layer = network_layer(int(b.linktypes[i]), data)
        if layer is None:
            self.unknown_links.add(int(b.linktypes[i]))
            return
        try:
            seg = ip_layer(layer[0], data, layer[1])
            if seg is not None:
                self._transport(i, seg, out)
        except _Fragment:
            self.fragments += 1
        except (Malformed, IndexError, struct.error) as exc:
            self.errors.append(RecordError(Location(self.source, offset=int(b.offsets[i])),
                                           f"malformed packet: {exc}"))

    def _transport(self, i: int, seg: Segment, out: _Slow) -> None:
        l4 = seg.l4
        if seg.proto not in (6, 17) or len(l4) < 4:
            return
        sport, dport = struct.unpack("!HH", l4[:4])
        if DNS_PORT not in (sport, dport):
            return
        if seg.proto == 17:
            if len(l4) < 8:
                raise Malformed("truncated UDP header")
            payloads = [l4[8:]]
        else:
            if len(l4) < 20:
                raise Malformed("truncated TCP header")
            seq = int.from_bytes(l4[4:8], "big")
            payloads = self.tcp.feed((seg.src, seg.dst, sport, dport), seq, l4[13],
                                     l4[(l4[12] >> 4) * 4:])
        for p in payloads:
            out.payloads.append(p)
            out.packet.append(i)
            out.src.append(seg.src)
            out.dst.append(seg.dst)
            out.sport.append(sport)
            out.dport.append(dport)
            out.tcp.append(seg.proto == 6)

    def take_errors(self, final: bool) -> list[RecordError]:
        errors, self.errors = self.errors, []
        if not final:
            return errors
        if self.fragments:
            errors.append(RecordError(Location(self.source),
                                      f"{self.fragments} IP fragments skipped (not reassembled)"))
        if self.tcp.gaps:
            errors.append(RecordError(Location(self.source),
                                      f"{self.tcp.gaps} TCP gaps (lost segments): the DNS "
                                      "messages cut by them were skipped"))
        if self.unknown_links:
            kinds = ", ".join(str(k) for k in sorted(self.unknown_links))
            errors.append(RecordError(Location(self.source),
                                      f"packets with unsupported link types skipped: {kinds}"))
        return errors


def messages(b: PacketBatch, extractor: _Extractor) -> MessageBatch:
    """All DNS messages of a packet batch, in capture order."""
    fast, fast_pkt, slow_idx = fast_udp(b)
    if not slow_idx.size:
        return fast
    slow, slow_pkt = extractor.packets(b, slow_idx)
    both = concat([fast, slow])
    order = np.argsort(np.concatenate([fast_pkt, slow_pkt]), kind="stable")
    return both.take(order)


# ---------------------------------------------------------------------------------- reader
class PcapReader:
    name = "pcap"
    description = "pcap or pcapng capture of DNS over UDP/TCP port 53 (gzip ok)"
    sniff_priority = 10

    def sniff(self, head: bytes) -> bool:
        return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
            stream)  # type: ignore[type-var]
        head = buffered.peek(4)[:4]
        stream = buffered
        extractor = _Extractor(source)
        pairer = Pairer(source, PurePath(source).name)
        log = ErrorLog(source)
        try:
            for packets in iter_capture(stream, head):
                table, errors = pairer.add(messages(packets, extractor))
                errors = log.admit(_by_offset(extractor.take_errors(False) + errors))
                yield from _chunks(table, errors, batch_size)
        except CaptureError as exc:
            extractor.errors.append(RecordError(Location(source, offset=exc.offset), str(exc)))
        table, errors = pairer.add(MessageBatch.empty(), final=True)
        errors = log.admit(_by_offset(extractor.take_errors(True) + errors)) + log.summary()
        yield from _chunks(table, errors, batch_size)


def _by_offset(errors: list[RecordError]) -> list[RecordError]:
    return sorted(errors, key=lambda e: (e.location.offset is None, e.location.offset or 0))


def _chunks(table: pa.Table, errors: list[RecordError], batch_size: int) -> Iterator[Chunk]:
    batches = table.to_batches(max_chunksize=batch_size) if table.num_rows else []
    if not batches and errors:
        yield Chunk(None, errors)
    for i, batch in enumerate(batches):
        yield Chunk(batch, errors if i == 0 else [])


READERS = [PcapReader()]
