"""Region from a MaxMind-format geolocation database (GeoLite2/GeoIP2 City ``.mmdb``).

A region here is the area of a regional police unit, so the database's city and
subdivisions are mapped to regions with a small configurable table. Keys are matched
case-insensitively, most specific first: the city name, then each subdivision from the most
specific (county) to the least (nation) as ``CC-CODE`` (ISO 3166-2, e.g. ``GB-MAN``), as the
bare code (``MAN``) and as its English name (``Greater Manchester``), and last the country
code (``GB``). The first key found in the table gives the region.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import maxminddb

from bluelamp.errors import InputError


class GeoDB:
    """Country and region of addresses from one ``.mmdb`` file."""

    def __init__(self, path: Path, region_map: Mapping[str, str] | None = None) -> None:
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise InputError(f"{path}: not a readable MaxMind DB ({exc})") from None
        self.path = path
        self.region_map = {k.strip().lower(): v for k, v in (region_map or {}).items()}

    def close(self) -> None:
        self._reader.close()

    def lookup(self, addresses: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
        """(country, region) per address; callers pass distinct addresses only."""
        countries: list[str | None] = []
        regions: list[str | None] = []
        for addr in addresses:
            try:
                record = self._reader.get(addr)
            except (ValueError, maxminddb.InvalidDatabaseError):
                record = None
            country, region = self.describe(record)
            countries.append(country)
            regions.append(region)
        return countries, regions

    def describe(self, record: Any) -> tuple[str | None, str | None]:
        if not isinstance(record, dict):
            return None, None
        country = _iso(record.get("country"))
        for key in self._keys(record, country):
            region = self.region_map.get(key.lower())
            if region:
                return country, region
        return country, None

    @staticmethod
    def _keys(record: dict[str, Any], country: str | None) -> Iterator[str]:
        city = _name(record.get("city"))
        if city:
            yield city
        subdivisions = record.get("subdivisions") or []
        for sub in reversed(subdivisions if isinstance(subdivisions, list) else []):
            code = _iso(sub)
            if code and country:
                yield f"{country}-{code}"
            if code:
                yield code
            name = _name(sub)
            if name:
                yield name
        if country:
            yield country


def _iso(entry: Any) -> str | None:
    if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
        return str(entry["iso_code"]).upper()
    return None


def _name(entry: Any) -> str | None:
    if isinstance(entry, dict):
        names = entry.get("names")
        if isinstance(names, dict) and isinstance(names.get("en"), str):
            return str(names["en"])
    return None
