"""Machine traffic every resolver sees: connectivity checks, time sync, reverse lookups,
mail servers' MX/SPF/DMARC/DNSBL lookups, anti-virus file-hash look-ups, validating
forwarders' DS/DNSKEY queries,
Windows' domain-controller and WPAD lookups, and DDR (SVCB) discovery.

Each service is a row of a table: who runs it, how often, which names and types, and
whether the name exists. Several of these look odd to a naive detector (numeric reverse
names, DNSBL names, NXDOMAIN bursts of SRV lookups) and are benign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bluelamp import resources
from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import SEARCH_DOMAINS
from bluelamp.simulate.frame import Draft, names
from bluelamp.simulate.randtext import HEX, random_strings
from bluelamp.simulate.world import FORWARDER, IOT, MOBILE, SERVER, WORKSTATION

NameFn = Callable[[np.random.Generator, int], tuple[list[str], np.ndarray]]


def _fixed(choices: tuple[str, ...], rcode: int = 0) -> NameFn:
    def pick(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
        return [choices[i] for i in g.integers(0, len(choices), n).tolist()], \
            np.full(n, rcode, np.uint8)
    return pick


def _octets(g: np.random.Generator, n: int) -> np.ndarray:
    first = g.choice([31, 46, 62, 77, 80, 85, 89, 91, 93, 95, 109, 176, 178, 185, 188, 193,
                      194, 195, 212, 213, 217], size=n)
    return np.column_stack([first, g.integers(0, 256, (n, 2)), g.integers(1, 255, n)])


def _ptr(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    """Reverse lookups of public peers; about 40 % have no PTR record (NXDOMAIN)."""
    o = _octets(g, n).tolist()
    qn = [f"{d}.{c}.{b}.{a}.in-addr.arpa" for a, b, c, d in o]
    return qn, np.where(g.random(n) < 0.4, 3, 0).astype(np.uint8)


def _dnsbl(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    """Mail servers ask block lists about each sending address; listed ones (rare) get
    127.0.0.x, the rest NXDOMAIN."""
    o = _octets(g, n).tolist()
    lists = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
    pick = g.integers(0, len(lists), n).tolist()
    qn = [f"{d}.{c}.{b}.{a}.{lists[k]}" for (a, b, c, d), k in zip(o, pick, strict=True)]
    return qn, np.where(g.random(n) < 0.03, 0, 3).astype(np.uint8)


def _mail_policy(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    top = resources.benign_domains("top")[:3000]
    doms = [top[i] for i in g.integers(0, len(top), n).tolist()]
    kind = g.integers(0, 3, n).tolist()
    prefix = ("", "_dmarc.", "selector1._domainkey.")
    return [prefix[k] + d for d, k in zip(doms, kind, strict=True)], np.zeros(n, np.uint8)


def _mail_mx(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    top = resources.benign_domains("top")[:3000]
    return [top[i] for i in g.integers(0, len(top), n).tolist()], np.zeros(n, np.uint8)


def _dnssec(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    """A validating forwarder fetches DS and DNSKEY along the chain: TLDs and zones."""
    top = resources.benign_domains("top")[:2000]
    doms = [top[i] for i in g.integers(0, len(top), n).tolist()]
    tld = g.random(n) < 0.3
    return [d.rsplit(".", 1)[-1] if t else d for d, t in zip(doms, tld.tolist(),
                                                             strict=True)], np.zeros(n, np.uint8)


def _av_hashes(g: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    """Anti-virus file-reputation look-ups: a file hash in the name; mostly unknown
    (NXDOMAIN), sometimes a verdict."""
    hashes = random_strings(g, HEX, n, 32, 32)
    return [f"{h}.fr.sophosxl.net" for h in hashes], np.where(g.random(n) < 0.9, 3, 0).astype(
        np.uint8)


@dataclass(frozen=True)
class Service:
    kinds: tuple[int, ...]
    per_day: float            # lookups per participating client per day
    qtypes: tuple[int, ...]   # chosen uniformly per lookup
    names: NameFn
    share: float = 1.0        # share of clients of those kinds that run it


SERVICES: tuple[Service, ...] = (
    Service((WORKSTATION,), 40, (1, 28), _fixed(("www.msftconnecttest.com", "dns.msftncsi.com",
                                                 "ctldl.windowsupdate.com")), 0.6),
    Service((MOBILE,), 50, (1, 28), _fixed(("connectivitycheck.gstatic.com", "captive.apple.com",
                                            "connectivitycheck.android.com"))),
    Service((WORKSTATION, MOBILE), 6, (1,), _fixed(("detectportal.firefox.com",)), 0.3),
    Service((SERVER, IOT), 80, (1, 28), _fixed(("pool.ntp.org", "0.pool.ntp.org",
                                                "1.pool.ntp.org", "time.windows.com",
                                                "time.apple.com"))),
    Service((WORKSTATION,), 24, (33,), _fixed((f"_ldap._tcp.dc._msdcs.{SEARCH_DOMAINS[0]}",
                                               f"_kerberos._tcp.{SEARCH_DOMAINS[0]}"), 3), 0.6),
    Service((WORKSTATION,), 6, (1,), _fixed((f"wpad.{SEARCH_DOMAINS[0]}",
                                             f"isatap.{SEARCH_DOMAINS[0]}"), 3), 0.6),
    Service((WORKSTATION, MOBILE), 3, (64,), _fixed(("_dns.resolver.arpa",)), 0.5),
    Service((SERVER,), 300, (12,), _ptr, 0.5),
    Service((SERVER,), 400, (1,), _dnsbl, 0.25),
    Service((SERVER,), 300, (16,), _mail_policy, 0.25),
    Service((SERVER,), 200, (15,), _mail_mx, 0.25),
    Service((FORWARDER,), 600, (43, 48), _dnssec),
    Service((WORKSTATION,), 30, (1,), _av_hashes, 0.3),
    Service((WORKSTATION, MOBILE), 10, (12,), lambda g, n: (
        [f"{int(x)}.{int(y)}.20.10.in-addr.arpa" for x, y in g.integers(1, 255, (n, 2))],
        np.full(n, 3, np.uint8)), 0.3),
)


class Services(Behaviour):
    name = "services"

    def plan(self, g: np.random.Generator) -> None:
        self.members = [np.isin(self.world.kind, s.kinds) & (g.random(self.world.n) < s.share)
                        for s in SERVICES]

    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        w = self.world
        days = (hi_us - lo_us) / 86_400e6
        # people's services follow their activity; machines' run flat
        share = w.activity(lo_us, hi_us) / np.maximum(w.daily * w.cfg.volume, 1e-9)
        drafts = []
        for spec, members in zip(SERVICES, self.members, strict=True):
            rate = np.where(np.isin(w.kind, (SERVER, IOT, FORWARDER)), days, share)
            count = g.poisson(np.where(members, spec.per_day * rate * w.cfg.volume, 0.0))
            client = np.repeat(np.arange(w.n, dtype=np.int32), count)
            if len(client) == 0:
                continue
            qnames, rcode = spec.names(g, len(client))
            qtype = np.asarray(spec.qtypes, np.uint16)[g.integers(0, len(spec.qtypes),
                                                                 len(client))]
            drafts.append(Draft(g.integers(lo_us, hi_us, size=len(client)), client,
                                names(qnames), qtype, rcode))
        return drafts
