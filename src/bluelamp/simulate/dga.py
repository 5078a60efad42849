"""DGA-infected clients.

A campaign runs one family: its bots share a set of that family's names (from the embedded
outputs of the real algorithms) and query them in the same order, cycle after cycle, until
one resolves: the C2. Everything else is NXDOMAIN, except now and then a name a researcher
has sinkholed. Several clients share a campaign, as bots of one botnet do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import numpy as np

from bluelamp import resources
from bluelamp.domains import registered_domain
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.zone import Pinned, address_v4

#: sinkhole operators answer with their own addresses; these look like such a range
SINKHOLE_V4 = ("195.22.26.248", "195.22.26.252", "148.81.111.121")


@cache
def family_names(extra_file: str | None = None) -> dict[str, tuple[str, ...]]:
    """DGA names by family: the embedded ones, plus those of `extra_file`."""
    out: defaultdict[str, list[str]] = defaultdict(list)
    for family, name in (*resources.dga_names(), *read_pairs(extra_file)):
        out[family].append(name)
    return {k: tuple(dict.fromkeys(v)) for k, v in sorted(out.items())}


def read_pairs(path: str | None) -> list[tuple[str, str]]:
    """`family<TAB>domain` lines (a `family` header line and # comments are skipped)."""
    if path is None:
        return []
    pairs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#") or line.lower().startswith("family\t"):
                continue
            family, sep, name = line.partition("\t")
            if not sep or not family or not name:
                raise ValueError(f"{path}:{number}: expected family<TAB>domain, got "
                                 f"{line[:60]!r}")
            pairs.append((family.strip(), name.strip().lower().rstrip(".")))
    return pairs


def check_families(wanted: tuple[str, ...] | None, extra_file: str | None = None) -> list[str]:
    """The families to run: all when `wanted` is empty; names prefixed with "-" are left
    out of all (`("-banjori", "-pushdo")`: every family but those two)."""
    known = family_names(extra_file)
    wanted = wanted or ()
    include = [f for f in wanted if not f.startswith("-")]
    exclude = {f[1:] for f in wanted if f.startswith("-")}
    unknown = [f for f in (*include, *sorted(exclude)) if f not in known]
    if unknown:
        raise ValueError(f"unknown DGA families {unknown}; known: {', '.join(known)}")
    chosen = [f for f in (include or list(known)) if f not in exclude]
    if not chosen:
        raise ValueError("no DGA family left to simulate")
    return list(dict.fromkeys(chosen))


class Dga(Scheduled):
    name = "dga"

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        families = check_families(cfg.dga_families, cfg.dga_names_file)
        infected = self.world.claim_share(cfg.dga_fraction, g)
        g.shuffle(infected)
        order = list(g.permutation(families))
        i = campaign = 0
        while i < len(infected):
            size = min(int(g.integers(1, 5)), len(infected) - i)
            family = str(order[campaign % len(order)])
            self._campaign(f"dga-{campaign + 1}", family, infected[i : i + size], g)
            i += size
            campaign += 1
        self.finish()

    def _campaign(self, cid: str, family: str, clients: np.ndarray,
                  g: np.random.Generator) -> None:
        """Bots of one campaign: the same name set each day (a new one at every UTC
        midnight, as date-seeded algorithms do), walked in the same order."""
        pool = family_names(self.world.cfg.dga_names_file)[family]
        size = min(len(pool), int(g.integers(30, 260)))
        days = [self._day(lo, hi, pool, size, g) for lo, hi in self._days()]
        _registered_everywhere(days)
        cycle_s = float(g.uniform(600, 3600))
        stop_at_c2 = bool(g.random() < 0.7)
        every = sorted({n for d in days for n in d.names})
        for client in clients.tolist():
            rows, first_day = self._client_rows(days, stop_at_c2, cycle_s, g)
            day = days[first_day]
            detail: dict[str, object] = {"set_size": size, "c2_position": day.c2_at,
                                         "stops_at_c2": stop_at_c2, "sinkholed": day.sinkholed}
            if len(days) > 1:
                detail["daily_c2"] = [[d.names[d.c2_at], d.c2_address] for d in days]
            actor = Actor("dga", self.world.address[client], family=family, campaign=cid,
                          c2_domain=day.names[day.c2_at], c2_address=day.c2_address,
                          registered_domain=registered_domain(day.names[day.c2_at]),
                          domains=every, period_s=round(cycle_s, 1), detail=detail)
            self.add(actor, client, rows)

    def _days(self) -> list[tuple[int, int]]:
        cfg = self.world.cfg
        day = 86_400 * US
        lo = cfg.start_us // day * day
        return [(max(t, cfg.start_us), min(t + day, cfg.end_us))
                for t in range(lo, cfg.end_us, day)]

    def _day(self, lo: int, hi: int, pool: tuple[str, ...], size: int,
             g: np.random.Generator) -> DaySet:
        names = [pool[j] for j in g.choice(len(pool), size=size, replace=False)]
        c2_at = int(g.integers(0, size))
        address = address_v4(names[c2_at], salt="c2")
        self.world.zone.pin(names[c2_at], Pinned(v4=(address,), ttl=300))
        rcode = np.full(size, 3, np.uint8)
        rcode[c2_at] = 0
        sinkholed = []
        s = int(g.integers(0, size))
        if g.random() < 0.3 and s != c2_at:  # a researcher registered one of the names
            self.world.zone.pin(names[s], Pinned(v4=(str(g.choice(SINKHOLE_V4)),), ttl=3600))
            rcode[s] = 0
            sinkholed.append(names[s])
        return DaySet(lo, hi, names, rcode, c2_at, address, sinkholed, c2_at)

    def _client_rows(self, days: list[DaySet], stop_at_c2: bool, cycle_s: float,
                     g: np.random.Generator) -> tuple[Rows, int]:
        """A bot's queries, and the index of the day it starts on. Most bots run from the
        start; some get infected later."""
        cfg = self.world.cfg
        span = cfg.end_us - cfg.start_us
        start = cfg.start_us + (0 if g.random() < 0.6 else int(g.uniform(0, 0.8) * span))
        cycles = np.arange(start, cfg.end_us, int(cycle_s * US), dtype=np.int64)
        cycles = cycles + g.integers(0, int(cycle_s * US * 0.1) + 1, size=len(cycles))
        ts_parts: list[np.ndarray] = []
        names: list[str] = []
        rcodes: list[np.ndarray] = []
        for d in days:
            mine = cycles[(cycles >= d.lo) & (cycles < d.hi)]
            walk = d.stop_at + 1 if stop_at_c2 else len(d.names)
            gaps = g.exponential(0.35, size=(len(mine), walk)) + 0.02
            gaps[:, 0] = 0
            ts_parts.append((mine[:, None] + np.cumsum((gaps * US).astype(np.int64),
                                                       axis=1)).ravel())
            idx = np.tile(np.arange(walk), len(mine))
            names += [d.names[i] for i in idx.tolist()]
            rcodes.append(d.rcode[idx])
        first_day = next((i for i, d in enumerate(days) if start < d.hi), 0)
        return Rows(np.concatenate(ts_parts), names, 1, np.concatenate(rcodes)), first_day


@dataclass
class DaySet:
    """One day's names of a campaign, which of them answers, and where."""

    lo: int
    hi: int
    names: list[str]
    rcode: np.ndarray
    c2_at: int
    c2_address: str
    sinkholed: list[str]
    stop_at: int  # where a bot that stops at the first C2 stops


def _registered_everywhere(days: list[DaySet]) -> None:
    """A registered name resolves on every day, not only on the day it is the C2: when
    daily sets overlap, another day's C2 or sinkhole answers, and a bot stops at the
    first C2 it reaches."""
    c2s = {d.names[d.c2_at] for d in days}
    resolving = c2s | {n for d in days for n in d.sinkholed}
    for d in days:
        for i, name in enumerate(d.names):
            if name in resolving:
                d.rcode[i] = 0
        d.stop_at = next(i for i, name in enumerate(d.names) if name in c2s)
