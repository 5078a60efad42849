"""The attribution stage: who owns the system behind an event, where it is, who to tell.

Precedence, most trusted first (each field is filled only where the event does not already
carry a value):

- organisation: a network the organisation declared > a domain it declared (the event's
  ``source_fqdn`` or ``source_registered_domain``, or a parent of it) > an AS number it
  declared > the AS's organisation name (as2org / ip2asn description);
- ASN and network: the routing table (pfx2as, ip2asn); the network is the organisation's
  declared network when that matched;
- country: the organisation's declared country (declared network only) > RIR delegation >
  ip2asn > geolocation database;
- region: the organisation's region > geolocation database (subdivision/city → region map);
- sector: the organisation's sector;
- abuse contact: the organisation's > the AS's (ASN → abuse file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.attribute.addresses import ParsedIPs, parse_ips, v4_to_text, v6_to_text
from bluelamp.attribute.geo import GeoDB
from bluelamp.attribute.loaders import (
    AsnInfo,
    PrefixData,
    load_as2org,
    load_asn_abuse,
    load_delegated,
    load_ip2asn,
    load_pfx2as,
    sniff,
)
from bluelamp.attribute.orgs import OrgDirectory
from bluelamp.attribute.prefixes import PrefixTable
from bluelamp.errors import ConfigError, RecordError
from bluelamp.schema import EVENT

if TYPE_CHECKING:
    from bluelamp.settings import Settings

FILLED = ("source_asn", "source_network", "source_org", "source_country", "source_region",
          "source_sector", "source_abuse_contact")
FILLED_SCHEMA = pa.schema([EVENT.field(c).arrow for c in FILLED])


@dataclass
class AttributionStats:
    """Counters over the Attributor's life, for metrics and the CLI."""

    lookups: int = 0
    invalid: int = 0
    routed: int = 0
    by_org: int = 0
    invalid_samples: list[str] = field(default_factory=list)


class Attributor:
    """Vectorised attribution of events to ASN, network, organisation, country, region,
    sector and abuse contact."""

    def __init__(
        self,
        *,
        routing: PrefixData | None = None,
        delegated: PrefixData | None = None,
        orgs: OrgDirectory | None = None,
        asn_info: AsnInfo | None = None,
        geo: GeoDB | None = None,
        country: str | None = None,
    ) -> None:
        self.routing = routing or PrefixData.empty()
        self.delegated = delegated or PrefixData.empty()
        self.orgs = orgs or OrgDirectory([])
        self.asn_info = asn_info or AsnInfo()
        self.geo = geo
        self.country = country.upper() if country else None
        self._routes = PrefixTable(self.routing.prefixes)
        self._delegations = PrefixTable(self.delegated.prefixes)
        # AS names: as2org wins over ip2asn descriptions (it names the organisation).
        self._as_names = {**self.routing.as_names, **self.asn_info.names}
        self.stats = AttributionStats()
        self.load_errors: list[RecordError] = (
            self.routing.errors + self.delegated.errors + self.orgs.errors
            + self.asn_info.errors)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_files(
        cls,
        *,
        routing: Sequence[Path] = (),
        delegated: Sequence[Path] = (),
        orgs: Path | None = None,
        geo: Path | None = None,
        country: str | None = None,
        as_org: Sequence[Path] = (),
        abuse: Sequence[Path] = (),
        region_map: Mapping[str, str] | None = None,
    ) -> Attributor:
        """Load every file. `routing` files may be pfx2as, ip2asn, as2org or ASN-abuse files
        (recognised by content); `delegated` files are RIR statistics files."""
        routes: list[PrefixData] = []
        delegations = [load_delegated(Path(p)) for p in delegated]
        info = AsnInfo()
        for path in map(Path, routing):
            fmt = sniff(path)
            if fmt == "pfx2as":
                routes.append(load_pfx2as(path))
            elif fmt == "ip2asn":
                routes.append(load_ip2asn(path))
            elif fmt == "delegated":
                delegations.append(load_delegated(path))
            elif fmt == "as2org":
                _merge_info(info, load_as2org(path))
            else:
                _merge_info(info, load_asn_abuse(path))
        for path in map(Path, as_org):
            _merge_info(info, load_as2org(path))
        for path in map(Path, abuse):
            _merge_info(info, load_asn_abuse(path))
        directory = OrgDirectory.load(Path(orgs)) if orgs else None
        return cls(
            routing=PrefixData.merge(routes),
            delegated=PrefixData.merge(delegations),
            orgs=directory,
            asn_info=info,
            geo=GeoDB(Path(geo), region_map) if geo else None,
            country=country,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Attributor:
        """From the ``[attribution]`` settings section; keyword overrides win."""
        section = settings.attribution
        options: dict[str, Any] = {
            "routing": section.routing, "delegated": section.delegated, "orgs": section.orgs,
            "geo": section.geo, "country": section.country, "as_org": section.as_org,
            "abuse": section.abuse, "region_map": section.regions,
        }
        options.update({k: v for k, v in overrides.items() if v not in (None, (), [])})
        return cls.from_files(**options)

    # -- lookups --------------------------------------------------------------------------
    def lookup(
        self,
        ips: pa.Array | pa.ChunkedArray | list[str | None],
        fqdns: pa.Array | pa.ChunkedArray | None = None,
        asns: pa.Array | pa.ChunkedArray | None = None,
    ) -> pa.Table:
        """Attribution of each address (and optional domain name / known ASN), one row each,
        with the event field names (source_asn, source_network, ...)."""
        parsed = parse_ips(ips)
        if len(parsed) == 0:
            return FILLED_SCHEMA.empty_table()
        self._count(parsed)
        org_net, net_row = self.orgs.by_address(parsed)
        route_row = self._routes.lookup(parsed)
        deleg_row = self._delegations.lookup(parsed)
        self.stats.routed += int((route_row >= 0).sum())

        asn = _take(self.routing.attrs.column("asn"), route_row)
        if asns is not None:
            asn = pc.coalesce(pc.cast(asns, pa.uint32()), asn)
        asn_np = np.asarray(pc.fill_null(asn, 0).to_numpy(zero_copy_only=False), dtype=np.int64)

        org = org_net.copy()
        if fqdns is not None:
            org = np.where(org >= 0, org, self.orgs.by_domains(fqdns))
        org = np.where(org >= 0, org, np.where(asn_np > 0, self.orgs.by_asns(asn_np), -1))
        self.stats.by_org += int((org >= 0).sum())

        network = pc.coalesce(
            _texts(self.orgs.networks, net_row), _texts(self._routes, route_row))
        org_attr = self._org_attr
        country = pc.coalesce(
            pc.if_else(pa.array(org_net >= 0), org_attr("country", org), None),
            _take(self.delegated.attrs.column("country"), deleg_row),
            _take(self.routing.attrs.column("country"), route_row),
        )
        region = org_attr("region", org)
        geo_country, geo_region = self._geo(parsed, need=pc.is_null(region))
        if geo_country is not None and geo_region is not None:
            country = pc.coalesce(country, geo_country)
            region = pc.coalesce(region, geo_region)
        as_name = _by_asn(self._as_names, asn_np)
        abuse = _by_asn(self.asn_info.abuse, asn_np)
        return pa.table({
            "source_asn": asn,
            "source_network": network,
            "source_org": pc.coalesce(org_attr("name", org), as_name),
            "source_country": country,
            "source_region": region,
            "source_sector": org_attr("sector", org),
            "source_abuse_contact": pc.coalesce(org_attr("abuse_contact", org), abuse),
        }, schema=FILLED_SCHEMA)

    def attribute(self, events: pa.Table, ip_column: str = "source_ip") -> pa.Table:
        """`events` with the source_* attribution fields filled where they are null."""
        if ip_column not in events.column_names:
            raise ConfigError(f"events have no column {ip_column!r}")
        fqdns = None
        for col in ("source_fqdn", "source_registered_domain"):
            if col in events.column_names:
                fqdns = events.column(col) if fqdns is None else pc.coalesce(
                    fqdns, events.column(col))
        asns = events.column("source_asn") if "source_asn" in events.column_names else None
        found = self.lookup(events.column(ip_column), fqdns=fqdns, asns=asns)
        out = events
        for name in FILLED:
            new = found.column(name)
            if name in out.column_names:
                old = out.column(name)
                merged = pc.coalesce(old, new.cast(old.type))
                out = out.set_column(out.column_names.index(name), name, merged)
            else:
                out = out.append_column(EVENT.field(name).arrow, new)
        return out

    def in_scope(self, ips: pa.Array | pa.ChunkedArray | list[str | None]) -> np.ndarray:
        """True where the address is in the configured country's address space (by RIR
        delegation, else ip2asn, else geolocation) or in a network an organisation in the
        directory declared."""
        if not self.country:
            raise ConfigError("no country configured for the national picture "
                              "(--country or [attribution] country)")
        parsed = parse_ips(ips)
        org_net, _ = self.orgs.by_address(parsed)
        deleg_row = self._delegations.lookup(parsed)
        route_row = self._routes.lookup(parsed)
        country = pc.coalesce(_take(self.delegated.attrs.column("country"), deleg_row),
                              _take(self.routing.attrs.column("country"), route_row))
        if self.geo is not None:
            geo_country, _ = self._geo(parsed, need=pc.is_null(country))
            if geo_country is not None:
                country = pc.coalesce(country, geo_country)
        national = np.asarray(pc.fill_null(pc.equal(country, self.country), False)
                              .to_numpy(zero_copy_only=False), dtype=bool)
        return national | (org_net >= 0)

    # -- helpers --------------------------------------------------------------------------
    def _org_attr(self, attr: str, org: np.ndarray) -> pa.Array:
        values = [getattr(o, attr) for o in self.orgs.orgs]
        return _take(pa.array(values, type=pa.string()), org)

    def _geo(
        self, parsed: ParsedIPs, need: pa.Array | pa.ChunkedArray
    ) -> tuple[pa.Array | None, pa.Array | None]:
        """Geolocated (country, region) per address, asking the database once per distinct
        address among those that `need` it."""
        if self.geo is None:
            return None, None
        need_np = np.asarray(pc.fill_null(need, True).to_numpy(zero_copy_only=False),
                             dtype=bool) & (parsed.version > 0)
        idx = np.flatnonzero(need_np)
        n = len(parsed)
        country: list[str | None] = [None]
        region: list[str | None] = [None]
        code = np.zeros(n, dtype=np.int64)  # 0 → null entry
        for version, values in ((4, parsed.v4), (6, parsed.v6)):
            sel = idx[parsed.version[idx] == version]
            if len(sel) == 0:
                continue
            uniq, inverse = np.unique(values[sel], return_inverse=True)
            texts = v4_to_text(uniq) if version == 4 else v6_to_text(uniq)
            c, r = self.geo.lookup(texts)
            code[sel] = len(country) + inverse
            country += c
            region += r
        take = pa.array(code)
        return (pa.array(country, type=pa.string()).take(take),
                pa.array(region, type=pa.string()).take(take))

    def _count(self, parsed: ParsedIPs) -> None:
        self.stats.lookups += len(parsed)
        self.stats.invalid += parsed.invalid
        room = 5 - len(self.stats.invalid_samples)
        self.stats.invalid_samples += parsed.invalid_samples[:max(room, 0)]


def _take(column: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """column[rows] with null where rows is -1."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(column) == 0:
        return pa.nulls(len(rows), column.type)
    index = pa.array(np.maximum(rows, 0), mask=rows < 0)
    return column.take(index)


def _texts(table: PrefixTable, rows: np.ndarray) -> pa.Array:
    """CIDR text of matched prefix rows, formatted once per distinct row."""
    if len(rows) == 0 or (rows < 0).all():
        return pa.nulls(len(rows), pa.string())
    uniq, inverse = np.unique(rows, return_inverse=True)
    names = table.network_text(uniq)
    values = pa.array([names.get(int(r)) for r in uniq], type=pa.string())
    return values.take(pa.array(inverse))


def _by_asn(mapping: Mapping[int, str], asn: np.ndarray) -> pa.Array:
    if not mapping or len(asn) == 0:
        return pa.nulls(len(asn), pa.string())
    uniq, inverse = np.unique(asn, return_inverse=True)
    values = pa.array([mapping.get(int(a)) for a in uniq], type=pa.string())
    return values.take(pa.array(inverse))


def _merge_info(into: AsnInfo, other: AsnInfo) -> None:
    into.names.update(other.names)
    into.countries.update(other.countries)
    into.abuse.update(other.abuse)
    into.errors += other.errors
