"""Triage of public reports: the automatic checks (does the host resolve, what do Bluelamp's
events and findings say about it, is it a lookalike of a protected brand), the suggested
category, and clustering URL → host → registered domain → campaign.

A campaign is a set of registered domains tied together by reports: two domains are in one
campaign when they resolve to a shared address or were reported in the same e-mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.reports import rules
from bluelamp.act.reports.lookalike import LookalikeChecker
from bluelamp.detect.brands import Verdict
from bluelamp.domains import is_ip
from bluelamp.settings import ReportSettings
from bluelamp.store.lake import Lake
from bluelamp.store.models.reports import PublicReport, ReportStatus


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def resolves(host: str, settings: ReportSettings) -> dict[str, Any]:
    """A/AAAA of `host` through the configured resolvers: addresses, NXDOMAIN, or why the
    question could not be answered (a timeout is "unknown", never "does not resolve")."""
    resolver = dns.resolver.Resolver(configure=not settings.resolvers)
    if settings.resolvers:
        resolver.nameservers = list(settings.resolvers)
        resolver.port = settings.resolver_port
    resolver.lifetime = settings.resolver_timeout
    resolver.timeout = settings.resolver_timeout
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses += [rd.to_text() for rd in resolver.resolve(host, rdtype)]
        except dns.resolver.NXDOMAIN:
            return {"resolves": False, "detail": "NXDOMAIN"}
        except dns.resolver.NoAnswer:
            continue
        except (dns.exception.DNSException, OSError) as exc:
            return {"resolves": None, "detail": f"could not check: {type(exc).__name__}"}
    return {"resolves": bool(addresses), "addresses": sorted(set(addresses))}


_LAKE_SQL = {
    "event": """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS name)
        SELECT w.name, e.classification_type AS type, e.feed_name AS source, count(*) AS n,
               max(e.time_observed) AS last_seen
        FROM event e JOIN wanted w
          ON lower(e.source_fqdn) = w.name OR lower(e.source_registered_domain) = w.name
             OR e.source_ip = w.name OR lower(e.source_url) LIKE '%//' || w.name || '/%'
        WHERE e.time_observed >= ?
        GROUP BY ALL ORDER BY n DESC""",
    "finding": """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS name)
        SELECT w.name, f.type, f.detector AS source, count(*) AS n, max(f.last_seen) AS last_seen
        FROM finding f JOIN wanted w ON lower(f.subject) = w.name
        WHERE f.last_seen >= ?
        GROUP BY ALL ORDER BY n DESC""",
}


Hits = dict[str, list[dict[str, Any]]]


def lake_hits(lake: Lake | None, names: Sequence[str], days: int) -> Hits:
    """Events and findings about each name (host, registered domain or address), in one
    query per kind for all names."""
    out: Hits = {n: [] for n in names}
    if lake is None or not names:
        return out
    since = _now() - dt.timedelta(days=days)
    for kind, sql in _LAKE_SQL.items():
        if not lake.files(kind):
            continue
        for row in lake.query(sql, [list(names), since]).to_pylist():
            name = row.pop("name")
            row["kind"] = kind
            row["last_seen"] = str(row["last_seen"]) if row["last_seen"] else None
            out[name].append(row)
    return out


@dataclass
class Triage:
    """What triage needs, built once per batch of reports."""

    settings: ReportSettings
    lake: Lake | None = None
    checker: LookalikeChecker | None = None

    def __post_init__(self) -> None:
        self.looks = self.checker or LookalikeChecker.for_reports(self.settings)

    def check(self, reports: Sequence[PublicReport]) -> None:
        """Run the automatic checks on `reports`, store them and suggest a category; a
        report backed by evidence (lake, lookalike) counts as verified."""
        names = sorted({n for r in reports for n in (r.host, r.registered_domain) if n})
        try:
            hits = lake_hits(self.lake, names, self.settings.lake_days)
            lake_error = None
        except Exception as exc:  # an unreadable lake must not stop triage
            hits, lake_error = {}, f"{type(exc).__name__}: {exc}"[:200]
        dns_cache: dict[str, dict[str, Any]] = {}
        # one lookalike query for all hosts that have a registered domain
        hosts = sorted({r.host for r in reports if r.registered_domain})
        looks = dict(zip(hosts, self.looks.check_all(hosts), strict=True))
        for report in reports:
            if report.host not in dns_cache:
                dns_cache[report.host] = ({"resolves": True, "addresses": [report.host]}
                                          if is_ip(report.host)
                                          else resolves(report.host, self.settings))
            self._apply(report, dns_cache[report.host], hits, lake_error,
                        looks.get(report.host) if report.registered_domain else None)

    def _apply(self, report: PublicReport, dns_result: dict[str, Any],
               hits: dict[str, list[dict[str, Any]]], lake_error: str | None,
               look: Verdict | None) -> None:
        reg = report.registered_domain
        found = hits.get(report.host, []) + (hits.get(reg, []) if reg and reg != report.host
                                             else [])
        checks = {"dns": dns_result, "lake": found, "lake_error": lake_error,
                  "lookalike": None if look is None else {
                      "brand": look.brand, "kind": look.kind, "score": look.score,
                      "label": look.label}}
        guess = rules.suggest(report.url, report.description, report.claimed_category,
                              look.describe() if look else None, [h["type"] for h in found])
        checks["suggestion"] = {"category": guess.category, "reasons": list(guess.reasons),
                                "strong": guess.strong}
        report.checks = json.dumps(checks, default=str)
        report.category = guess.category
        report.checked_at = _now()
        if guess.strong and report.verified_at is None:
            report.verified_at = report.checked_at
        if report.status == ReportStatus.received.value:
            report.status = ReportStatus.checked.value


def checks_of(report: PublicReport) -> dict[str, Any]:
    try:
        value = json.loads(report.checks or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def pending(db: Session, limit: int = 500) -> list[PublicReport]:
    """Reports not yet checked, oldest first."""
    return list(db.scalars(select(PublicReport).where(
        PublicReport.status == ReportStatus.received.value).order_by(PublicReport.id)
        .limit(limit)))


# ------------------------------------------------------------------ campaigns

class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def campaign_id(domains: Iterable[str]) -> str:
    """A stable name for a set of domains: it changes only when the set's first member does."""
    return "C-" + hashlib.sha256(min(domains).encode()).hexdigest()[:10]


def assign_campaigns(reports: Sequence[PublicReport]) -> dict[str, list[str]]:
    """Link the reports' registered domains (or hosts) by shared addresses and shared
    e-mails; store each report's campaign. Returns campaign → its domains."""
    union = _Union()
    by_link: dict[str, str] = {}
    for r in reports:
        key = r.registered_domain or r.host
        union.find(key)
        links = [f"ip:{a}" for a in checks_of(r).get("dns", {}).get("addresses", [])]
        if r.source_ref and r.channel == "email":
            links.append(f"mail:{r.source_ref}")
        for link in links:
            if link in by_link:
                union.join(key, by_link[link])
            else:
                by_link[link] = key
    members: dict[str, list[str]] = {}
    for key in list(union.parent):
        members.setdefault(union.find(key), []).append(key)
    names = {root: campaign_id(m) for root, m in members.items()}
    for r in reports:
        r.campaign = names[union.find(r.registered_domain or r.host)]
    return {names[root]: sorted(m) for root, m in members.items()}


def recent(db: Session, days: int = 90) -> list[PublicReport]:
    since = _now() - dt.timedelta(days=days)
    return list(db.scalars(select(PublicReport).where(PublicReport.created_at >= since)
                           .order_by(PublicReport.id)))


def run(db: Session, settings: ReportSettings, lake: Lake | None, limit: int = 500,
        checker: LookalikeChecker | None = None) -> int:
    """Check what is pending and re-cluster recent reports; returns how many were checked
    (the caller commits)."""
    todo = pending(db, limit)
    if todo:
        Triage(settings, lake, checker).check(todo)
    assign_campaigns(recent(db, settings.lake_days))
    return len(todo)
