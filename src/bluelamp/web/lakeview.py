"""What the web pages ask of the lake: searches, one record, counts for dashboards, retro-hunt.

A thin adapter over `bluelamp.store.lake.Lake` (contract 5): SQL over its `finding`, `event`
and `dns` views, always with bound parameters."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field

from bluelamp.schema import EVENT, FINDING, json_value
from bluelamp.store.lake import Lake

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$")
MAX_ROWS = 1000


class Filters(BaseModel):
    """Search filters common to findings and events (each applies where the kind has it)."""

    type: str | None = Field(None, max_length=100, description="Finding type or event "
                             "classification type.")
    subject: str | None = Field(None, max_length=253, description="Substring of the subject "
                                "(finding) or of source IP / FQDN (event).")
    since: dt.datetime | None = Field(None, description="From this time on (UTC).")
    until: dt.datetime | None = Field(None, description="Before this time (UTC).")
    min_score: float | None = Field(None, ge=0, le=1, description="Minimum score/confidence.")
    region: str | None = Field(None, max_length=100, description="Event source region.")
    feed: str | None = Field(None, max_length=100, description="Event feed or detector name.")
    limit: int = Field(200, ge=1, le=MAX_ROWS)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _where(kind: str, f: Filters) -> tuple[str, list[Any]]:
    time_col, type_col, score_col = (("first_seen", "type", "score") if kind == "finding"
                                     else ("time_observed", "classification_type", "confidence"))
    conds: list[str] = []
    params: list[Any] = []
    if f.type:
        conds.append(f"{type_col} = ?")
        params.append(f.type)
    if f.subject:
        if kind == "finding":
            conds.append("contains(lower(subject), ?)")
            params.append(f.subject.lower())
        else:
            conds.append("(contains(lower(coalesce(source_ip, '')), ?) OR "
                         "contains(lower(coalesce(source_fqdn, '')), ?))")
            params += [f.subject.lower()] * 2
    if f.since:
        conds.append(f"{time_col} >= ?")
        params.append(_utc(f.since))
    if f.until:
        conds.append(f"{time_col} < ?")
        params.append(_utc(f.until))
    if f.min_score is not None:
        conds.append(f"{score_col} >= ?")
        params.append(f.min_score)
    if kind == "event" and f.region:
        conds.append("source_region = ?")
        params.append(f.region)
    if kind == "event" and f.feed:
        conds.append("feed_name = ?")
        params.append(f.feed)
    return (" WHERE " + " AND ".join(conds) if conds else ""), params


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: json_value(v) for k, v in row.items()} for row in table.to_pylist()]


def search(lake: Lake, kind: str, f: Filters) -> list[dict[str, Any]]:
    schema = FINDING if kind == "finding" else EVENT
    order = "score DESC NULLS LAST, last_seen DESC" if kind == "finding" else "time_observed DESC"
    where, params = _where(kind, f)
    sql = f"SELECT * EXCLUDE (day) FROM {kind}{where} ORDER BY {order} LIMIT {int(f.limit)}"
    return rows(schema.conform(lake.query(sql, params)))


def get(lake: Lake, kind: str, record_id: str) -> dict[str, Any] | None:
    schema = FINDING if kind == "finding" else EVENT
    table = schema.conform(lake.query(f"SELECT * EXCLUDE (day) FROM {kind} WHERE id = ? LIMIT 1",
                                      [record_id]))
    found = rows(table)
    return found[0] if found else None


def distinct(lake: Lake, kind: str, column: str) -> list[str]:
    """Values offered in a filter's drop-down (column names come from our code only)."""
    table = lake.query(f"SELECT DISTINCT {column} AS v FROM {kind} WHERE {column} IS NOT NULL "
                       f"ORDER BY v LIMIT 200")
    return [str(v) for v in table.column("v").to_pylist()]


def counts(lake: Lake, sql: str, params: list[Any] | None = None) -> list[tuple[str, float]]:
    """(label, value) pairs from a query returning columns `label` and `n`."""
    table = lake.query(sql, params)
    return [(str(json_value(label)), float(n)) for label, n in
            zip(table.column("label").to_pylist(), table.column("n").to_pylist(), strict=True)]


def per_day(series: list[tuple[str, float]], since: dt.datetime,
            until: dt.datetime) -> list[tuple[str, float]]:
    """Every UTC day from `since` to `until`, zero where nothing happened, so that a quiet
    day shows as a dip instead of vanishing from the time axis."""
    have = dict(series)
    day, last, out = since.date(), until.date(), []
    while day <= last:
        out.append((day.isoformat(), have.get(day.isoformat(), 0.0)))
        day += dt.timedelta(days=1)
    return out


def stats(lake: Lake, days: int = 30) -> dict[str, list[tuple[str, float]]]:
    """The dashboard figures: detections over time, by type, by region, top networks."""
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=days)
    p = [since]
    return {
        "findings_per_day": per_day(counts(
            lake, "SELECT strftime(first_seen, '%Y-%m-%d') AS label, count(*) AS n "
            "FROM finding WHERE first_seen >= ? GROUP BY 1 ORDER BY 1", p), since, now),
        "events_per_day": per_day(counts(
            lake, "SELECT strftime(time_observed, '%Y-%m-%d') AS label, count(*) AS n "
            "FROM event WHERE time_observed >= ? GROUP BY 1 ORDER BY 1", p), since, now),
        "findings_by_type": counts(lake, "SELECT type AS label, count(*) AS n FROM finding "
                                   "WHERE first_seen >= ? GROUP BY 1 ORDER BY 2 DESC LIMIT 12", p),
        "events_by_type": counts(lake, "SELECT coalesce(classification_type, '?') AS label, "
                                 "count(*) AS n FROM event WHERE time_observed >= ? "
                                 "GROUP BY 1 ORDER BY 2 DESC LIMIT 12", p),
        "events_by_region": counts(lake, "SELECT coalesce(source_region, 'unknown') AS label, "
                                   "count(*) AS n FROM event WHERE time_observed >= ? "
                                   "GROUP BY 1 ORDER BY 2 DESC LIMIT 15", p),
        "top_networks": counts(lake, "SELECT source_network AS label, count(*) AS n FROM event "
                               "WHERE time_observed >= ? AND source_network IS NOT NULL "
                               "GROUP BY 1 ORDER BY 2 DESC LIMIT 10", p),
    }


def retro_hunt(lake: Lake, domain: str, days: int, limit: int = 500) -> list[dict[str, Any]]:
    """Clients that looked up `domain` or a name under it in the last `days` days."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    table = lake.query(
        "SELECT client, count(*) AS lookups, min(ts) AS first_seen, max(ts) AS last_seen, "
        "list(DISTINCT qname)[1:5] AS names FROM dns WHERE day >= ? AND ts >= ? AND "
        "(qname = ? OR suffix(qname, ?)) GROUP BY client ORDER BY lookups DESC LIMIT ?",
        [since.date(), since, domain, "." + domain, limit])
    return rows(table)


#: TLP levels a subscriber may see about its own systems; red is for named recipients only,
#: and an event without a label is treated as amber (the owner may see it).
SUBSCRIBER_TLP = ("clear", "white", "green", "amber", "amber+strict")


def _in_networks(ips: list[str], networks: list[str]) -> set[str]:
    """The addresses of `ips` that fall inside one of `networks` (both IPv4 and IPv6)."""
    nets = [ipaddress.ip_network(n) for n in networks]
    hits = set()
    for text in ips:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if any(ip.version == n.version and ip in n for n in nets):
            hits.add(text)
    return hits


def events_in_scope(lake: Lake, networks: list[str], asns: list[int], domains: list[str],
                    days: int = 30, limit: int = 500) -> list[dict[str, Any]]:
    """Events about an organisation's proven networks, ASNs and domains that TLP lets it
    see, newest first. Addresses are matched on the distinct values only (few per org)."""
    if not (networks or asns or domains):
        return []
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    tlp = "(tlp IS NULL OR lower(tlp) IN (" + ", ".join("?" * len(SUBSCRIBER_TLP)) + "))"
    base = f"FROM event WHERE time_observed >= ? AND {tlp}"
    params: list[Any] = [since, *SUBSCRIBER_TLP]
    ips: list[str] = []
    if networks:
        table = lake.query(f"SELECT DISTINCT source_ip AS ip {base} AND source_ip IS NOT NULL",
                           params)
        ips = sorted(_in_networks([str(v) for v in table.column("ip").to_pylist()], networks))
    conds: list[str] = []
    extra: list[Any] = []
    if ips:
        conds.append("list_contains(?, source_ip)")
        extra.append(ips)
    if asns:
        conds.append("list_contains(?, source_asn)")
        extra.append([int(a) for a in asns])
    for d in domains:
        conds.append("(source_registered_domain = ? OR source_fqdn = ? OR suffix(source_fqdn, ?))")
        extra += [d, d, "." + d]
    if not conds:
        return []
    sql = (f"SELECT * EXCLUDE (day) {base} AND ({' OR '.join(conds)}) "
           f"ORDER BY time_observed DESC LIMIT {int(limit)}")
    return rows(EVENT.conform(lake.query(sql, params + extra)))
