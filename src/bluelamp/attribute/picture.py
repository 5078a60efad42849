"""The national picture: every host with threat events in national address space, counted
by region, sector, event type, network and organisation.

This is the count a national crime agency publishes ("5,531 compromises on UK servers"):
one host is one distinct address (``::ffff:192.0.2.1`` and ``192.0.2.1`` are one); a host
counts once per group it falls in, so the rows of one breakdown add up to at least the total
(a host can have two event types).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.attribute.addresses import host_ids, parse_unique
from bluelamp.attribute.attributor import Attributor
from bluelamp.textutil import is_decimal

UNKNOWN = "unknown"

#: breakdown name → SQL expression it groups by (over the attributed, in-scope events)
DIMENSIONS: dict[str, str] = {
    "region": "coalesce(source_region, 'unknown')",
    "sector": "coalesce(source_sector, 'unknown')",
    "type": "coalesce(classification_type, 'unknown')",
    "network": "coalesce('AS' || CAST(source_asn AS VARCHAR), 'unknown')",
    "organisation": "coalesce(source_org, 'unknown')",
}


@dataclass
class Picture:
    """The national picture for one country and period."""

    country: str
    since: dt.datetime
    until: dt.datetime
    hosts: int = 0
    events: int = 0
    events_read: int = 0
    out_of_scope: int = 0
    without_address: int = 0
    invalid_addresses: int = 0
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    network_names: dict[str, str] = field(default_factory=dict)

    def count_of(self, dimension: str) -> int:
        """Distinct known values of a breakdown (regions, networks, ...)."""
        return sum(1 for row in self.breakdowns.get(dimension, []) if row["key"] != UNKNOWN)

    def headline(self) -> str:
        """One sentence a press office could use."""
        days = max(1, round((self.until - self.since).total_seconds() / 86400))
        period = "day" if days == 1 else f"{days} days"
        if self.hosts == 0:
            return (f"No compromised hosts were seen in {self.country} address space in the "
                    f"last {period}.")
        text = (f"{self.hosts:,} compromised host{'s' if self.hosts != 1 else ''} in "
                f"{self.country} address space in the last {period} ({self.events:,} threat "
                f"events across {_plural(self.count_of('network'), 'network')})")
        top_type = _top(self.breakdowns.get("type", []))
        if top_type:
            text += f", most often {top_type['key']} ({top_type['hosts']:,} hosts)"
        top_region = _top(self.breakdowns.get("region", []))
        if top_region:
            text += f"; most in {top_region['key']} ({top_region['hosts']:,})"
        return text + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "headline": self.headline(),
            "hosts": self.hosts,
            "events": self.events,
            "events_read": self.events_read,
            "out_of_scope": self.out_of_scope,
            "without_address": self.without_address,
            "invalid_addresses": self.invalid_addresses,
            "regions": self.count_of("region"),
            "networks": self.count_of("network"),
            "organisations": self.count_of("organisation"),
            "by": self.breakdowns,
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        """Long format: one row per (dimension, key)."""
        rows = [{"dimension": "total", "key": self.country, "name": "", "hosts": self.hosts,
                 "events": self.events}]
        for dim, groups in self.breakdowns.items():
            rows += [{"dimension": dim, "key": g["key"], "name": g.get("name") or "",
                      "hosts": g["hosts"], "events": g["events"]} for g in groups]
        return rows


def national_picture(
    events: pa.Table,
    attributor: Attributor,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    types: list[str] | None = None,
) -> Picture:
    """Attribute `events` (where not yet attributed), keep those in the attributor's country
    and count them."""
    if not attributor.country:
        from bluelamp.errors import ConfigError

        raise ConfigError("the national picture needs a country (--country or "
                          "[attribution] country)")
    picture = Picture(attributor.country, since, until or dt.datetime.now(dt.UTC))
    picture.events_read = events.num_rows
    if types:
        events = events.filter(pc.is_in(events.column("classification_type"),
                                        pa.array(types, type=pa.string())))
    ips = events.column("source_ip")
    has_ip = np.asarray(pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(ips), ""), False)
                        .to_numpy(zero_copy_only=False), dtype=bool)
    picture.without_address = int((~has_ip).sum())
    uniq = parse_unique(ips)  # once, for attribution, scope and host counting
    picture.invalid_addresses = uniq.invalid
    attributed = attributor.attribute(events, parsed=uniq)
    scope = attributor.in_scope(ips, parsed=uniq)
    if not attributor.has_address_space:
        # No delegation or routing data to judge by: trust the feeds' own country field.
        said = pc.equal(pc.utf8_upper(events.column("source_country")), attributor.country)
        scope |= np.asarray(pc.fill_null(said, False).to_numpy(zero_copy_only=False),
                            dtype=bool)
    scope &= has_ip
    picture.out_of_scope = int((has_ip & ~scope).sum())
    hosts = pa.array(host_ids(uniq), type=pa.int64())
    national = attributed.append_column("host", hosts).filter(pa.array(scope))
    picture.events = national.num_rows
    _count(national, picture)
    for row in picture.breakdowns.get("network", []):
        asn = row["key"][2:] if row["key"].startswith("AS") else ""
        row["name"] = attributor.as_name(int(asn)) if is_decimal(asn) else None
    return picture


def _count(events: pa.Table, picture: Picture) -> None:
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("ev", events.select([
            "host", "source_region", "source_sector", "classification_type",
            "source_asn", "source_org"]))
        row = con.execute("SELECT count(DISTINCT host) FROM ev").fetchone()
        picture.hosts = int(row[0]) if row else 0
        for name, expr in DIMENSIONS.items():
            rows = con.execute(
                f"SELECT {expr} AS key, count(DISTINCT host) AS hosts, count(*) AS events "
                f"FROM ev GROUP BY key ORDER BY hosts DESC, events DESC, key").fetchall()
            picture.breakdowns[name] = [
                {"key": r[0], "hosts": int(r[1]), "events": int(r[2])} for r in rows]
    finally:
        con.close()


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _top(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in rows:
        if row["key"] != UNKNOWN:
            return row
    return None


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
