"""Spam bots (optional behaviour "spam"): bursts of MX lookups for many recipient domains,
then the A lookups of the mail exchangers, from clients that are not mail servers."""

from __future__ import annotations

import numpy as np

from bluelamp import resources
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import MOBILE, WORKSTATION


class SpamBot(Scheduled):
    name = "spam"

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        fraction = cfg.options.get("spam_fraction", 0.01)
        bots = self.world.claim_share(fraction, g, kinds=(WORKSTATION, MOBILE))
        recipients = resources.benign_domains("top") + resources.benign_domains("random")
        for n, client in enumerate(bots.tolist()):
            every = float(g.uniform(1200, 5400))
            bursts = np.arange(cfg.start_us + int(g.uniform(0, every) * US), cfg.end_us,
                               int(every * US))
            ts_parts, names, qtypes = [], [], []
            for start in bursts.tolist():
                size = int(g.integers(50, 400))
                ts = start + np.sort(g.integers(0, int(g.uniform(60, 300) * US), size))
                doms = [recipients[i].strip(".") for i in g.integers(0, len(recipients), size)]
                # MX first, then the exchanger's address a moment later
                ts_parts += [ts, ts + 30_000]
                names += doms + [f"mx1.{d}" for d in doms]
                qtypes += [np.full(size, 15, np.uint16), np.full(size, 1, np.uint16)]
            ts_all = np.concatenate(ts_parts) if ts_parts else np.zeros(0, np.int64)
            actor = Actor("spam", self.world.address[client], family="spambot",
                          campaign=f"spam-{n + 1}", period_s=round(every, 1),
                          detail={"bursts": len(bursts)})
            qtype = np.concatenate(qtypes) if qtypes else np.zeros(0, np.uint16)
            self.add(actor, client, Rows(ts_all, names, qtype, 0))
        self.finish()
