"""C2 beacons: implants that check in with one server every `period` seconds (±jitter).

The C2 sits behind an ordinary-looking registered domain with a short TTL, so that every
check-in reaches the resolver. Periods are 60-3600 s (log-uniform) and jitter 0-30 % of the
period, as in common post-exploitation frameworks. A few implants also fetch tasks by TXT.
"""

from __future__ import annotations

import numpy as np

from bluelamp.domains import registered_domain
from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.zone import Pinned, address_v4

WORDS = ("cloud", "sync", "update", "metrics", "cdn", "api", "secure", "portal", "static",
         "office", "data", "service", "health", "telemetry", "analytics", "media", "news",
         "weather", "shop", "login", "account", "online", "global", "edge", "app", "store",
         "docs", "mail", "web", "connect", "status", "check", "config", "assets", "live")
TLDS = ("com", "net", "org", "io", "info", "xyz", "online", "site")
HOSTS = ("", "api.", "cdn.", "update.", "www.", "static.")


def ordinary_domain(g: np.random.Generator) -> str:
    a, b = g.choice(len(WORDS), size=2, replace=False)
    sep = "-" if g.random() < 0.5 else ""
    return f"{WORDS[a]}{sep}{WORDS[b]}.{TLDS[int(g.integers(0, len(TLDS)))]}"


class Beacon(Scheduled):
    name = "beacon"

    def plan(self, g: np.random.Generator) -> None:
        clients = self.world.claim_share(self.world.cfg.beacon_fraction, g)
        shared: tuple[str, str, str] | None = None
        for n, client in enumerate(clients.tolist()):
            if shared is None or g.random() >= 0.3:  # 30 % join the previous campaign
                domain = ordinary_domain(g)
                qname = HOSTS[int(g.integers(0, len(HOSTS)))] + domain
                shared = (f"beacon-{n + 1}", domain, qname)
            self._implant(client, *shared, g)
        self.finish()

    def _implant(self, client: int, cid: str, domain: str, qname: str,
                 g: np.random.Generator) -> None:
        cfg = self.world.cfg
        period = float(np.exp(g.uniform(np.log(60), np.log(3600))))
        jitter = float(g.uniform(0, 0.3))
        address = address_v4(domain, salt="c2")
        self.world.zone.pin(qname, Pinned(v4=(address,), ttl=int(g.choice([0, 30, 60])),
                                          txt=("ok",)))
        span_s = (cfg.end_us - cfg.start_us) / US
        start = cfg.start_us + int(g.uniform(0, 0.3) * span_s * US)
        count = int(span_s / period) + 2
        gaps = period * (1 + g.uniform(-jitter, jitter, size=count))
        ts = start + np.concatenate([[0], np.cumsum((gaps[:-1] * US).astype(np.int64))])
        uses_txt = g.random() < 0.15
        qtype = np.where(uses_txt & (g.random(count) < 0.5), 16, 1).astype(np.uint16)
        actor = Actor("beacon", self.world.address[client], family="c2-beacon", campaign=cid,
                      c2_domain=qname, c2_address=address,
                      registered_domain=registered_domain(qname), domains=[domain],
                      period_s=round(period, 3), jitter=round(jitter, 4),
                      detail={"txt_tasks": bool(uses_txt)})
        self.add(actor, client, Rows(ts.astype(np.int64), [qname] * count, qtype, 0))
