"""The simulated internet's DNS data: what a name resolves to.

Answers are a pure function of the name (a hash), so a name resolves to the same addresses
in every slice, on every run and in every behaviour. Behaviours pin specific names (a C2
address, a tunnel's server) with `Zone.pin`.
"""

from __future__ import annotations

import base64
import hashlib
import socket
from dataclasses import dataclass

#: first octets of ordinary public unicast space (no private, shared, documentation,
#: benchmarking, multicast or reserved blocks are reachable from this list)
_V4_FIRST = (23, 31, 34, 35, 37, 45, 46, 51, 52, 54, 62, 64, 66, 69, 72, 74, 77, 78, 80, 81,
             82, 83, 84, 85, 86, 87, 88, 89, 91, 93, 94, 95, 104, 107, 108, 109, 130, 141, 142,
             146, 151, 157, 162, 173, 176, 178, 185, 188, 193, 194, 195, 199, 212, 213, 216, 217)
_V6_PREFIX = ("2a00", "2a01", "2a02", "2a03", "2a04", "2a05", "2a06", "2600", "2606", "2607",
              "2620", "2400", "2404", "2a10")
_TTLS = (60, 300, 300, 300, 600, 1800, 3600, 3600, 3600, 14400, 86400)
_CDN_EDGES = ("{h}.edgekey.net", "{h}.cdn.cloudflare.net", "{h}.fastly.net",
              "d{x}.cloudfront.net", "{h}.azureedge.net")
_TWO_LEVEL = frozenset({"co.uk", "org.uk", "ac.uk", "com.au", "net.au", "co.jp", "com.br",
                        "co.nz", "co.za", "com.cn", "com.tr", "com.mx", "co.in", "com.ar"})
_DNSBLS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "sophosxl.net")
_ISPS = ("static.simnet-fiber.net", "dyn.simnet-cable.net", "rev.simhost-dc.com",
         "cust.simtel-mobile.net")
_CDN_PREFIXES = ("www.", "cdn.", "static.", "img.", "assets.", "s.", "edge.")


@dataclass(frozen=True)
class Pinned:
    """Fixed DNS data for one name (overrides the hash-derived answers)."""

    v4: tuple[str, ...] = ()
    v6: tuple[str, ...] = ()
    ttl: int = 300
    cname: tuple[str, ...] = ()
    txt: tuple[str, ...] = ()


def registered_guess(name: str) -> str:
    """Last two labels (three under a common two-level suffix). Only used to group
    addresses; `bluelamp.domains` is the real Public Suffix List implementation."""
    labels = name.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=24).digest()


def address_v4(name: str, salt: str = "") -> str:
    """A stable public IPv4 address for `name`; names of one registered domain share a /24."""
    net = _digest(salt + registered_guess(name))
    host = _digest(salt + name)
    return f"{_V4_FIRST[net[0] % len(_V4_FIRST)]}.{net[1]}.{net[2]}.{1 + host[0] % 253}"


def address_v6(name: str, salt: str = "") -> str:
    net = _digest(salt + registered_guess(name))
    host = _digest(salt + name)
    prefix = int(_V6_PREFIX[net[0] % len(_V6_PREFIX)], 16).to_bytes(2, "big")
    packed = prefix + net[1:3] + b"\0" + net[3:4] + bytes(8) + (host[:2] if any(host[:2])
                                                                else b"\0\1")
    return socket.inet_ntop(socket.AF_INET6, packed)  # canonical text (RFC 5952)


class Zone:
    """Answers for (name, qtype) of NOERROR queries (the caller caches them)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.pinned: dict[str, Pinned] = {}

    def pin(self, name: str, data: Pinned) -> None:
        self.pinned[name] = data

    def answer(self, name: str, qtype: int) -> tuple[tuple[str, ...], int | None]:
        """Answers in presentation form (CNAME chain first) and their smallest TTL; an empty
        tuple is NODATA."""
        return self._compute(name, qtype)

    def _compute(self, name: str, qtype: int) -> tuple[tuple[str, ...], int | None]:
        pinned = self.pinned.get(name)
        if pinned is not None:
            return _pinned_answer(pinned, qtype)
        h = _digest(name)
        ttl = _TTLS[h[0] % len(_TTLS)]
        chain = self._chain(name, h)
        if chain:
            ttl = min(ttl, 20 + h[5] % 3 * 20)
        target = chain[-1] if chain else name
        records = self._records(name, target, qtype, h)
        if not records and not chain:
            return (), None
        return (*chain, *records), ttl

    def _chain(self, name: str, h: bytes) -> tuple[str, ...]:
        """CDN-fronted names answer with a CNAME to the CDN's host name first (about one
        name in three of the usual CDN-served subdomains)."""
        if not name.startswith(_CDN_PREFIXES) or h[3] % 3:
            return ()
        edge = _CDN_EDGES[h[4] % len(_CDN_EDGES)]
        first = edge.format(h=name, x=h[6:13].hex()[:13])
        if first.endswith("edgekey.net"):
            return (first, f"e{int.from_bytes(h[7:9], 'big') % 99999}.a.akamaiedge.net")
        if len(first) > 250:
            return ()
        return (first,)

    def _records(self, name: str, target: str, qtype: int, h: bytes) -> tuple[str, ...]:
        reg = registered_guess(name)
        if qtype == 1 and name.endswith(_DNSBLS):
            return ("127.0.0.2",)  # a block list's "listed" answer
        if qtype == 1:
            return tuple(address_v4(f"{target}#{i}") for i in range(1 + h[8] % 3))
        if qtype == 28:
            return (address_v6(target),) if h[9] % 10 < 7 else ()
        if qtype == 65:
            return ('1 . alpn="h2,h3"',) if h[10] % 4 == 0 else ()
        if qtype == 15:
            if h[11] % 3 == 0:
                return ("1 aspmx.l.google.com", "5 alt1.aspmx.l.google.com")
            return (f"10 mx1.{reg}", f"20 mx2.{reg}")
        if qtype == 16:
            return (_txt_for(name, reg),)
        if qtype == 12:
            if name.endswith(".in-addr.arpa"):
                octets = "-".join(reversed(name.split(".")[:4]))
                return (f"ip-{octets}.{_ISPS[h[12] % len(_ISPS)]}",)
            return (f"host-{h[12]}-{h[13]}.{reg}",)
        if qtype == 2:
            return (f"ns1.{reg}", f"ns2.{reg}")
        if qtype == 43:
            digest = (_digest(name + "#ds") + _digest(name + "#ds2")).hex()[:64]  # SHA-256 size
            return (f"{int.from_bytes(h[14:16], 'big')} 13 2 {digest}",)
        if qtype == 48:
            ksk, zsk = (base64.b64encode(_digest(name + k) + _digest(name + k + "2")[:16])
                        .decode() for k in ("#ksk", "#zsk"))
            return (f"257 3 13 {ksk}", f"256 3 13 {zsk}")
        return ()


def _pinned_answer(p: Pinned, qtype: int) -> tuple[tuple[str, ...], int | None]:
    records: tuple[str, ...] = {1: p.v4, 28: p.v6, 16: p.txt}.get(qtype, ())
    if not records and not p.cname:
        return (), None
    return (*p.cname, *records), p.ttl


def _txt_for(name: str, reg: str) -> str:
    if name.startswith("_dmarc."):
        return f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{reg}"
    if "._domainkey." in name:
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(_digest(name) * 4).decode()
    return "v=spf1 include:_spf.google.com ~all"
