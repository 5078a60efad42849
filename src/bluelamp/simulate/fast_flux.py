"""Fast flux (optional behaviour "fast-flux"): a criminal domain whose A records rotate
through a large pool of compromised hosts with a very short TTL. A handful of benign
clients visit it now and then (they are victims, not actors): the label is about the
domain (client null)."""

from __future__ import annotations

import numpy as np

from bluelamp.domains import registered_domain
from bluelamp.simulate.beacon import ordinary_domain
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import MOBILE, WORKSTATION
from bluelamp.simulate.zone import address_v4

#: how long one set of A records is served (the TTL), seconds
TTL = 150


class FastFlux(Scheduled):
    name = "fast-flux"
    explicit_answers = True

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        domain = ordinary_domain(g)
        qname = "www." + domain
        # compromised hosts all over the address space, not one hosting network
        pool = [address_v4(f"bot{i}.flux{i}.net", salt=domain) for i in range(400)]
        people = np.flatnonzero(np.isin(self.world.kind, (WORKSTATION, MOBILE)))
        visitors = g.choice(people, size=min(len(people), 8), replace=False)
        actor = Actor("fast-flux", None, family="fast-flux", campaign="fast-flux-1",
                      c2_domain=qname, registered_domain=registered_domain(qname),
                      domains=[domain], detail={"pool": len(pool), "ttl": TTL})
        span_s = (cfg.end_us - cfg.start_us) / US
        for client in visitors.tolist():
            visits = int(g.integers(3, 30))
            ts = np.sort(cfg.start_us + (g.random(visits) * span_s * US).astype(np.int64))
            epoch = (ts // (TTL * US)).tolist()  # answers change every TTL
            answers = [[pool[(e * 7 + k * 53) % len(pool)] for k in range(5)] for e in epoch]
            self.add(actor, client, Rows(ts, [qname] * visits, 1, 0, answers, ttl=TTL))
        actor.detail["victims"] = [self.world.address[c] for c in visitors.tolist()]
        self.finish()
