"""Measure the domain-behaviour detectors on simulated traffic (not a test: a script).

    python tests/detect_domains/measure.py --clients 3000 --hours 24 --seed 23

Simulates a day with every optional behaviour (spam, phishing, water torture, fast flux),
runs the six detectors through the engine slice by slice (bounded memory) and scores their
findings against `labels`: incidents found, and benign subjects flagged over the benign
subjects there were (registered domains for the domain detectors, clients for spam). Prints
one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding
from bluelamp.detect.engine import Engine
from bluelamp.detect.fast_flux import fast_flux
from bluelamp.detect.lookalike import lookalike
from bluelamp.detect.newly_observed import newly_observed
from bluelamp.detect.spam import spam_bots
from bluelamp.detect.tunnel import tunnel
from bluelamp.detect.water_torture import water_torture
from bluelamp.domains import registered_domains
from bluelamp.settings import DetectSettings
from bluelamp.simulate import SimConfig, Simulation

EXTRA = ("spam", "phishing", "water-torture", "fast-flux")


def detectors() -> list[Any]:
    cfg = DetectSettings()
    return [f(settings=cfg) for f in (tunnel, water_torture, fast_flux, spam_bots, lookalike,
                                      newly_observed)]


def run(clients: int, hours: float, seed: int) -> tuple[list[Finding], pa.Table, set[str],
                                                        set[str], dict[str, Any]]:
    sim = Simulation(SimConfig(clients=clients, hours=hours, seed=seed, extra=EXTRA))
    engine = Engine(detectors(), grace=dt.timedelta(hours=2))
    found: list[Finding] = []
    domains: set[str] = set()
    all_clients: set[str] = set()
    rows, cpu = 0, 0.0
    for table in sim.tables():
        rows += table.num_rows
        domains.update(pc.unique(registered_domains(table.column("qname"))).drop_null()
                       .to_pylist())
        all_clients.update(pc.unique(table.column("client")).drop_null().to_pylist())
        t = time.process_time()
        found += engine.process(table)
        cpu += time.process_time() - t
    t = time.process_time()
    found += engine.flush()
    cpu += time.process_time() - t
    stats = {"rows": rows, "detector_cpu_s": round(cpu, 1),
             "rows_per_cpu_s": round(rows / cpu),
             "detector_seconds": {k: round(v, 1)
                                  for k, v in engine.metrics.detector_seconds.items()}}
    return found, sim.labels(), domains, all_clients, stats


def score(found: list[Finding], labels: pa.Table, domains: set[str],
          clients: set[str]) -> dict[str, Any]:
    windows = {d.name: d.window for d in detectors()}
    lab = labels.to_pylist()
    bad_domains = {d for r in lab if r["malicious"]
                   for d in [r["registered_domain"], *(r["domains"] or [])] if d}
    bad_domains |= set(registered_domains(pa.array(sorted(bad_domains), pa.string()))
                       .drop_null().to_pylist())
    bad_clients = {r["client"] for r in lab if r["malicious"] and r["client"]}
    by: dict[str, list[Finding]] = defaultdict(list)  # domain findings per detector
    hosts: dict[str, set[str]] = defaultdict(set)     # client findings per detector
    for f in found:
        if f.subject_kind == "client":
            hosts[f.detector].add(f.subject)
        else:
            by[f.detector].append(f)
    out: dict[str, Any] = {}

    def domain_detector(name: str, label: str) -> dict[str, Any]:
        subjects = {f.subject for f in by[name]}
        wanted = {r["registered_domain"] for r in lab if r["label"] == label}
        benign = subjects - bad_domains
        return {"incidents": len(wanted), "found": len(wanted & subjects),
                "ttd_minutes": _ttd(lab, by[name], label, windows[name]),
                "missed": sorted(wanted - subjects), "benign_flagged": sorted(benign),
                "benign_domains": len(domains - bad_domains),
                "benign_rate": len(benign) / max(1, len(domains - bad_domains))}

    pairs = {(f.subject, c["client"]) for f in by["dns-tunnel"]
             for c in f.evidence["clients"]}
    sessions = [(r["registered_domain"], r["client"]) for r in lab if r["label"] == "tunnel"]
    out["dns-tunnel"] = {**domain_detector("dns-tunnel", "tunnel"),
                         "sessions": len(sessions),
                         "sessions_found": sum(s in pairs for s in sessions),
                         "by_tool": _by_tool(lab, pairs)}
    out["dns-tunnel"]["client_findings"] = _clients(lab, hosts["dns-tunnel"], "tunnel",
                                                     bad_clients)
    out["water-torture"] = domain_detector("water-torture", "water-torture")
    out["water-torture"]["client_findings"] = _clients(lab, hosts["water-torture"],
                                                        "water-torture", bad_clients)
    out["fast-flux"] = domain_detector("fast-flux", "fast-flux")
    out["lookalike"] = domain_detector("lookalike", "phishing")
    spam = hosts["spam-bot"]
    bots = {r["client"] for r in lab if r["label"] == "spam"}
    out["spam-bot"] = {"incidents": len(bots), "found": len(bots & spam),
                       "benign_flagged": sorted(spam - bad_clients),
                       "benign_clients": len(clients - bad_clients)}
    new = {f.subject for f in by["newly-observed"]}
    out["newly-observed"] = {"flagged": len(new), "malicious": sorted(new & bad_domains),
                             "benign_flagged": sorted(new - bad_domains),
                             "benign_domains": len(domains - bad_domains)}
    return out


def _ttd(lab: list[dict[str, Any]], found: list[Finding], label: str,
         window: dt.timedelta) -> dict[str, float] | None:
    """Time to detect per incident (minutes): end of the window of the first finding on
    its domain − the incident's first malicious query (earliest over its actors)."""
    start: dict[str, dt.datetime] = {}
    for r in lab:
        if r["label"] == label and r["first_seen"] is not None:
            d = r["registered_domain"]
            start[d] = min(r["first_seen"], start.get(d, r["first_seen"]))
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    known: dict[str, dt.datetime] = {}
    for f in found:
        end = epoch + ((f.last_seen - epoch) // window + 1) * window
        known[f.subject] = min(end, known.get(f.subject, end))
    ttd = [(known[d] - t).total_seconds() / 60 for d, t in start.items() if d in known]
    if not ttd:
        return None
    return {"median": round(float(np.median(ttd)), 1), "max": round(max(ttd), 1)}


def _clients(lab: list[dict[str, Any]], flagged: set[str], label: str,
             bad: set[str]) -> dict[str, Any]:
    wanted = {r["client"] for r in lab if r["label"] == label and r["queries"]}
    return {"clients": len(wanted), "found": len(wanted & flagged),
            "benign_flagged": sorted(flagged - bad)}


def _by_tool(lab: list[dict[str, Any]], pairs: set[tuple[str, str]]) -> dict[str, str]:
    tools: dict[str, list[bool]] = defaultdict(list)
    for r in lab:
        if r["label"] == "tunnel":
            tools[r["family"]].append((r["registered_domain"], r["client"]) in pairs)
    return {t: f"{sum(v)}/{len(v)}" for t, v in sorted(tools.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    found, labels, domains, clients, stats = run(args.clients, args.hours, args.seed)
    print(json.dumps({"args": vars(args), **stats,
                      "scores": score(found, labels, domains, clients)}, indent=1))


if __name__ == "__main__":
    main()
