"""Binary writers: classic libpcap (Ethernet, IPv4/IPv6, UDP, DNS) and dnstap (Frame
Streams, CLIENT_QUERY and CLIENT_RESPONSE messages).

Each row becomes a query and, when the row has an rcode, a response `rtt` later. DNS
messages are built with `dnsenc`, cached per distinct question/answer (only the 16-bit id
differs between packets). dnstap records each row's transport (socket protocol); pcap
writes every row as a UDP datagram (the simulator emits UDP only; TCP, DoT, DoH and DoQ
would need connections and encryption).
"""

from __future__ import annotations

import socket
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
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
#: transport -> dnstap SocketProtocol
_PROTOCOLS = {"udp": 1, "tcp": 2, "dot": 3, "doh": 4, "doq": 7}


@dataclass(slots=True)
class Exchange:
    """One row as wire messages (with the 16-bit word sums of the messages after their id,
    cached per distinct message, from which UDP checksums follow without reading them)."""

    ts_us: int
    rtt_us: int
    client: bytes        # packed address
    server: bytes
    port: int
    txid: int
    query: bytes
    response: bytes | None
    qsum: int
    rsum: int
    protocol: int = 1  # dnstap SocketProtocol: UDP 1, TCP 2, DOT 3, DOH 4, DOQ 7


def word_sum(data: bytes) -> int:
    """Sum of big-endian 16-bit words (zero-padded), not yet folded."""
    words = array("H", data + b"\0" * (len(data) % 2))
    if not _BIG_ENDIAN:
        words.byteswap()
    return sum(words)


class MessageCache:
    """Encoded DNS messages without their id, per distinct content."""

    def __init__(self) -> None:
        self.queries: dict[tuple[str, int], tuple[bytes, int]] = {}
        self.responses: dict[tuple[str, int, int, str, int], tuple[bytes, int]] = {}

    def exchanges(self, table: pa.Table) -> Iterator[Exchange]:
        if len(self.queries) > _CACHE_LIMIT:
            self.queries.clear()
        if len(self.responses) > _CACHE_LIMIT:
            self.responses.clear()
        h = rowmeta.row_hash(table)
        txid, rtt = rowmeta.txids(h).tolist(), rowmeta.rtts_us(h).tolist()
        joined = pc.fill_null(pc.binary_join(table.column("answers"), "\x1f"), "").to_pylist()
        columns = [table.column(c).to_pylist() for c in
                   ("client", "server", "client_port", "qname", "qtype", "rcode", "ttl",
                    "transport")]
        ts_us = table.column("ts").cast(pa.int64()).to_pylist()
        packed = _Packer()
        for i, (client, server, port, qname, qtype, rcode, ttl, proto) in enumerate(zip(
                *columns, strict=True)):
            qtype = qtype or 1
            qkey = (qname, qtype)
            q = self.queries.get(qkey)
            if q is None:
                body = dnsenc.encode_query(0, qname, qtype, do=qtype in _DO_TYPES)[2:]
                q = self.queries[qkey] = (body, word_sum(body))
            response, rsum = None, 0
            ident = struct.pack("!H", txid[i])
            if rcode is not None:
                answers = joined[i]
                rkey = (qname, qtype, rcode, answers, ttl or 0)
                r = self.responses.get(rkey)
                if r is None:
                    body = dnsenc.encode_response(
                        0, qname, qtype, rcode, answers.split("\x1f") if answers else (),
                        ttl)[2:]
                    r = self.responses[rkey] = (body, word_sum(body))
                response, rsum = ident + r[0], r[1]
            c, s = packed.pair(client, server)
            yield Exchange(ts_us[i], rtt[i], c, s, port or 0, txid[i], ident + q[0], response,
                           q[1], rsum, _PROTOCOLS.get(proto or "udp", 1))


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
    """Internet checksum (RFC 1071) of `data`."""
    return _fold(word_sum(data))


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(addr: bytes) -> bytes:
    return b"\x02" + zlib.crc32(addr).to_bytes(4, "big") + b"\x01"


class _Framer:
    """Ethernet/IP/UDP headers around DNS messages. What depends only on the address pair
    (MACs, the addresses' checksum contribution) is computed once per pair; checksums are
    then sums of a few integers and the message's cached word sum."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[bytes, bytes], tuple[bytes, bytes, int]] = {}

    def _pair(self, src: bytes, dst: bytes, to_server: bool) -> tuple[bytes, bytes, int]:
        hit = self._pairs.get((src, dst))
        if hit is None:
            macs = _RESOLVER_MAC + _mac(src) if to_server else _mac(dst) + _RESOLVER_MAC
            hit = self._pairs[(src, dst)] = (macs, src + dst, word_sum(src + dst))
        return hit

    def packet(self, src: bytes, dst: bytes, sport: int, dport: int, message: bytes,
               txid: int, body_sum: int, ident: int) -> bytes:
        macs, addrs, addr_sum = self._pair(src, dst, dport == 53)
        udp_len = 8 + len(message)
        # pseudo header (addresses, protocol, length) + UDP header + message
        csum = _fold(addr_sum + 17 + 2 * udp_len + sport + dport + txid + body_sum) or 0xFFFF
        if len(src) == 4:
            ident &= 0xFFFF
            ip_sum = _fold(0x4500 + 20 + udp_len + ident + 0x4000 + 0x4011 + addr_sum)
            return struct.pack("!12sHBBHHHBBH8sHHHH", macs, 0x0800, 0x45, 0, 20 + udp_len,
                               ident, 0x4000, 64, 17, ip_sum, addrs, sport, dport, udp_len,
                               csum) + message
        return struct.pack("!12sHIHBB32sHHHH", macs, 0x86DD, 0x60000000, udp_len, 17, 64,
                           addrs, sport, dport, udp_len, csum) + message


def _packet(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ident: int
            ) -> bytes:
    """One packet the slow, obvious way (tests compare the fast path with it)."""
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
        self._framer = _Framer()
        self._pending: list[tuple[int, bytes]] = []  # responses not yet due, in time order
        self._n = 0
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write(self, table: pa.Table) -> None:
        out: list[bytes] = []
        pending = self._pending
        packet = self._framer.packet
        for n, ex in enumerate(self._cache.exchanges(table), start=self._n):
            while pending and pending[0][0] <= ex.ts_us:
                out.append(pending.pop(0)[1])
            out.append(self._record(ex.ts_us, packet(ex.client, ex.server, ex.port, 53,
                                                     ex.query, ex.txid, ex.qsum, 2 * n)))
            if ex.response is not None:
                due = ex.ts_us + ex.rtt_us
                rec = self._record(due, packet(ex.server, ex.client, 53, ex.port, ex.response,
                                               ex.txid, ex.rsum, 2 * n + 1))
                _insert(pending, due, rec)
            if len(out) > 20_000:
                self._stream.write(b"".join(out))
                out.clear()
        self._n += table.num_rows
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
_SMALL = [bytes([i]) for i in range(128)]


def _varint(value: int) -> bytes:
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@lru_cache(maxsize=65_536)
def _varint_cached(value: int) -> bytes:
    """Varints of values that repeat from row to row (seconds, ports)."""
    return _varint(value)


def _ld(tag: bytes, value: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return tag + _varint(len(value)) + value


@lru_cache(maxsize=65_536)
def _address_fields(client: bytes, server: bytes, protocol: int) -> bytes:
    family = b"\x10\x02" if len(client) == 16 else b"\x10\x01"
    return family + b"\x18" + _SMALL[protocol] + _ld(b"\x22", client) + _ld(b"\x2a", server)


def dnstap_payload(kind: int, ex: Exchange, prefix: bytes) -> bytes:
    """One `dnstap.Dnstap` protobuf, fields in schema order, as
    `bluelamp.sources.dnstap.encode_dnstap` writes them (tests check they agree); written
    out here because the generic encoder costs ~100 µs per message."""
    body = [b"\x08", _SMALL[kind], _address_fields(ex.client, ex.server, ex.protocol),
            b"\x30", _varint_cached(ex.port), b"\x38\x35",
            b"\x40", _varint_cached(ex.ts_us // 1_000_000),
            b"\x4d", struct.pack("<I", ex.ts_us % 1_000_000 * 1000)]
    if kind == CLIENT_QUERY:
        body.append(_ld(b"\x52", ex.query))
    else:
        due = ex.ts_us + ex.rtt_us
        body += [b"\x60", _varint_cached(due // 1_000_000), b"\x6d",
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
