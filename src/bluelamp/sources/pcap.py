"""pcap and pcapng captures of DNS over UDP and TCP port 53.

Link layers: Ethernet (with 802.1Q/802.1ad VLAN tags), Linux cooked capture SLL and SLL2,
raw IP (LINKTYPE_RAW, IPv4, IPv6) and BSD loopback. IPv4 fragments are skipped (counted in
one error). TCP streams are reassembled per direction, simply: segments are taken in
sequence order as they arrive, retransmitted bytes are dropped, a gap (lost segment) drops
the partial message and resynchronises on the next segment; each DNS message is found by its
2-byte length prefix.

The per-packet header walk is plain Python (struct); the DNS messages themselves are decoded
in bulk by `bluelamp.sources.dnswire.decode_messages` and paired into transactions by
`bluelamp.sources.pairing`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO

from bluelamp.errors import Location, RecordError
from bluelamp.sources.base import Chunk
from bluelamp.sources.pairing import Message, Pairer

DNS_PORT = 53
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000), b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
}  # magic -> (byte order, nanoseconds per unit of the fraction field)
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
MAX_PACKET = 262_144
MESSAGES_PER_BATCH = 100_000


@dataclass
class Packet:
    ts_us: int
    linktype: int
    data: bytes
    offset: int  # byte offset of the record in the (decompressed) capture


# ------------------------------------------------------------------------------------ files
class _Stream:
    """A forward-only buffered view on the input, with the absolute offset."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = b""
        self.pos = 0          # position in buf
        self.base = 0         # absolute offset of buf[0]

    def read(self, n: int) -> bytes | None:
        """Exactly n bytes, or None at end of input (a short tail is reported by callers)."""
        while len(self.buf) - self.pos < n:
            more = self.stream.read(max(1 << 20, n))
            if not more:
                return None
            self.buf = self.buf[self.pos:] + more
            self.base += self.pos
            self.pos = 0
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def remaining(self) -> int:
        return len(self.buf) - self.pos


class CaptureError(Exception):
    """The capture cannot be read further (bad header or record length)."""


def iter_pcap(s: _Stream) -> Iterator[Packet]:
    header = s.read(24)
    if header is None or header[:4] not in PCAP_MAGICS:
        raise CaptureError("not a pcap file header")
    order, ns_per_unit = PCAP_MAGICS[header[:4]]
    linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    while True:
        offset = s.offset
        head = s.read(16)
        if head is None:
            if s.remaining():
                raise CaptureError(f"capture ends inside a record header at byte {offset}")
            return
        sec, frac, incl, _orig = rec.unpack(head)
        if incl > MAX_PACKET:
            raise CaptureError(f"record at byte {offset} claims {incl} bytes; stopping")
        data = s.read(incl)
        if data is None:
            raise CaptureError(f"capture ends inside the packet record at byte {offset}")
        yield Packet(sec * 1_000_000 + frac * ns_per_unit // 1_000, linktype, data, offset)


@dataclass
class _Interface:
    linktype: int
    units_per_second: int = 1_000_000


def iter_pcapng(s: _Stream) -> Iterator[Packet]:
    order = "<"
    interfaces: list[_Interface] = []
    while True:
        offset = s.offset
        head = s.read(8)
        if head is None:
            if s.remaining():
                raise CaptureError(f"capture ends inside a block header at byte {offset}")
            return
        if head[:4] == PCAPNG_MAGIC:
            magic = s.read(4)
            if magic is None:
                raise CaptureError("capture ends inside the section header")
            order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
            body_len = struct.unpack(order + "I", head[4:8])[0] - 12
            interfaces = []
        else:
            body_len = struct.unpack(order + "I", head[4:8])[0] - 8
        btype = struct.unpack(order + "I", head[:4])[0]
        if body_len < 4 or body_len > MAX_PACKET + 4096 or body_len % 4:
            raise CaptureError(f"block at byte {offset} has a bad length; stopping")
        body = s.read(body_len)
        if body is None:
            raise CaptureError(f"capture ends inside the block at byte {offset}")
        body = body[:-4]  # trailing copy of the length
        if btype == 1:
            interfaces.append(_idb(body, order))
        elif btype in (6, 2):
            packet = _epb(body, order, btype, interfaces, offset)
            if packet is not None:
                yield packet


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


def _epb(body: bytes, order: str, btype: int, interfaces: list[_Interface], offset: int
         ) -> Packet | None:
    if btype == 6:
        iface_id, hi, lo, caplen = struct.unpack(order + "IIII", body[:16])
        start = 20
    else:  # obsolete Packet Block
        iface_id, _drops, hi, lo, caplen = struct.unpack(order + "HHIII", body[:16])
        start = 20
    if iface_id >= len(interfaces):
        return None
    iface = interfaces[iface_id]
    units = (hi << 32) | lo
    ts_us = units * 1_000_000 // iface.units_per_second
    return Packet(ts_us, iface.linktype, body[start:start + caplen], offset)


# ------------------------------------------------------------------------------ link and IP
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)


def network_layer(linktype: int, data: bytes) -> tuple[int, int] | None:
    """(ethertype, offset of the IP header) for the link types we know; None otherwise."""
    if linktype == 1:  # Ethernet
        pos, etype = 14, int.from_bytes(data[12:14], "big")
        while etype in VLAN_TYPES and len(data) >= pos + 4:
            etype, pos = int.from_bytes(data[pos + 2:pos + 4], "big"), pos + 4
        return etype, pos
    if linktype == 113:  # Linux SLL
        return int.from_bytes(data[14:16], "big"), 16
    if linktype == 276:  # Linux SLL2
        return int.from_bytes(data[0:2], "big"), 20
    if linktype in (101, 12, 14):  # raw IP
        version = data[0] >> 4 if data else 0
        return (ETH_IPV4 if version == 4 else ETH_IPV6), 0
    if linktype == 228:
        return ETH_IPV4, 0
    if linktype == 229:
        return ETH_IPV6, 0
    if linktype in (0, 108):  # BSD loopback: address family
        family = int.from_bytes(data[:4], "little" if linktype == 0 else "big")
        if family == 2:
            return ETH_IPV4, 4
        if family in (10, 24, 28, 30):
            return ETH_IPV6, 4
        return None
    return None


@dataclass
class Segment:
    src: bytes
    dst: bytes
    proto: int      # 6 TCP, 17 UDP
    l4: bytes       # transport header and payload


class Malformed(Exception):
    pass


def ip_layer(etype: int, data: bytes, pos: int) -> Segment | None:
    if etype == ETH_IPV4:
        if len(data) < pos + 20 or data[pos] >> 4 != 4:
            raise Malformed("truncated or bad IPv4 header")
        ihl = (data[pos] & 0x0F) * 4
        total = int.from_bytes(data[pos + 2:pos + 4], "big")
        frag = int.from_bytes(data[pos + 6:pos + 8], "big")
        if frag & 0x3FFF:
            raise _Fragment
        end = min(len(data), pos + total) if total >= ihl else len(data)
        return Segment(data[pos + 12:pos + 16], data[pos + 16:pos + 20], data[pos + 9],
                       data[pos + ihl:end])
    if etype == ETH_IPV6:
        if len(data) < pos + 40:
            raise Malformed("truncated IPv6 header")
        nxt = data[pos + 6]
        plen = int.from_bytes(data[pos + 4:pos + 6], "big")
        src, dst = data[pos + 8:pos + 24], data[pos + 24:pos + 40]
        end = min(len(data), pos + 40 + plen)
        p = pos + 40
        while nxt in (0, 43, 60, 44):
            if len(data) < p + 8:
                raise Malformed("truncated IPv6 extension header")
            if nxt == 44:
                raise _Fragment
            nxt, p = data[p], p + (data[p + 1] + 1) * 8
        return Segment(src, dst, nxt, data[p:end])
    return None


class _Fragment(Exception):
    pass


# ------------------------------------------------------------------------------------ TCP
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


# ---------------------------------------------------------------------------------- reader
class _Extractor:
    """Packets to DNS messages, with located errors."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tcp = TcpReassembler()
        self.fragments = 0
        self.unknown_links: set[int] = set()
        self.errors: list[RecordError] = []

    def messages(self, packet: Packet) -> list[Message]:
        layer = network_layer(packet.linktype, packet.data)
        if layer is None:
            self.unknown_links.add(packet.linktype)
            return []
        try:
            seg = ip_layer(layer[0], packet.data, layer[1])
            if seg is None:
                return []
            return self._transport(packet, seg)
        except _Fragment:
            self.fragments += 1
        except (Malformed, IndexError, struct.error) as exc:
            self.errors.append(RecordError(Location(self.source, offset=packet.offset),
                                           f"malformed packet: {exc}"))
        return []

    def _transport(self, packet: Packet, seg: Segment) -> list[Message]:
        l4 = seg.l4
        if seg.proto not in (6, 17) or len(l4) < 4:
            return []
        sport, dport = struct.unpack("!HH", l4[:4])
        if DNS_PORT not in (sport, dport):
            return []
        if seg.proto == 17:
            if len(l4) < 8:
                raise Malformed("truncated UDP header")
            return [Message(packet.ts_us, seg.src, sport, seg.dst, dport, "udp", l4[8:],
                            packet.offset)]
        if len(l4) < 20:
            raise Malformed("truncated TCP header")
        seq = int.from_bytes(l4[4:8], "big")
        data_off, flags = (l4[12] >> 4) * 4, l4[13]
        payloads = self.tcp.feed((seg.src, seg.dst, sport, dport), seq, flags, l4[data_off:])
        return [Message(packet.ts_us, seg.src, sport, seg.dst, dport, "tcp", p, packet.offset)
                for p in payloads]

    def summary(self) -> list[RecordError]:
        out = []
        if self.fragments:
            out.append(RecordError(Location(self.source),
                                   f"{self.fragments} IP fragments skipped (not reassembled)"))
        if self.tcp.gaps:
            out.append(RecordError(Location(self.source),
                                   f"{self.tcp.gaps} TCP gaps (lost segments): the DNS "
                                   "messages cut by them were skipped"))
        if self.unknown_links:
            kinds = ", ".join(str(k) for k in sorted(self.unknown_links))
            out.append(RecordError(Location(self.source),
                                   f"packets with unsupported link types skipped: {kinds}"))
        return out


class PcapReader:
    name = "pcap"
    description = "pcap or pcapng capture of DNS over UDP/TCP port 53 (gzip ok)"
    sniff_priority = 10

    def sniff(self, head: bytes) -> bool:
        return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        s = _Stream(stream)
        first = s.stream.peek(4)[:4] if hasattr(s.stream, "peek") else b""
        packets = iter_pcapng(s) if first == PCAPNG_MAGIC else iter_pcap(s)
        extractor = _Extractor(source)
        pairer = Pairer(source, PurePath(source).name)
        pending: list[Message] = []
        try:
            for packet in packets:
                pending += extractor.messages(packet)
                if len(pending) >= MESSAGES_PER_BATCH:
                    yield from self._emit(pairer.add(pending), extractor, batch_size)
                    pending = []
        except CaptureError as exc:
            extractor.errors.append(RecordError(Location(source, offset=s.offset), str(exc)))
        yield from self._emit(pairer.add(pending, final=True), extractor, batch_size,
                              final=True)

    def _emit(self, result: tuple[object, list[RecordError]], extractor: _Extractor,
              batch_size: int, final: bool = False) -> Iterator[Chunk]:
        import pyarrow as pa

        table, errors = result
        assert isinstance(table, pa.Table)
        errors = extractor.errors + errors + (extractor.summary() if final else [])
        extractor.errors = []
        batches = table.to_batches(max_chunksize=batch_size) if table.num_rows else []
        if not batches and errors:
            yield Chunk(None, errors)
        for i, batch in enumerate(batches):
            yield Chunk(batch, errors if i == 0 else [])


READERS = [PcapReader()]
