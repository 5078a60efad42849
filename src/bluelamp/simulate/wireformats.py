"""Binary writers: classic libpcap (Ethernet, IPv4/IPv6, UDP, DNS) and dnstap (Frame
Streams, CLIENT_QUERY and CLIENT_RESPONSE messages).

Each row becomes a query and, when the row has an rcode, a response `rtt` later. DNS
messages are built with `dnsenc`, cached per distinct question/answer (only the 16-bit id
differs between packets). Rows whose transport is not UDP are still written as UDP
datagrams (the simulator emits UDP only).
"""

from __future__ import annotations

import socket
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.simulate import dnsenc, rowmeta
from bluelamp.sources.fstrm import FrameWriter

CLIENT_QUERY, CLIENT_RESPONSE = 5, 6
VERSION = b"bluelamp-simulate"
#: DNSSEC-validating forwarders set the DO bit on what they send
_DO_TYPES = frozenset({43, 48})
_RESOLVER_MAC = bytes.fromhex("02b10e1a0053")
_CACHE_LIMIT = 500_000
_BIG_ENDIAN = sys.byteorder == "big"


@dataclass
class Exchange:
    """One row as wire messages."""

    ts_us: int
    rtt_us: int
    client: bytes        # packed address
    server: bytes
    port: int
    query: bytes
    response: bytes | None


class MessageCache:
    """Encoded DNS messages without their id, per distinct content."""

    def __init__(self) -> None:
        self.queries: dict[tuple[str, int], bytes] = {}
        self.responses: dict[tuple[str, int, int, str, int], bytes] = {}

    def exchanges(self, table: pa.Table) -> Iterator[Exchange]:
        if len(self.queries) > _CACHE_LIMIT:
            self.queries.clear()
        if len(self.responses) > _CACHE_LIMIT:
            self.responses.clear()
        h = rowmeta.row_hash(table)
        txid, rtt = rowmeta.txids(h).tolist(), rowmeta.rtts_us(h).tolist()
        joined = pc.fill_null(pc.binary_join(table.column("answers"), "\x1f"), "").to_pylist()
        columns = [table.column(c).to_pylist() for c in
                   ("client", "server", "client_port", "qname", "qtype", "rcode", "ttl")]
        ts_us = table.column("ts").cast(pa.int64()).to_pylist()
        packed = _Packer()
        for i, (client, server, port, qname, qtype, rcode, ttl) in enumerate(zip(
                *columns, strict=True)):
            qtype = qtype or 1
            qkey = (qname, qtype)
            qbody = self.queries.get(qkey)
            if qbody is None:
                qbody = self.queries[qkey] = dnsenc.encode_query(
                    0, qname, qtype, do=qtype in _DO_TYPES)[2:]
            response = None
            if rcode is not None:
                answers = joined[i]
                rkey = (qname, qtype, rcode, answers, ttl or 0)
                rbody = self.responses.get(rkey)
                if rbody is None:
                    rbody = self.responses[rkey] = dnsenc.encode_response(
                        0, qname, qtype, rcode, answers.split("\x1f") if answers else (),
                        ttl)[2:]
                response = struct.pack("!H", txid[i]) + rbody
            c, s = packed.pair(client, server)
            yield Exchange(ts_us[i], rtt[i], c, s, port or 0,
                           struct.pack("!H", txid[i]) + qbody, response)


class _Packer:
    """Packed addresses, with the server mapped into the client's family if needed."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}

    def one(self, text: str) -> bytes:
        hit = self._cache.get(text)
        if hit is None:
            family = socket.AF_INET6 if ":" in text else socket.AF_INET
            hit = self._cache[text] = socket.inet_pton(family, text)
        return hit

    def pair(self, client: str | None, server: str | None) -> tuple[bytes, bytes]:
        c = self.one(client or "0.0.0.0")
        s = self.one(server or ("::" if len(c) == 16 else "0.0.0.0"))
        if len(c) != len(s):  # e.g. an IPv6 client and an IPv4 server: use a mapped one
            c, s = (b"\0" * 10 + b"\xff\xff" + x if len(x) == 4 else x for x in (c, s))
        return c, s


# ------------------------------------------------------------------------------------------
# pcap
# ------------------------------------------------------------------------------------------
def _checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071). Summed as native 16-bit words in C (array), which
    gives the byte-swapped sum on little-endian machines; the fold is order-independent."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    csum = ~total & 0xFFFF
    return csum if _BIG_ENDIAN else ((csum >> 8) | (csum << 8)) & 0xFFFF


def _mac(addr: bytes) -> bytes:
    return b"\x02" + zlib.crc32(addr).to_bytes(4, "big") + b"\x01"


def _packet(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ident: int
            ) -> bytes:
    udp_len = 8 + len(payload)
    if len(src) == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0x4000, 64,
                         17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, udp_len, 17, 64, src, dst)
        pseudo = src + dst + struct.pack("!IxxxB", udp_len, 17)
        ethertype = 0x86DD
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0)
    csum = _checksum(pseudo + udp + payload) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum)
    to_server = dport == 53
    eth = (_RESOLVER_MAC + _mac(src) if to_server else _mac(dst) + _RESOLVER_MAC) + \
        struct.pack("!H", ethertype)
    return eth + ip + udp + payload


class PcapWriter:
    """Classic libpcap, microsecond timestamps, LINKTYPE_ETHERNET."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._cache = MessageCache()
        self._pending: list[tuple[int, bytes]] = []  # responses not yet due, in time order
        self._n = 0
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write(self, table: pa.Table) -> None:
        out: list[bytes] = []
        pending = self._pending
        for n, ex in enumerate(self._cache.exchanges(table), start=self._n):
            while pending and pending[0][0] <= ex.ts_us:
                out.append(pending.pop(0)[1])
            out.append(self._record(ex.ts_us, _packet(ex.client, ex.server, ex.port, 53,
                                                      ex.query, n)))
            if ex.response is not None:
                due = ex.ts_us + ex.rtt_us
                rec = self._record(due, _packet(ex.server, ex.client, 53, ex.port,
                                                ex.response, n + 1))
                _insert(pending, due, rec)
            if len(out) > 20_000:
                self._stream.write(b"".join(out))
                out.clear()
        self._n += 2 * table.num_rows
        self._stream.write(b"".join(out))

    @staticmethod
    def _record(ts_us: int, packet: bytes) -> bytes:
        return struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(packet),
                           len(packet)) + packet

    def close(self) -> None:
        self._stream.write(b"".join(rec for _, rec in self._pending))
        self._pending.clear()
        self._stream.flush()


def _insert(pending: list[tuple[int, bytes]], due: int, rec: bytes) -> None:
    """Keep `pending` sorted by due time (it holds a handful of entries)."""
    i = len(pending)
    while i and pending[i - 1][0] > due:
        i -= 1
    pending.insert(i, (due, rec))


# ------------------------------------------------------------------------------------------
# dnstap
# ------------------------------------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _ld(tag: bytes, value: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return tag + _varint(len(value)) + value


def dnstap_payload(kind: int, ex: Exchange, prefix: bytes) -> bytes:
    """One `dnstap.Dnstap` protobuf, fields in schema order, as
    `bluelamp.sources.dnstap.encode_dnstap` writes them (tests check they agree); written
    out here because the generic encoder costs ~100 µs per message."""
    family = b"\x10\x02" if len(ex.client) == 16 else b"\x10\x01"
    body = [b"\x08", bytes([kind]), family, b"\x18\x01", _ld(b"\x22", ex.client),
            _ld(b"\x2a", ex.server), b"\x30", _varint(ex.port), b"\x38\x35",
            b"\x40", _varint(ex.ts_us // 1_000_000),
            b"\x4d", struct.pack("<I", ex.ts_us % 1_000_000 * 1000)]
    if kind == CLIENT_QUERY:
        body.append(_ld(b"\x52", ex.query))
    else:
        due = ex.ts_us + ex.rtt_us
        body += [b"\x60", _varint(due // 1_000_000), b"\x6d",
                 struct.pack("<I", due % 1_000_000 * 1000), _ld(b"\x72", ex.response or b"")]
    return prefix + _ld(b"\x72", b"".join(body)) + b"\x78\x01"


class DnstapWriter:
    """A Frame Streams file (content type protobuf:dnstap.Dnstap) of CLIENT_QUERY and
    CLIENT_RESPONSE messages, as a recursive resolver logs them."""

    def __init__(self, stream: BinaryIO) -> None:
        self._frames = FrameWriter(stream)
        self._cache = MessageCache()

    def write(self, table: pa.Table) -> None:
        sensors = table.column("sensor").drop_null()
        identity = sensors[0].as_py().encode() if len(sensors) else b"bluelamp"
        prefix = _ld(b"\x0a", identity) + _ld(b"\x12", VERSION)
        payloads = []
        for ex in self._cache.exchanges(table):
            payloads.append(dnstap_payload(CLIENT_QUERY, ex, prefix))
            if ex.response is not None:
                payloads.append(dnstap_payload(CLIENT_RESPONSE, ex, prefix))
            if len(payloads) > 20_000:
                self._frames.write_many(payloads)
                payloads.clear()
        self._frames.write_many(payloads)

    def close(self) -> None:
        self._frames.close()
