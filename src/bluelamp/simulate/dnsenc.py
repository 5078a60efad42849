"""A small DNS wire-format encoder for simulated traffic (RFC 1035, 3596, 6891, 9460).

Written by hand because writers emit millions of messages: dnspython builds an object graph
per message and is roughly 20x slower. Callers cache the encoded body per distinct
(name, type, rcode, answers) and only prepend the 16-bit message id per packet. Tests check
every message with dnspython.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import struct
from collections.abc import Sequence

from bluelamp.textutil import is_decimal

QTYPES: dict[str, int] = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "PTR": 12, "MX": 15, "TXT": 16,
    "AAAA": 28, "SRV": 33, "DS": 43, "RRSIG": 46, "DNSKEY": 48, "SVCB": 64, "HTTPS": 65,
    "ANY": 255,
}
QTYPE_NAMES: dict[int, str] = {v: k for k, v in QTYPES.items()}
RCODE_NAMES: dict[int, str] = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
                               4: "NOTIMP", 5: "REFUSED"}
NAME_TYPES = frozenset({2, 5, 12})  # rdata is one domain name
NEGATIVE_TTL = 900
EDNS_UDP_SIZE = 1232  # the DNS Flag Day 2020 default
_SVC_KEYS = {"alpn": 1, "no-default-alpn": 2, "port": 3, "ipv4hint": 4, "ipv6hint": 6}


def qtype_name(code: int) -> str:
    return QTYPE_NAMES.get(code, f"TYPE{code}")


def name_to_wire(name: str) -> bytes:
    """Presentation-form name (\\DDD and \\X escapes allowed, trailing dot optional) to wire."""
    if name in ("", "."):
        return b"\x00"
    if "\\" not in name:
        labels = [label.encode("latin-1") for label in name.rstrip(".").split(".")]
    else:
        labels = _split_escaped(name)
    out = bytearray()
    for label in labels:
        if not 0 < len(label) < 64:
            raise ValueError(f"bad label length {len(label)} in {name!r}")
        out.append(len(label))
        out += label
    out.append(0)
    if len(out) > 255:
        raise ValueError(f"name longer than 255 octets: {name!r}")
    return bytes(out)


_TOKEN = re.compile(r"\\(\d{3})|\\(.)|(\.)|([^\\.]+)", re.S)


def _split_escaped(name: str) -> list[bytes]:
    labels: list[bytes] = []
    label = bytearray()
    for ddd, char, dot, plain in _TOKEN.findall(name):
        if dot:
            labels.append(bytes(label))
            label = bytearray()
        elif ddd:
            label.append(int(ddd))
        else:
            label += (char or plain).encode("latin-1")
    if label:
        labels.append(bytes(label))
    return labels


def wire_length(name: str) -> int:
    """Length of `name` in wire form, without building it when it has no escapes."""
    if "\\" in name:
        return len(name_to_wire(name))
    name = name.rstrip(".")
    return len(name) + 2 if name else 1


def response_size(qname: str, qtype: int, rcode: int, answers: Sequence[str],
                  edns: bool = True) -> int:
    """`len(encode_response(...))` computed arithmetically for the common record types
    (the simulator needs it for every distinct question)."""
    size = 12 + wire_length(qname) + 4 + (11 if edns else 0)
    if not answers:
        labels = qname.rstrip(".").split(".")
        zone = labels[-1] if rcode == 3 or len(labels) < 2 else ".".join(labels[-2:])
        if "\\" in zone:
            return len(encode_response(0, qname, qtype, rcode, answers, None, edns=edns))
        z = len(zone) + 2
        return size + z + 10 + (z + 4) + (z + 11) + 20
    for text in answers:
        rtype = _answer_type(qtype, text)
        if rtype == 1:
            size += 16
        elif rtype == 28:
            size += 28
        elif rtype in NAME_TYPES:
            size += 12 + wire_length(text)
        else:
            return len(encode_response(0, qname, qtype, rcode, answers, 0, edns=edns))
    return size


def _header(txid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return struct.pack("!HHHHHH", txid & 0xFFFF, flags, qd, an, ns, ar)


def _opt(do: bool = False) -> bytes:
    # root owner, TYPE OPT(41), CLASS = UDP payload size, TTL = ext-rcode/version/flags
    return b"\x00" + struct.pack("!HHIH", 41, EDNS_UDP_SIZE, 0x8000 if do else 0, 0)


def encode_query(txid: int, qname: str, qtype: int, *, edns: bool = True,
                 do: bool = False) -> bytes:
    """A recursive query (RD=1) with an EDNS(0) OPT record."""
    body = name_to_wire(qname) + struct.pack("!HH", qtype, 1)
    return _header(txid, 0x0100, 1, 0, 0, 1 if edns else 0) + body + (_opt(do) if edns else b"")


def encode_response(txid: int, qname: str, qtype: int, rcode: int, answers: Sequence[str],
                    ttl: int | None, *, edns: bool = True) -> bytes:
    """A recursive resolver's answer: QR, RD, RA set; CNAME chains followed in order; an
    SOA in the authority section of negative answers (as resolvers send them)."""
    qwire = name_to_wire(qname)
    msg = bytearray(_header(0, 0, 0, 0, 0, 0))
    msg += qwire + struct.pack("!HH", qtype, 1)
    owner_ptr = 12  # the question name starts right after the header
    ancount = 0
    for text in answers:
        rtype = _answer_type(qtype, text)
        rdata, target = _rdata(rtype, text)
        msg += struct.pack("!HHHIH", 0xC000 | owner_ptr, rtype, 1, ttl or 0, len(rdata))
        if target is not None:
            owner_ptr = len(msg) + target
        msg += rdata
        ancount += 1
    nscount = 0
    if ancount == 0:
        msg += _negative_soa(qname, rcode)
        nscount = 1
    if edns:
        msg += _opt()
    flags = 0x8180 | (rcode & 0xF)
    msg[0:12] = _header(txid, flags, 1, ancount, nscount, 1 if edns else 0)
    return bytes(msg)


def _answer_type(qtype: int, text: str) -> int:
    """Which RR type an answer string is: the chain's CNAMEs come first, as names."""
    if qtype in NAME_TYPES or qtype == 16 or qtype == 255:
        return qtype if qtype != 255 else 1
    if qtype == 1:
        return 1 if _is_ipv4(text) else 5
    if qtype == 28:
        return 28 if ":" in text else 5
    if " " in text or text.startswith("\\#"):
        return qtype
    return 5


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(is_decimal(p) for p in parts)


def _rdata(rtype: int, text: str) -> tuple[bytes, int | None]:
    """RDATA bytes, and for a CNAME the offset of its target inside the RDATA (0)."""
    if text.startswith("\\#"):
        _, _, hexdata = text.partition(" ")
        return bytes.fromhex(hexdata.partition(" ")[2].replace(" ", "")), None
    if rtype == 1:
        return socket.inet_pton(socket.AF_INET, text), None
    if rtype == 28:
        return socket.inet_pton(socket.AF_INET6, text), None
    if rtype in NAME_TYPES:
        return name_to_wire(text), 0 if rtype == 5 else None
    if rtype == 15:
        pref, _, host = text.partition(" ")
        return struct.pack("!H", int(pref)) + name_to_wire(host), None
    if rtype == 16:
        return _txt(text), None
    if rtype == 33:
        prio, weight, port, host = text.split(" ")
        return struct.pack("!HHH", int(prio), int(weight), int(port)) + name_to_wire(host), None
    if rtype == 43:
        tag, alg, dtype, digest = text.split(" ", 3)
        return struct.pack("!HBB", int(tag), int(alg), int(dtype)) + bytes.fromhex(
            digest.replace(" ", "")), None
    if rtype == 48:
        flags, proto, alg, key = text.split(" ", 3)
        return struct.pack("!HBB", int(flags), int(proto), int(alg)) + base64.b64decode(
            key.replace(" ", "")), None
    if rtype in (64, 65):
        return _svcb(text), None
    raise ValueError(f"cannot encode {qtype_name(rtype)} rdata {text!r}")


def _txt(text: str) -> bytes:
    """TXT rdata from one string: split into 255-octet character-strings."""
    raw = text.encode("latin-1", "replace")
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return b"".join(bytes([len(c)]) + c for c in chunks)


def _svcb(text: str) -> bytes:
    """SVCB/HTTPS rdata from `prio target key=value ...` (alpn, port, ipv4hint, ipv6hint)."""
    prio, target, *params = text.split(" ")
    out = struct.pack("!H", int(prio)) + name_to_wire(target)
    for param in sorted(params, key=lambda p: _SVC_KEYS[p.partition("=")[0]]):
        key, _, value = param.partition("=")
        value = value.strip('"')
        if key == "alpn":
            data = b"".join(bytes([len(a)]) + a.encode() for a in value.split(","))
        elif key == "port":
            data = struct.pack("!H", int(value))
        elif key == "ipv4hint":
            data = b"".join(ipaddress.IPv4Address(a).packed for a in value.split(","))
        elif key == "ipv6hint":
            data = b"".join(ipaddress.IPv6Address(a).packed for a in value.split(","))
        else:
            data = b""
        out += struct.pack("!HH", _SVC_KEYS[key], len(data)) + data
    return out


def _negative_soa(qname: str, rcode: int) -> bytes:
    """Authority SOA of a negative answer: the TLD's zone for NXDOMAIN, the name's parent
    zone for NODATA (close enough for traffic statistics; real resolvers send the owning
    zone's SOA)."""
    labels = qname.rstrip(".").split(".")
    zone = labels[-1] if rcode == 3 or len(labels) < 2 else ".".join(labels[-2:])
    zone_wire = name_to_wire(zone)
    rdata = (name_to_wire(f"ns1.{zone}") + name_to_wire(f"hostmaster.{zone}")
             + struct.pack("!IIIII", 2024010101, 1800, 900, 604800, NEGATIVE_TTL))
    return zone_wire + struct.pack("!HHIH", 6, 1, NEGATIVE_TTL, len(rdata)) + rdata
