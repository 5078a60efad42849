"""Benign periodic traffic: the beacons that are not malware.

Monitoring agents report every minute, IoT devices keep their cloud connection alive, mail
and chat clients poll, phones renew push channels, package managers check for updates on a
timer. Their queries are as regular as a C2 beacon's (often more: jitter 0-2 %), so a
beacon detector must tell them apart by other evidence (popular names, many clients, known
services). They are labelled benign with their clients.
"""

from __future__ import annotations

import numpy as np

from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.cdn import REGIONS
from bluelamp.simulate.config import US
from bluelamp.simulate.randtext import ALNUM, random_string
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import IOT, MOBILE, SERVER, WORKSTATION

#: per kind: share of clients with a heartbeat, the services, the periods (seconds)
SERVICES: dict[int, tuple[float, tuple[str, ...], tuple[int, ...]]] = {
    IOT: (1.0, ("{iot}-ats.iot.{region}.amazonaws.com", "device-metrics-us.amazon.com",
                "mqtt.googleapis.com", "api.smartthings.com", "devs.tplinkcloud.com"),
          (30, 60, 60, 120, 300)),
    SERVER: (0.7, ("api.datadoghq.com", "collector.newrelic.com", "security.ubuntu.com",
                   "deb.debian.org", "api.github.com", "monitoring.googleapis.com"),
             (60, 60, 300, 600, 1024, 3600)),
    WORKSTATION: (0.4, ("outlook.office365.com", "teams.microsoft.com", "slack.com",
                        "clients4.google.com", "update.googleapis.com"), (300, 600, 900)),
    MOBILE: (0.3, ("mtalk.google.com", "courier.push.apple.com", "gateway.instagram.com"),
             (900, 1200, 1800)),
}


class Heartbeats(Scheduled):
    name = "heartbeats"

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        for client, kind in enumerate(self.world.kind.tolist()):
            share, names, periods = SERVICES.get(kind, (0.0, (), ()))
            if g.random() >= share:
                continue
            name = names[int(g.integers(0, len(names)))].format(
                iot=random_string(g, ALNUM, 14),
                region=REGIONS[int(g.integers(0, len(REGIONS)))])
            period = int(periods[int(g.integers(0, len(periods)))])
            jitter = float(g.uniform(0, 0.02))
            start = cfg.start_us + int(g.uniform(0, period) * US)
            count = int((cfg.end_us - start) / (period * US)) + 1
            gaps = period * (1 + g.uniform(-jitter, jitter, count))
            ts = start + np.concatenate([[0], np.cumsum((gaps[:-1] * US).astype(np.int64))])
            if kind == WORKSTATION:  # the mail client runs while someone is at work
                hour = (ts / (3600 * US) + cfg.utc_offset_hours) % 24
                weekday = ((ts / US + cfg.utc_offset_hours * 3600) // 86400 + 3) % 7 < 5
                ts = ts[(hour >= 8) & (hour < 18) & weekday]
            actor = Actor("benign", self.world.address[client], family=name,
                          period_s=float(period), jitter=round(jitter, 4))
            qtype = np.where(g.random(len(ts)) < 0.5, 28, 1).astype(np.uint16)
            self.add(actor, client, Rows(ts.astype(np.int64), [name] * len(ts), qtype, 0))
        self.finish()

    def labels(self) -> list[dict[str, object]]:
        """None of its own: these clients carry benign labels (`benign` behaviour)."""
        return []
