"""Automatic context for a requested name: does it resolve, what do Bluelamp's own
detectors and the threat feeds in the lake know about it, and does it imitate a protected
brand (the lookalike decision of `bluelamp.detect.brands`, the one the DNS detector and
report triage use, with the detector's `[detect] protected_brands` and keywords)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dns.exception
import dns.resolver

from bluelamp.detect.brands import Brands
from bluelamp.settings import DetectSettings, Settings, SuspensionSettings
from bluelamp.store.lake import Lake

RESOLVE_LIMIT = 50  # names per request checked by DNS; bulk requests beyond this are not


def resolves(name: str, settings: SuspensionSettings) -> dict[str, Any]:
    """A/AAAA through the configured resolvers: addresses, NXDOMAIN, or what went wrong."""
    resolver = dns.resolver.Resolver(configure=not settings.resolvers)
    if settings.resolvers:
        resolver.nameservers = list(settings.resolvers)
        resolver.port = settings.resolver_port
    resolver.lifetime = 2.0
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(name, rdtype)
            addresses += [rd.to_text() for rd in answer]
        except dns.resolver.NXDOMAIN:
            return {"resolves": False, "detail": "NXDOMAIN"}
        except dns.resolver.NoAnswer:
            continue
        except (dns.exception.DNSException, OSError) as exc:
            return {"resolves": None, "detail": f"could not check: {type(exc).__name__}"}
    return {"resolves": bool(addresses), "addresses": addresses}


def resolve_all(names: Sequence[str], settings: SuspensionSettings) -> dict[str, dict[str, Any]]:
    """`resolves` for up to RESOLVE_LIMIT names at once (threads: each may wait seconds)."""
    chosen = list(names)[:RESOLVE_LIMIT]
    if not chosen:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(chosen))) as pool:
        return dict(zip(chosen, pool.map(lambda n: resolves(n, settings), chosen),
                        strict=True))


def lake_context(lake: Lake | None, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Findings and events about each name or a name under it, in two queries for all names
    (a bulk request of 25,000 names costs the same two scans as one name)."""
    out: dict[str, dict[str, Any]] = {n: {"findings": [], "events": []} for n in names}
    if lake is None or not names:
        return out
    finding_sql = """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS name)
        SELECT w.name, f.type, f.detector, max(f.score) AS score, count(*) AS n
        FROM finding f JOIN wanted w
          ON lower(f.subject) = w.name OR lower(f.subject) LIKE '%.' || w.name
        GROUP BY ALL ORDER BY w.name, n DESC"""
    event_sql = """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS name)
        SELECT w.name, e.classification_type AS type, e.feed_name AS feed, count(*) AS n
        FROM event e JOIN wanted w
          ON lower(e.source_fqdn) = w.name OR lower(e.source_fqdn) LIKE '%.' || w.name
             OR lower(e.source_registered_domain) = w.name
        GROUP BY ALL ORDER BY w.name, n DESC"""
    try:
        for row in lake.query(finding_sql, [list(names)]).to_pylist():
            out[row.pop("name")]["findings"].append(row)
        for row in lake.query(event_sql, [list(names)]).to_pylist():
            out[row.pop("name")]["events"].append(row)
    except Exception as exc:  # an unreadable lake must not stop a request being filed
        for ctx in out.values():
            ctx["lake_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


def protected_brands(settings: Settings | None = None) -> Brands:
    """The brand check of the desk: `[detect] protected_brands` and `lookalike_keywords`
    (defaults without settings), with the host kinds (tld-swap, subdomain) — a requested
    name is already suspect, as a reported URL is."""
    detect = settings.detect if settings is not None else DetectSettings()
    return Brands(detect.protected_brands, detect.lookalike_keywords, host_kinds=True)


def lookalike_context(names: Sequence[str], brands: Brands | None = None
                      ) -> dict[str, dict[str, Any]]:
    """`{"lookalike": verdict or None}` of each name, in one query for all names; None
    says "checked: imitates no protected brand"."""
    verdicts = (brands if brands is not None else protected_brands()).verdicts(names)
    return {name: {"lookalike": None if v is None else {
                "brand": v.brand, "kind": v.kind, "score": v.score, "label": v.label}}
            for name, v in zip(names, verdicts, strict=True)}
