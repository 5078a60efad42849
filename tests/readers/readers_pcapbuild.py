"""Build small pcap/pcapng captures for the pcap reader tests (real DNS wire messages from
dnspython, hand-built link, IP, UDP and TCP headers)."""

from __future__ import annotations

import socket
import struct

import dns.message
import dns.rrset


def query(name: str, qtype: str = "A", qid: int = 1) -> bytes:
    msg = dns.message.make_query(name, qtype)
    msg.id = qid
    return msg.to_wire()


def response(name: str, qtype: str = "A", qid: int = 1, answers: tuple[str, ...] = (),
             ttl: int = 300, rcode: int = 0) -> bytes:
    q = dns.message.make_query(name, qtype)
    q.id = qid
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if answers:
        r.answer.append(dns.rrset.from_text(name.rstrip(".") + ".", ttl, "IN", qtype, *answers))
    return r.to_wire()


def _ip_raw(addr: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in addr else socket.AF_INET, addr)


def ip_packet(src: str, dst: str, proto: int, l4: bytes) -> bytes:
    if ":" in src:
        return (struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + _ip_raw(src) + _ip_raw(dst)
                + l4)
    return (struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0)
            + _ip_raw(src) + _ip_raw(dst) + l4)


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport: int, dport: int, seq: int, payload: bytes, flags: int = 0x18) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def ethernet(ip: bytes, vlan: int | None = None) -> bytes:
    etype = 0x86DD if ip[0] >> 4 == 6 else 0x0800
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return b"\x02" * 6 + b"\x04" * 6 + tag + struct.pack("!H", etype) + ip


def sll(ip: bytes) -> bytes:
    etype = 0x86DD if ip[0] >> 4 == 6 else 0x0800
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, etype) + ip


def sll2(ip: bytes) -> bytes:
    etype = 0x86DD if ip[0] >> 4 == 6 else 0x0800
    return struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6, b"\x02" * 8) + ip


def pcap(packets: list[tuple[float, bytes]], linktype: int = 1, nano: bool = False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for ts, data in packets:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out.append(struct.pack("<IIII", sec, frac, len(data), len(data)) + data)
    return b"".join(out)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def pcapng(packets: list[tuple[float, bytes]], linktype: int = 1) -> bytes:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", linktype, 0, 65535)
                 + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))  # ns resolution
    out = [shb, idb]
    for ts, data in packets:
        units = round(ts * 1e9)
        out.append(_block(6, struct.pack("<IIIII", 0, units >> 32, units & 0xFFFFFFFF,
                                         len(data), len(data)) + data))
    return b"".join(out)
