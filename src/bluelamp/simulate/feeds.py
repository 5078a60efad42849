"""Simulated threat-feed reports about simulated hosts, for the demo and exercises.

The reports are real formats (Shadowserver's published field lists, the same file the feed
parser maps by), filled with plausible values about hosts of the given networks, so that the
whole path — parse, validate, attribute, notify, share — runs on them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
from collections.abc import Sequence
from importlib import resources

import numpy as np

#: report type → (share of hosts it names, fixed column values); families are real ones
REPORTS: dict[str, tuple[float, dict[str, str]]] = {
    "event4_sinkhole_http": (0.03, {"protocol": "tcp", "dst_port": "80", "severity": "high",
                                    "tag": "sinkhole", "application": "http"}),
    "scan_rdp": (0.05, {"protocol": "tcp", "port": "3389", "severity": "medium",
                        "tag": "rdp"}),
    "scan_ssl_poodle": (0.02, {"protocol": "tcp", "port": "443", "severity": "medium",
                               "tag": "ssl-poodle"}),
}
FAMILIES = ("qakbot", "emotet", "andromeda", "necurs", "conficker")


def _fields(report: str) -> list[str]:
    spec = json.loads(resources.files("bluelamp.sources.feeds")
                      .joinpath("shadowserver_reports.json").read_text())
    return list(spec[report]["fields"])


def _hosts(networks: Sequence[str], count: int, rng: np.random.Generator) -> list[str]:
    nets = [ipaddress.ip_network(n) for n in networks]
    picks = rng.integers(0, len(nets), size=count)
    out = []
    for k in picks:
        net = nets[int(k)]
        span = min(net.num_addresses - 2, 2**32)
        out.append(str(net.network_address + 1 + int(rng.integers(0, max(span, 1)))))
    return sorted(set(out), key=lambda a: (":" in a, a))


def shadowserver_reports(networks: Sequence[str], day: dt.date, *, seed: int = 0,
                         hosts: int = 400, country: str = "GB") -> dict[str, str]:
    """File name → CSV text of one Shadowserver report per type in `REPORTS`, naming hosts in
    `networks` seen on `day`. Same arguments give the same text."""
    rng = np.random.default_rng(seed)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    out: dict[str, str] = {}
    for report, (share, fixed) in REPORTS.items():
        fields = _fields(report)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for ip in _hosts(networks, max(1, int(hosts * share)), rng):
            seen = start + dt.timedelta(seconds=int(rng.integers(0, 86_400)))
            row = {f: "" for f in fields}
            row.update({k: v for k, v in fixed.items() if k in row})
            row.update({"timestamp": seen.strftime("%Y-%m-%d %H:%M:%SZ"), "src_ip": ip,
                        "ip": ip, "src_geo": country, "geo": country})
            if "infection" in row:
                family = FAMILIES[int(rng.integers(0, len(FAMILIES)))]
                row.update({"infection": family, "family": family})
            writer.writerow({k: v for k, v in row.items() if k in fields})
        out[f"{day.isoformat()}-{report}-{country.lower()}-geo.csv"] = buf.getvalue()
    return out
