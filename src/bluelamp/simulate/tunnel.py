"""DNS tunnels: iodine and dns2tcp sessions replayed from real captures.

The query names are the tools' real output (raw bytes, base32/base64/base128 payload
labels), with the capture's base domain remapped to one simulated domain per tunnel. The
tools' record types are used: iodine NULL (falling back to TXT, CNAME or MX where NULL is
blocked), dns2tcp TXT. Answers carry payload-sized data, TTL 0. Timing alternates bursts
of transfer with idle polling.
"""

from __future__ import annotations

import base64
from functools import cache

import numpy as np

from bluelamp import resources
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import MOBILE, WORKSTATION
from bluelamp.simulate.zone import Pinned, address_v4

CAPTURE_BASE = b".hidemyself.org"
TOOLS = ("iodine", "dns2tcp")
_IODINE_TYPES = ((10, 0.6), (16, 0.2), (5, 0.1), (15, 0.1))
_BASES = ("tnl", "dx", "qz", "io", "vpn", "nx", "cdn", "r")
_TLDS = ("net", "org", "xyz", "com", "info")


def escape_name(raw: bytes) -> str:
    """Presentation form of a raw name as DNS.qname wants it: ASCII lower-cased, bytes
    outside printable ASCII and the characters that are special in zone files as \\DDD or
    \\X (as dnspython and the wire decoder print them)."""
    labels = raw.rstrip(b".").split(b".")
    out = []
    for label in labels:
        text = []
        for byte in label.lower():
            if byte <= 0x20 or byte >= 0x7F:
                text.append(f"\\{byte:03d}")
            elif chr(byte) in '"().;\\@$':
                text.append("\\" + chr(byte))
            else:
                text.append(chr(byte))
        out.append("".join(text))
    return ".".join(out)


@cache
def tunnel_queries(tool: str) -> tuple[bytes, ...]:
    """The capture's tunnel queries (other names in it were background traffic). An empty
    label cannot exist on the wire; the capture's text form shows one ("..") where iodine
    ended a data label at the end of its payload, so it is collapsed."""
    out = []
    for raw in resources.tunnel_names(tool):
        if raw.endswith(CAPTURE_BASE):
            while b".." in raw:
                raw = raw.replace(b"..", b".")
            out.append(raw)
    return tuple(out)


def base_domain(g: np.random.Generator) -> str:
    """A short simulated domain (no longer than the capture's, so names stay legal)."""
    return f"{_BASES[int(g.integers(0, len(_BASES)))]}{int(g.integers(1, 999))}." \
           f"{_TLDS[int(g.integers(0, len(_TLDS)))]}"


class Tunnel(Scheduled):
    name = "tunnel"
    explicit_answers = True

    def plan(self, g: np.random.Generator) -> None:
        clients = self.world.claim_share(self.world.cfg.tunnel_fraction, g,
                                         kinds=(WORKSTATION, MOBILE))
        for n, client in enumerate(clients.tolist()):
            self._session(f"tunnel-{n + 1}", TOOLS[n % 2], client, g)
        self.finish()

    def _session(self, cid: str, tool: str, client: int, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        captured = tunnel_queries(tool)
        length = min(len(captured), int(g.integers(400, 2500)))
        first = int(g.integers(0, len(captured) - length + 1))
        base = base_domain(g)
        qnames = [escape_name(raw[: -len(CAPTURE_BASE)] + b"." + base.encode())
                  for raw in captured[first : first + length]]
        if tool == "iodine":
            types, p = zip(*_IODINE_TYPES, strict=True)
            qtype = int(g.choice(types, p=p))
        else:
            qtype = 16
        server = address_v4(base, salt="tunnel")
        self.world.zone.pin(base, Pinned(v4=(server,), ttl=3600))
        # bursts of transfer (~0.1 s apart) and idle polls (seconds apart)
        busy = g.random(length) < 0.8
        gaps = np.where(busy, g.exponential(0.12, length), g.exponential(3.0, length)) + 0.005
        span = cfg.end_us - cfg.start_us
        start = cfg.start_us + int(g.uniform(0.05, 0.7) * span)
        ts = start + np.cumsum((gaps * US).astype(np.int64))
        answers = [[_payload(qtype, base, g)] for _ in range(length)]
        actor = Actor("tunnel", self.world.address[client], family=tool, campaign=cid,
                      c2_domain=base, c2_address=server, registered_domain=base,
                      domains=[base], detail={"qtype": qtype, "session_queries": length})
        self.add(actor, client, Rows(ts, qnames, qtype, 0, answers, ttl=0))


def _payload(qtype: int, base: str, g: np.random.Generator) -> str:
    data = g.bytes(int(g.integers(24, 180)))
    if qtype == 10:
        return f"\\# {len(data)} {data.hex()}"
    if qtype == 16:
        return base64.b64encode(data).decode()
    label = base64.b32encode(data[:36]).decode().rstrip("=").lower()[:60]
    if qtype == 15:
        return f"10 {label}.{base}"
    return f"{label}.{base}"
