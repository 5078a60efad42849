"""Water torture (optional behaviour "water-torture"): a random-subdomain DDoS on one
victim domain. Several bots send `<random label>.<victim>` queries at a high rate for
tens of minutes; the victim's servers answer NXDOMAIN, then buckle (SERVFAIL)."""

from __future__ import annotations

import numpy as np

from bluelamp.simulate.beacon import ordinary_domain
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.randtext import ALNUM, random_strings
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import IOT, SERVER, WORKSTATION


class WaterTorture(Scheduled):
    name = "water-torture"

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        bots = self.world.claim_share(cfg.options.get("water_torture_fraction", 0.02), g,
                                      kinds=(IOT, SERVER, WORKSTATION))
        if len(bots) == 0:
            return self.finish()
        victim = ordinary_domain(g)
        span = cfg.end_us - cfg.start_us
        start = cfg.start_us + int(g.uniform(0.1, 0.7) * span)
        minutes = float(g.uniform(10, 40))
        for client in bots.tolist():
            rate = float(g.uniform(2, 20))  # queries per second per bot
            count = int(rate * minutes * 60)
            ts = start + np.sort(g.integers(0, int(minutes * 60 * US), count))
            labels = random_strings(g, ALNUM, count, 8, 16)
            # the victim's servers give up in the second half of the attack
            overloaded = (ts - start) > minutes * 30 * US
            rcode = np.where(overloaded & (g.random(count) < 0.6), 2, 3).astype(np.uint8)
            actor = Actor("water-torture", self.world.address[client], family="random-subdomain",
                          campaign="water-torture-1", registered_domain=victim,
                          domains=[victim], detail={"victim": victim, "rate_qps": round(rate, 1),
                                                    "minutes": round(minutes, 1)})
            self.add(actor, client, Rows(ts, [f"{x}.{victim}" for x in labels], 1, rcode))
        return self.finish()
