"""Client-level detection metrics against `labels.parquet` (see docs/simulate.md).

A finding about a client is a true positive for a detector when the client's label is one the
detector targets (`TARGETS`), a false positive when the client is benign, and "other" when it
is malicious for another reason (a DGA bot whose retries look periodic to the beacon
detector is not a false alarm, but it is not that detector's catch either). Recall is over
labelled clients with at least one malicious query; the false-positive rate is over benign
clients. Time to detect is the end of the window that produced the first true finding minus
the client's first malicious query.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from bluelamp.detect.base import Finding

#: labels each detector is meant to find; a detector not listed targets every malicious label
TARGETS: dict[str, set[str]] = {
    "infected-client": {"dga"},
    "nxdomain-burst": {"dga"},
    "beacon": {"beacon"},
    "tunnel": {"tunnel"},
    "dns-tunnel": {"tunnel"},
    "tunnelling": {"tunnel"},
    "water-torture": {"water-torture"},
    "spam-bot": {"spam"},
    "spam-bots": {"spam"},
}


@dataclass(frozen=True)
class Detected:
    """When a finding became known: the end of the window it came from."""

    finding: Finding
    known_at: dt.datetime


def window_end(finding: Finding, window: dt.timedelta) -> dt.datetime:
    """End of the epoch-aligned window that holds the finding's last_seen."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    last = finding.last_seen if finding.last_seen.tzinfo else finding.last_seen.replace(
        tzinfo=dt.UTC)
    n = (last - epoch) // window
    return epoch + (n + 1) * window


def client_metrics(labels: list[dict[str, Any]], found: list[Detected],
                   detectors: list[str]) -> dict[str, Any]:
    """Per detector and overall: precision, recall, FPR, time to detect."""
    by_client = {r["client"]: r for r in labels if r["client"]}
    benign = {c for c, r in by_client.items() if not r["malicious"]}
    active = {c for c, r in by_client.items() if r["malicious"] and r["queries"] > 0}
    first: dict[tuple[str, str], dt.datetime] = {}
    for d in found:
        if d.finding.subject_kind != "client" or d.finding.subject not in by_client:
            continue
        key = (d.finding.detector, d.finding.subject)
        if key not in first or d.known_at < first[key]:
            first[key] = d.known_at
    per: dict[str, Any] = {}
    for name in detectors:
        targets = TARGETS.get(name)
        wanted = {c for c in active if targets is None or by_client[c]["label"] in targets}
        flagged = {c: t for (det, c), t in first.items() if det == name}
        per[name] = _scores(flagged, wanted, benign, by_client)
    anyone: dict[str, dt.datetime] = {}
    for (_, c), t in first.items():
        anyone[c] = min(t, anyone.get(c, t))
    overall = _scores(anyone, active, benign, by_client)
    overall["recall_by_label"] = _recall_by(anyone, active, by_client, "label")
    return {"detectors": per, "all_detectors": overall,
            "clients": {"benign": len(benign), "malicious_active": len(active)}}


def _scores(flagged: dict[str, dt.datetime], wanted: set[str], benign: set[str],
            by_client: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tp = [c for c in flagged if c in wanted]
    fp = sorted(c for c in flagged if c in benign)
    other = len(flagged) - len(tp) - len(fp)
    delays = [(flagged[c] - by_client[c]["first_seen"]).total_seconds() for c in tp
              if by_client[c]["first_seen"] is not None]
    return {
        "flagged": len(flagged), "true_positives": len(tp), "false_positives": len(fp),
        "other_malicious": other, "targets": len(wanted),
        "precision": _ratio(len(tp), len(tp) + len(fp)),
        "recall": _ratio(len(tp), len(wanted)),
        "fpr": _ratio(len(fp), len(benign)),
        "ttd_median_s": float(np.median(delays)) if delays else None,
        "ttd_max_s": float(np.max(delays)) if delays else None,
        "false_positive_clients": fp[:20],
        "missed": sorted(c for c in wanted if c not in flagged)[:20],
    }


def _recall_by(flagged: dict[str, Any] | set[str], wanted: set[str],
               by_client: dict[str, dict[str, Any]], field: str) -> dict[str, Any]:
    total: defaultdict[str, int] = defaultdict(int)
    hit: defaultdict[str, int] = defaultdict(int)
    for c in wanted:
        key = str(by_client[c][field])
        total[key] += 1
        hit[key] += c in flagged
    return {k: {"recall": _ratio(hit[k], n), "n": n} for k, n in sorted(total.items())}


def dga_metrics(labels: list[dict[str, Any]], found: list[Detected]) -> dict[str, Any]:
    """Infected-client extras: recall per family, C2 named, family guessed right."""
    dga = {r["client"]: r for r in labels if r["label"] == "dga" and r["queries"] > 0}
    client_findings = [d.finding for d in found if d.finding.detector == "infected-client"
                       and d.finding.subject_kind == "client"]
    hit = {f.subject for f in client_findings if f.subject in dga}
    by_family = _recall_by(hit, set(dga), dga, "family")
    c2_named = {f.subject for d in found if (f := d.finding).type == "dga-c2"}
    campaigns = {r["campaign"]: r for r in dga.values()}
    daily = {c: _daily_c2(r) for c, r in campaigns.items()}
    c2_ok = sum(bool(daily[c] & c2_named) for c in campaigns)
    true_c2 = set().union(*daily.values()) if daily else set()
    sinkholed = {n for r in dga.values() for n in json.loads(r["detail"] or "{}").get(
        "sinkholed", [])}
    guesses = [(f.evidence.get("family"), dga[f.subject]["family"]) for f in client_findings
               if f.subject in dga]
    right = sum(g == truth for g, truth in guesses)
    unknown = sum(g == "unknown DGA" for g, _ in guesses)
    return {"recall_by_family": by_family,
            "campaigns": len(campaigns), "campaigns_c2_named": c2_ok,
            "c2_names_sinkholed": len(c2_named & sinkholed),
            "c2_names_wrong": sorted(c2_named - true_c2 - sinkholed),
            "family_guess": {"findings": len(guesses), "right": right, "unknown": unknown,
                             "wrong": len(guesses) - right - unknown}}


def _daily_c2(label: dict[str, Any]) -> set[str]:
    names = {label["c2_domain"]}
    detail = json.loads(label["detail"] or "{}")
    names |= {pair[0] for pair in detail.get("daily_c2", [])}
    return names


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 6) if b else None
