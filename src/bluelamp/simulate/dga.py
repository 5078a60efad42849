"""DGA-infected clients.

A campaign runs one family: its bots share a set of that family's names (from the embedded
outputs of the real algorithms) and query them in the same order, cycle after cycle, until
one resolves: the C2. Everything else is NXDOMAIN, except now and then a name a researcher
has sinkholed. Several clients share a campaign, as bots of one botnet do.
"""

from __future__ import annotations

from collections import defaultdict
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
    known = family_names(extra_file)
    if not wanted:
        return list(known)
    unknown = [f for f in wanted if f not in known]
    if unknown:
        raise ValueError(f"unknown DGA families {unknown}; known: {', '.join(known)}")
    return list(dict.fromkeys(wanted))


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
        pool = family_names(self.world.cfg.dga_names_file)[family]
        size = min(len(pool), int(g.integers(30, 260)))
        names = [pool[j] for j in g.choice(len(pool), size=size, replace=False)]
        c2_at = int(g.integers(0, size))
        c2 = names[c2_at]
        c2_addr = address_v4(c2, salt="c2")
        self.world.zone.pin(c2, Pinned(v4=(c2_addr,), ttl=300))
        rcode = np.full(size, 3, np.uint8)
        rcode[c2_at] = 0
        sinkholed = []
        if g.random() < 0.3:  # a researcher registered one of the names
            s = int(g.integers(0, size))
            if s != c2_at:
                self.world.zone.pin(names[s], Pinned(v4=(str(g.choice(SINKHOLE_V4)),),
                                                     ttl=3600))
                rcode[s] = 0
                sinkholed.append(names[s])
        cycle_s = float(g.uniform(600, 3600))
        stop_at_c2 = bool(g.random() < 0.7)
        walk = c2_at + 1 if stop_at_c2 else size
        for client in clients.tolist():
            actor = Actor("dga", self.world.address[client], family=family, campaign=cid,
                          c2_domain=c2, c2_address=c2_addr,
                          registered_domain=registered_domain(c2), domains=names,
                          period_s=round(cycle_s, 1),
                          detail={"set_size": size, "c2_position": c2_at,
                                  "stops_at_c2": stop_at_c2, "sinkholed": sinkholed})
            self.add(actor, client, self._client_rows(names, rcode, walk, cycle_s, g))

    def _client_rows(self, names: list[str], rcode: np.ndarray, walk: int, cycle_s: float,
                     g: np.random.Generator) -> Rows:
        cfg = self.world.cfg
        span = cfg.end_us - cfg.start_us
        # most bots run all day; some get infected during it
        start = cfg.start_us + (0 if g.random() < 0.6 else int(g.uniform(0, 0.8) * span))
        cycles = np.arange(start, cfg.end_us, int(cycle_s * US), dtype=np.int64)
        cycles = cycles + g.integers(0, int(cycle_s * US * 0.1) + 1, size=len(cycles))
        gaps = g.exponential(0.35, size=(len(cycles), walk)) + 0.02
        gaps[:, 0] = 0
        ts = (cycles[:, None] + np.cumsum((gaps * US).astype(np.int64), axis=1)).ravel()
        idx = np.tile(np.arange(walk), len(cycles))
        return Rows(ts, [names[i] for i in idx.tolist()], 1, rcode[idx])
