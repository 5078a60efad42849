"""The simulated client population: addresses, device kinds, activity levels and rhythm."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa

from bluelamp.simulate.config import US, SimConfig, rng
from bluelamp.simulate.zone import Zone

KINDS = ("workstation", "mobile", "server", "iot", "forwarder")
WORKSTATION, MOBILE, SERVER, IOT, FORWARDER = range(len(KINDS))
KIND_SHARE = np.array([0.60, 0.22, 0.08, 0.07, 0.03])
#: mean queries per day seen from one client of each kind (stub caches hide most lookups)
DAILY_QUERIES = np.array([3000.0, 1500.0, 900.0, 300.0, 15000.0])
#: relative activity by local hour for people at work, people at home, and machines
_OFFICE = np.array([.05, .04, .03, .03, .04, .08, .25, .60, 1.3, 1.8, 1.8, 1.7,
                    1.2, 1.6, 1.8, 1.7, 1.5, 1.0, .60, .50, .45, .35, .20, .10])
_HOME = np.array([.30, .15, .08, .05, .05, .10, .35, .70, .80, .70, .70, .80,
                  1.1, .90, .80, .80, .90, 1.2, 1.6, 1.9, 2.1, 2.0, 1.5, .80])
_FLAT = np.ones(24)
_PROFILES = np.stack([_OFFICE / _OFFICE.mean(), _HOME / _HOME.mean(), _FLAT, _FLAT,
                      (_OFFICE + _HOME) / (_OFFICE + _HOME).mean() * 0.5 + 0.5])
#: ephemeral source ports: Linux 32768-60999, Windows/macOS 49152-65535
_PORT_RANGES = np.array([[32768, 61000], [49152, 65536]])


@dataclass
class World:
    """Everything behaviours share: the configuration, the clients and the DNS data."""

    cfg: SimConfig
    address: list[str]
    kind: np.ndarray        # int8 index into KINDS
    daily: np.ndarray       # expected queries per day
    phase: np.ndarray       # personal shift of the daily rhythm, hours
    port_range: np.ndarray  # int8 index into _PORT_RANGES
    zone: Zone
    claimed: set[int] = field(default_factory=set)
    #: per client, over every behaviour: queries, NXDOMAIN answers, first and last time
    queries: np.ndarray = field(init=False)
    nxdomain: np.ndarray = field(init=False)
    first_us: np.ndarray = field(init=False)
    last_us: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.address)
        self.queries = np.zeros(n, np.int64)
        self.nxdomain = np.zeros(n, np.int64)
        self.first_us = np.full(n, np.iinfo(np.int64).max)
        self.last_us = np.full(n, np.iinfo(np.int64).min)

    def tally(self, client: np.ndarray, ts: np.ndarray, rcode: np.ndarray) -> None:
        """Count generated rows per client (for the benign clients' labels)."""
        self.queries += np.bincount(client, minlength=self.n)
        self.nxdomain += np.bincount(client, weights=rcode == 3, minlength=self.n).astype(
            np.int64)
        np.minimum.at(self.first_us, client, ts)
        np.maximum.at(self.last_us, client, ts)

    @property
    def n(self) -> int:
        return len(self.address)

    @cached_property
    def is_v6(self) -> np.ndarray:
        return np.array([":" in a for a in self.address], dtype=bool)

    @cached_property
    def address_array(self) -> pa.Array:
        return pa.array(self.address, pa.string())

    def claim(self, count: int, generator: np.random.Generator,
              kinds: tuple[int, ...] = (WORKSTATION, MOBILE, SERVER)) -> np.ndarray:
        """Pick `count` distinct clients of the given kinds that no other malicious
        behaviour has taken yet (fewer when the population is too small)."""
        pool = np.array([i for i in np.flatnonzero(np.isin(self.kind, kinds))
                         if int(i) not in self.claimed], dtype=np.int64)
        chosen = np.sort(generator.choice(pool, size=min(count, len(pool)), replace=False))
        self.claimed.update(int(i) for i in chosen)
        return chosen.astype(np.int32)

    def claim_share(self, fraction: float, generator: np.random.Generator,
                    kinds: tuple[int, ...] = (WORKSTATION, MOBILE, SERVER)) -> np.ndarray:
        """`claim` a fraction of the population: at least one client when it is > 0."""
        count = 0 if fraction <= 0 else max(1, round(fraction * self.n))
        return self.claim(count, generator, kinds)

    def activity(self, lo_us: int, hi_us: int) -> np.ndarray:
        """Expected queries of each client in [lo, hi): its daily volume shaped by the
        local time of day (office, home or flat rhythm) and the day of the week."""
        mid = (lo_us + hi_us) / 2 / US
        hour = (mid / 3600 + self.cfg.utc_offset_hours + self.phase) % 24
        profile = _PROFILES[np.minimum(self.kind, 4)]
        lo_h = np.floor(hour).astype(np.int64) % 24
        frac = hour - np.floor(hour)
        rows = np.arange(self.n)
        level = profile[rows, lo_h] * (1 - frac) + profile[rows, (lo_h + 1) % 24] * frac
        weekday = int(((mid + self.cfg.utc_offset_hours * 3600) // 86400 + 3) % 7)  # 0 = Mon
        if weekday >= 5:
            level = np.where(self.kind == WORKSTATION, level * 0.25, level)
        seconds = (hi_us - lo_us) / US
        return self.daily * level * seconds / 86400 * self.cfg.volume

    def ports(self, clients: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        bounds = _PORT_RANGES[self.port_range[clients]]
        return generator.integers(bounds[:, 0], bounds[:, 1]).astype(np.uint16)


def build_world(cfg: SimConfig) -> World:
    """Clients numbered from the configured networks; kinds, volumes and rhythms drawn
    from the seed."""
    g = rng(cfg.seed, "population")
    kind = g.choice(len(KINDS), size=cfg.clients, p=KIND_SHARE).astype(np.int8)
    kind[: min(cfg.clients, 1)] = WORKSTATION  # a tiny population still has a person in it
    # heavy-tailed volumes: a few clients are much busier than the rest
    daily = DAILY_QUERIES[kind] * g.lognormal(mean=-0.18, sigma=0.6, size=cfg.clients)
    phase = g.normal(0.0, 1.0, size=cfg.clients)
    port_range = (g.random(cfg.clients) < 0.55).astype(np.int8)
    is_v6 = g.random(cfg.clients) < cfg.ipv6_share
    return World(cfg, _addresses(cfg, is_v6, g), kind, daily, phase, port_range,
                 Zone(cfg.seed))


def _addresses(cfg: SimConfig, is_v6: np.ndarray, g: np.random.Generator) -> list[str]:
    nets = [ipaddress.ip_network(n) for n in cfg.client_networks]
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    if not v4:
        is_v6[:] = True
    if not v6:
        is_v6[:] = False
    result = [""] * cfg.clients
    for nets_of, mask in ((v4, ~is_v6), (v6, is_v6)):
        idx = np.flatnonzero(mask)
        if len(idx):
            for i, host in zip(idx, _distinct_hosts(nets_of, len(idx), g), strict=True):
                result[int(i)] = str(host)
    return result


def _distinct_hosts(nets: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network], count: int,
                    g: np.random.Generator) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """`count` distinct host addresses spread over `nets` (skipping network/broadcast)."""
    sizes = [min(n.num_addresses - 2, 2**40) for n in nets]
    total = sum(sizes)
    if count > total:
        raise ValueError(f"{count} clients do not fit in {', '.join(map(str, nets))}")
    picks = np.sort(g.choice(total, size=count, replace=False)) if total < 2**24 else \
        np.unique(g.integers(0, total, size=count * 2))[:count]
    hosts = []
    starts = np.cumsum([0, *sizes])
    for p in picks:
        k = int(np.searchsorted(starts, p, side="right") - 1)
        hosts.append(nets[k].network_address + 1 + int(p - starts[k]))
    return hosts
