"""Browsers' random single-label probes: benign names that look like a DGA's.

At start-up and on every network change, Chromium-based browsers resolve three random
names of 7-15 lower-case letters to detect resolvers that hijack NXDOMAIN; a stub with a
search domain also tries them with the suffix appended. All are NXDOMAIN, all benign.
"""

from __future__ import annotations

import numpy as np

from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import SEARCH_DOMAINS
from bluelamp.simulate.frame import Draft, names
from bluelamp.simulate.randtext import LOWER, random_strings
from bluelamp.simulate.world import MOBILE, WORKSTATION

#: browser starts and network changes per client per day
EVENTS_PER_DAY = 4.0


class BrowserProbes(Behaviour):
    name = "probes"

    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        w = self.world
        browser = (w.kind == WORKSTATION) | (w.kind == MOBILE)
        share = w.activity(lo_us, hi_us) / np.maximum(w.daily * w.cfg.volume, 1e-9)
        events = g.poisson(np.where(browser, EVENTS_PER_DAY * share, 0.0))
        client = np.repeat(np.arange(w.n, dtype=np.int32), events)
        if len(client) == 0:
            return []
        start = g.integers(lo_us, hi_us, size=len(client))
        client = np.repeat(client, 3)
        ts = np.repeat(start, 3) + g.integers(0, 30_000, size=len(client))
        qnames = random_strings(g, LOWER, len(client), 7, 15)
        # workstations with a search list try the suffixed name right after
        suffixed = np.flatnonzero(w.kind[client] == WORKSTATION)
        qnames += [f"{qnames[i]}.{SEARCH_DOMAINS[0]}" for i in suffixed.tolist()]
        client = np.concatenate([client, client[suffixed]])
        ts = np.concatenate([ts, ts[suffixed] + g.integers(200, 3000, size=len(suffixed))])
        keep = ts < hi_us
        n = int(keep.sum())
        return [Draft(ts[keep], client[keep], names(np.asarray(qnames, dtype=object)[keep]),
                      np.ones(n, np.uint16), np.full(n, 3, np.uint8))]
