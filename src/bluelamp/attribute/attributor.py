"""The attribution stage: who owns the system behind an event, where it is, who to tell.

Precedence, most trusted first (each field is filled only where the event does not already
carry a value):

- organisation: a network the organisation declared > a domain it declared (the event's
  ``source_fqdn`` or ``source_registered_domain``, or a parent of it) > an AS number it
  declared > the AS's organisation name (as2org / ip2asn description);
- ASN and network: the routing table (pfx2as, ip2asn); the network is the organisation's
  declared network when that matched;
- country: the organisation's declared country (declared network only) > RIR delegation >
  ip2asn > geolocation database > the country the AS is registered in (RIR asn records, else
  as2org), as a last resort that the national scope (`in_scope`) does not use;
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

from bluelamp.attribute.addresses import (
    ParsedIPs,
    UniqueIPs,
    parse_unique,
    v4_to_text,
    v6_to_text,
)
from bluelamp.attribute.geo import GeoDB
from bluelamp.attribute.intmap import IntMap, first_of, take_or_null, valid_index
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
        self._as_names = IntMap({**self.routing.as_names, **self.asn_info.names})
        self._abuse = IntMap(self.asn_info.abuse)
        # Where an AS is registered: RIR asn records win over as2org's organisation country.
        self._as_country = IntMap({**self.asn_info.countries, **self.delegated.asn_country})
        self._route_asn = np.asarray(
            pc.fill_null(_column(self.routing.attrs, "asn"), 0).to_numpy(zero_copy_only=False),
            dtype=np.int64)
        self._route_country = _column(self.routing.attrs, "country")
        self._deleg_country = _column(self.delegated.attrs, "country")
        self._org_values = {
            attr: pa.array([getattr(o, attr) for o in self.orgs.orgs], type=pa.string())
            for attr in ("name", "country", "region", "sector", "abuse_contact")}
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
        *,
        parsed: UniqueIPs | None = None,
    ) -> pa.Table:
        """Attribution of each address (and optional domain name / known ASN), one row each,
        with the event field names (source_asn, source_network, ...).

        Everything that depends on the address alone is computed once per distinct address
        and spread over the rows with integer indexing; only the organisation (which may come
        from the row's domain or AS number) is per row, as integer codes. `parsed` is
        `parse_unique(ips)` when the caller already has it."""
        uniq = parsed if parsed is not None else parse_unique(ips)
        if len(uniq.codes) == 0:
            return FILLED_SCHEMA.empty_table()
        self._count(uniq)
        p = uniq.parsed
        u_org, u_net_row = self.orgs.by_address(p)
        u_route = self._routes.lookup(p)
        u_deleg = self._delegations.lookup(p)
        org_net, route_row = uniq.rows(u_org), uniq.rows(u_route)
        self.stats.routed += int(np.count_nonzero(route_row >= 0))

        asn = np.where(route_row >= 0, self._route_asn[np.maximum(route_row, 0)], 0) if len(
            self._route_asn) else np.zeros(len(route_row), dtype=np.int64)
        if asns is not None:
            given = np.asarray(pc.fill_null(pc.cast(asns, pa.int64()), 0)
                               .to_numpy(zero_copy_only=False), dtype=np.int64)
            asn = np.where(given > 0, given, asn)
        org = org_net
        if fqdns is not None and self.orgs.by_domain:
            org = np.where(org >= 0, org, self.orgs.by_domains(fqdns))
        if self.orgs.by_asn:
            org = np.where(org >= 0, org, self.orgs.by_asns(asn))
        self.stats.by_org += int(np.count_nonzero(org >= 0))

        # Per distinct address: network text, country, geolocation.
        u_network = pc.coalesce(self.orgs.networks.network_strings(u_net_row),
                                self._routes.network_strings(u_route))
        countries = self._org_values["country"]
        country_parts = [(countries, valid_index(countries, u_org)),
                         (self._deleg_country, valid_index(self._deleg_country, u_deleg)),
                         (self._route_country, valid_index(self._route_country, u_route))]
        u_region: pa.Array = pa.nulls(len(p), pa.string())
        if self.geo is not None:
            geo_country, u_region = self._geo(p, need=np.ones(len(p), dtype=bool))
            country_parts.append((geo_country, valid_index(geo_country, np.arange(len(p)))))
        u_country = first_of(country_parts)
        codes = uniq.codes

        def org_part(attr: str) -> tuple[pa.Array, np.ndarray]:
            values = self._org_values[attr]
            return values, valid_index(values, org)

        def by_asn(mapping: IntMap) -> tuple[pa.Array, np.ndarray]:
            return mapping.array, mapping.index(asn)

        def by_address(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
            return values, valid_index(values, codes)

        return pa.table({
            "source_asn": pa.array(asn.astype(np.uint32), mask=asn <= 0),
            "source_network": take_or_null(u_network, codes),
            "source_org": first_of([org_part("name"), by_asn(self._as_names)]),
            "source_country": first_of([by_address(u_country), by_asn(self._as_country)]),
            "source_region": first_of([org_part("region"), by_address(u_region)]),
            "source_sector": first_of([org_part("sector")]),
            "source_abuse_contact": first_of([org_part("abuse_contact"),
                                              by_asn(self._abuse)]),
        }, schema=FILLED_SCHEMA)

    def attribute(self, events: pa.Table, ip_column: str = "source_ip", *,
                  parsed: UniqueIPs | None = None) -> pa.Table:
        """`events` with the source_* attribution fields filled where they are null."""
        if ip_column not in events.column_names:
            raise ConfigError(f"events have no column {ip_column!r}")
        fqdns = None
        for col in ("source_fqdn", "source_registered_domain"):
            if col in events.column_names:
                fqdns = events.column(col) if fqdns is None else pc.coalesce(
                    fqdns, events.column(col))
        asns = events.column("source_asn") if "source_asn" in events.column_names else None
        found = self.lookup(events.column(ip_column), fqdns=fqdns, asns=asns, parsed=parsed)
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

    def in_scope(self, ips: pa.Array | pa.ChunkedArray | list[str | None], *,
                 parsed: UniqueIPs | None = None) -> np.ndarray:
        """True where the address is in the configured country's address space (by RIR
        delegation, else ip2asn, else geolocation) or in a network an organisation in the
        directory declared."""
        if not self.country:
            raise ConfigError("no country configured for the national picture "
                              "(--country or [attribution] country)")
        uniq = parsed if parsed is not None else parse_unique(ips)
        p = uniq.parsed
        u_org, _ = self.orgs.by_address(p)
        country = pc.coalesce(take_or_null(self._deleg_country, self._delegations.lookup(p)),
                              take_or_null(self._route_country, self._routes.lookup(p)))
        if self.geo is not None:
            need = np.asarray(pc.is_null(country).to_numpy(zero_copy_only=False), dtype=bool)
            geo_country, _ = self._geo(p, need=need)
            country = pc.coalesce(country, geo_country)
        national = np.asarray(pc.fill_null(pc.equal(country, self.country), False)
                              .to_numpy(zero_copy_only=False), dtype=bool)
        return uniq.rows(national | (u_org >= 0), missing=False).astype(bool)

    def as_name(self, asn: int) -> str | None:
        """The organisation name of an AS number (as2org, else ip2asn description)."""
        index = int(self._as_names.index(np.array([asn]))[0])
        return None if index < 0 else str(self._as_names.values[index])

    @property
    def has_address_space(self) -> bool:
        """Whether any delegation, routing or geolocation data can place addresses in
        countries."""
        return bool(len(self.delegated) or len(self.routing) or self.geo is not None)

    # -- helpers --------------------------------------------------------------------------
    def _geo(self, parsed: ParsedIPs, need: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Geolocated (country, region) per distinct address, asking the database only for
        those that `need` it (null elsewhere)."""
        n = len(parsed)
        if self.geo is None:
            return pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
        idx = np.flatnonzero(need & (parsed.version > 0))
        texts: list[str] = []
        order: list[np.ndarray] = []
        for version, values in ((4, parsed.v4), (6, parsed.v6)):
            sel = idx[parsed.version[idx] == version]
            texts += v4_to_text(values[sel]) if version == 4 else v6_to_text(values[sel])
            order.append(sel)
        countries, regions = self.geo.lookup(texts)
        index = np.full(n, -1, dtype=np.int64)
        index[np.concatenate(order)] = np.arange(len(texts))
        return (take_or_null(pa.array(countries, type=pa.string()), index),
                take_or_null(pa.array(regions, type=pa.string()), index))

    def _count(self, uniq: UniqueIPs) -> None:
        self.stats.lookups += len(uniq.codes)
        self.stats.invalid += uniq.invalid
        room = 5 - len(self.stats.invalid_samples)
        self.stats.invalid_samples += uniq.parsed.invalid_samples[:max(room, 0)]


def _column(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)


def _merge_info(into: AsnInfo, other: AsnInfo) -> None:
    into.names.update(other.names)
    into.countries.update(other.countries)
    into.abuse.update(other.abuse)
    into.errors += other.errors
