"""The self-service health check: "is my IP address, network or domain listed?"

A query is one IP address, one network (at most a /16 of IPv4 or a /32 of IPv6, so that
nobody sweeps the whole address space through it) or one domain (and names under it). The
answer is the recent events about it that the caller may see: TLP:CLEAR for everyone; the
levels an owner may see (up to AMBER) when the caller owns the resource."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from bluelamp.act.reports.urls import UrlError, normalise
from bluelamp.errors import InputError
from bluelamp.schema import EVENT, json_value
from bluelamp.store.lake import Lake

PUBLIC_TLP = ("clear", "white")
OWNER_TLP = ("clear", "white", "green", "amber", "amber+strict")
MAX_ROWS = 200
SHOWN = ("id", "time_observed", "time_last_seen", "classification_taxonomy",
         "classification_type", "classification_identifier", "source_ip", "source_port",
         "source_asn", "source_network", "source_fqdn", "source_url", "feed_name", "tlp", "count")


class QueryError(InputError):
    """Not an address, network or domain we look up (the message says why)."""


@dataclass(frozen=True)
class Query:
    kind: str  # ip | network | domain
    value: str

    def covers_ip(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if self.kind == "ip":
            return addr == ipaddress.ip_address(self.value)
        net = ipaddress.ip_network(self.value)
        return addr.version == net.version and addr in net


def parse_query(text: str) -> Query:
    text = text.strip()
    if not text or len(text) > 300:
        raise QueryError("enter an IP address, a network (CIDR) or a domain name")
    try:
        return Query("ip", str(ipaddress.ip_address(text)))
    except ValueError:
        pass
    if "/" in text:
        try:
            net: ipaddress.IPv4Network | ipaddress.IPv6Network | None = ipaddress.ip_network(
                text, strict=False)
        except ValueError:
            net = None  # a URL with a path, perhaps
        if net is not None:
            smallest = 16 if net.version == 4 else 32
            if net.prefixlen < smallest:
                raise QueryError(f"networks up to /{smallest} only: check larger ones in parts")
            return Query("network", str(net))
    try:
        url = normalise(text)
    except UrlError:
        raise QueryError(f"{text[:100]!r} is not an IP address, network or domain") from None
    if url.is_ip:
        return Query("ip", url.host)
    return Query("domain", url.host)


def lookup(lake: Lake, query: Query, tlp: tuple[str, ...], days: int = 90) -> list[dict[str, Any]]:
    """Events about `query` with a TLP in `tlp`, newest first."""
    if not lake.files("event"):
        return []
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    marks = ", ".join("?" * len(tlp))
    base = f"FROM event WHERE time_observed >= ? AND lower(coalesce(tlp, 'amber')) IN ({marks})"
    params: list[Any] = [since, *tlp]
    if query.kind == "domain":
        cond = "(lower(source_fqdn) = ? OR suffix(lower(source_fqdn), ?) " \
               "OR lower(source_registered_domain) = ?)"
        params += [query.value, "." + query.value, query.value]
    elif query.kind == "ip":
        cond = "source_ip = ?"
        params.append(query.value)
    else:
        cond = "list_contains(?, source_ip)"
        params.append(_addresses_in(lake, query, base, params))
    columns = ", ".join(SHOWN)
    table = lake.query(f"SELECT {columns} {base} AND {cond} ORDER BY time_observed DESC "
                       f"LIMIT {MAX_ROWS}", params)
    return [{k: json_value(v) for k, v in row.items()}
            for row in EVENT.conform(table).select(list(SHOWN)).to_pylist()]


def _addresses_in(lake: Lake, query: Query, base: str, params: list[Any]) -> list[str]:
    """The distinct listed addresses inside the network; IPv4 is narrowed by its fixed
    leading octets in SQL first."""
    net = ipaddress.ip_network(query.value)
    extra, args = "", list(params)
    if net.version == 4:
        octets = net.prefixlen // 8
        prefix = ".".join(str(net.network_address).split(".")[:octets]) + "."
        extra, args = " AND starts_with(source_ip, ?)", [*params, prefix]
    else:
        extra = " AND contains(source_ip, ':')"
    table = lake.query(f"SELECT DISTINCT source_ip AS ip {base}{extra} AND source_ip IS NOT NULL",
                       args)
    return sorted(ip for ip in table.column("ip").to_pylist() if query.covers_ip(str(ip)))
