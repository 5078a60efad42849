"""Organisations and what they declare: networks, AS numbers, domains, region, sector, abuse
contact.

What an organisation declares about itself wins over routing data: a hosting company that
registered 192.0.2.0/24 owns events there even though its upstream's AS announces the
covering /16. The directory is built from a TOML or CSV file now; the web platform builds it
from its database with the same `Organisation` values (`OrgDirectory(orgs)`).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.attribute.addresses import ParsedIPs
from bluelamp.attribute.intmap import IntMap
from bluelamp.attribute.prefixes import Prefixes, PrefixTable
from bluelamp.attribute.textfile import read_text
from bluelamp.errors import InputError, Location, RecordError
from bluelamp.textutil import is_decimal

_LIST_FIELDS = ("networks", "asns", "domains")


@dataclass(frozen=True)
class Organisation:
    """One organisation as the attribution stage sees it."""

    name: str
    networks: tuple[str, ...] = ()
    asns: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()
    region: str | None = None
    sector: str | None = None
    abuse_contact: str | None = None
    country: str | None = None
    id: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Organisation:
        """Build from a TOML table / CSV row / database row; lists may be strings
        separated by spaces, commas or semicolons. Raises ValueError on bad values."""
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValueError("organisation has no name")
        asns = tuple(_asn(a) for a in _as_list(data.get("asns")))
        return cls(
            name=name,
            networks=tuple(str(n) for n in _as_list(data.get("networks"))),
            asns=asns,
            domains=tuple(normalise_domain(str(d)) for d in _as_list(data.get("domains"))),
            region=_text(data.get("region")),
            sector=_text(data.get("sector")),
            abuse_contact=_text(data.get("abuse_contact") or data.get("abuse")),
            country=(_text(data.get("country")) or "").upper() or None,
            id=_text(data.get("id")),
        )


@dataclass
class OrgDirectory:
    """Lookups from address, AS number and domain name to the declaring organisation."""

    orgs: list[Organisation] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    def __post_init__(self) -> None:
        cidrs: list[str] = []
        owners: list[int] = []
        for i, org in enumerate(self.orgs):
            for net in org.networks:
                cidrs.append(net)
                owners.append(i)
        prefixes, bad = Prefixes.from_cidrs(cidrs)
        for b in bad:
            org = self.orgs[owners[b]]
            self.errors.append(RecordError(
                Location("organisations", field="networks"),
                f"organisation {org.name!r}: not a network: {cidrs[b]!r}"))
        owner_arr = np.asarray(owners, dtype=np.int64)
        # Prefix rows are positions in `cidrs`; map them to organisation indices.
        self._net_owner = owner_arr
        self.networks = PrefixTable(prefixes)
        self.by_asn: dict[int, int] = {}
        self.by_domain: dict[str, int] = {}
        for i, org in enumerate(self.orgs):
            for asn in org.asns:
                self.by_asn.setdefault(asn, i)
            for dom in org.domains:
                self.by_domain.setdefault(normalise_domain(dom), i)
        self._asn_map = IntMap(self.by_asn)

    def __len__(self) -> int:
        return len(self.orgs)

    def by_address(self, parsed: ParsedIPs) -> tuple[np.ndarray, np.ndarray]:
        """(organisation index or -1, matched network row or -1) per address."""
        rows = self.networks.lookup(parsed)
        org = np.where(rows >= 0, self._net_owner[np.maximum(rows, 0)] if len(
            self._net_owner) else -1, -1)
        return org.astype(np.int64), rows

    def by_domains(self, names: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Organisation index (or -1) owning each name or one of its parent domains."""
        if not self.by_domain:
            return np.full(len(names), -1, dtype=np.int64)
        encoded = pc.dictionary_encode(names)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        found = np.array([self._domain_owner(v) for v in encoded.dictionary.to_pylist()]
                         + [-1], dtype=np.int64)
        codes = pc.fill_null(encoded.indices, len(encoded.dictionary))
        return found[codes.to_numpy(zero_copy_only=False)]

    def by_asns(self, asns: np.ndarray) -> np.ndarray:
        """Organisation index (or -1) that declared each AS number."""
        index = self._asn_map.index(asns)
        owners = np.array([*self._asn_map.values, -1], dtype=np.int64)
        return owners[index]

    def _domain_owner(self, name: str | None) -> int:
        if not name:
            return -1
        labels = normalise_domain(name).split(".")
        for k in range(len(labels)):
            owner = self.by_domain.get(".".join(labels[k:]))
            if owner is not None:
                return owner
        return -1

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], source: str) -> OrgDirectory:
        orgs: list[Organisation] = []
        errors: list[RecordError] = []
        for n, rec in enumerate(records, start=1):
            try:
                orgs.append(Organisation.from_mapping(rec))
            except (ValueError, TypeError) as exc:
                errors.append(RecordError(Location(source, line=n), str(exc),
                                          str(rec.get("name") or "")))
        directory = cls(orgs)
        directory.errors = errors + [
            RecordError(Location(source, field=e.location.field), e.message)
            for e in directory.errors]
        return directory

    @classmethod
    def load(cls, path: Path) -> OrgDirectory:
        """A TOML file (``[[organisation]]`` tables) or a CSV file with a header row."""
        text = read_text(path)
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            # Record numbers count the header line, so they are file line numbers.
            return cls.from_records(rows, str(path))._renumber(offset=1)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc})") from None
        tables = data.get("organisation", data.get("organisations", []))
        if not isinstance(tables, list):
            raise InputError(f"{path}: expected [[organisation]] tables")
        return cls.from_records(tables, str(path))

    def _renumber(self, offset: int) -> OrgDirectory:
        self.errors = [RecordError(Location(e.location.source, (e.location.line or 0) + offset
                                            if e.location.line else None, None,
                                            e.location.field), e.message, e.sample)
                       for e in self.errors]
        return self


def normalise_domain(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _as_list(value: Any) -> Sequence[Any]:
    if value is None or value == "":
        return ()
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, int):
        return (value,)
    return [v for v in str(value).replace(";", " ").replace(",", " ").split() if v]


def _asn(value: Any) -> int:
    text = str(value).strip().upper().removeprefix("AS")
    if not is_decimal(text) or int(text) > 0xFFFF_FFFF:
        raise ValueError(f"not an AS number: {value!r}")
    return int(text)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
