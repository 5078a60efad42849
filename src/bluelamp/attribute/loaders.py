"""Loaders for the routing and registry files operators use.

- CAIDA Routeviews prefix-to-AS (``pfx2as``): ``prefix<TAB>length<TAB>asn``; the origin may be
  multi-origin (``64500_64501``) or an AS set (``64500,64501``): the first AS is kept.
- iptoasn.com ``ip2asn`` (v4, v6, combined, or v4-u32 with integer addresses):
  ``range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description``; AS 0 marks
  address space that is not routed and is skipped. Ranges become CIDR prefixes.
- RIR statistics exchange "delegated" / "delegated-extended" files:
  ``registry|cc|type|start|value|date|status[|opaque-id]``, with a version line, summary lines
  and comments. IPv4 ``value`` is a count of addresses (split into CIDRs), IPv6 ``value`` a
  prefix length, ``asn`` records map AS numbers to countries.
- CAIDA AS-organisation files (``as-org2info``): two ``|`` sections announced by
  ``# format:`` lines, AS records pointing at organisation records.
- A two-column ASN → abuse contact file (``AS64500,abuse@example.net``).

Every loader keeps good lines and returns located errors for bad ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.attribute.addresses import V6_DTYPE, ParsedIPs, parse_ips
from bluelamp.attribute.prefixes import Prefixes
from bluelamp.attribute.ranges import split_int_range, split_v4
from bluelamp.attribute.textfile import (
    Fields,
    matches,
    read_lines,
    read_text,
    skip_mask,
    split_fields,
)
from bluelamp.errors import InputError, Location, RecordError
from bluelamp.textutil import is_decimal

ATTRS = pa.schema([
    pa.field("asn", pa.uint32()),
    pa.field("country", pa.string()),
    pa.field("as_name", pa.string()),
])
_ASN = r"^(AS|as)?[0-9]{1,10}$"
_MAX_ASN = 0xFFFF_FFFF


@dataclass
class PrefixData:
    """Prefixes from one or more files, row i described by `attrs` row i."""

    prefixes: Prefixes
    attrs: pa.Table
    errors: list[RecordError] = field(default_factory=list)
    as_names: dict[int, str] = field(default_factory=dict)
    asn_country: dict[int, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> PrefixData:
        return cls(Prefixes.empty(), ATTRS.empty_table())

    def __len__(self) -> int:
        return self.attrs.num_rows

    @staticmethod
    def merge(parts: Sequence[PrefixData]) -> PrefixData:
        """Concatenate; rows of later parts are renumbered after earlier ones."""
        out = PrefixData.empty()
        offset = 0
        shifted: list[Prefixes] = []
        for part in parts:
            p = part.prefixes
            shifted.append(Prefixes(p.v4_net, p.v4_len, p.v4_row + offset,
                                    p.v6_net, p.v6_len, p.v6_row + offset))
            offset += part.attrs.num_rows
            out.errors += part.errors
            out.as_names.update(part.as_names)
            out.asn_country.update(part.asn_country)
        out.prefixes = Prefixes.concat(shifted)
        tables = [p.attrs for p in parts]
        out.attrs = pa.concat_tables(tables) if tables else ATTRS.empty_table()
        return out


@dataclass
class AsnInfo:
    """What is known about AS numbers: organisation name, country, abuse contact."""

    names: dict[int, str] = field(default_factory=dict)
    countries: dict[int, str] = field(default_factory=dict)
    abuse: dict[int, str] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# pfx2as
# --------------------------------------------------------------------------------------------
def load_pfx2as(path: Path) -> PrefixData:
    f = split_fields(read_lines(path), "\t", 3, str(path))
    f.bad |= skip_mask(f.lines)
    f.reject(f.count != 3, "expected 3 tab-separated fields (prefix, length, asn)")
    addr, length, origin = f.columns
    parsed = parse_ips(addr)
    f.reject(parsed.version == 0, "not an IP address", "prefix")
    f.reject(~matches(length, r"^[0-9]{1,3}$"), "prefix length is not a number", "length")
    lens = _to_int(length)
    maxlen = np.where(parsed.version == 6, 128, 32)
    f.reject(lens > maxlen, "prefix length out of range", "length")
    f.reject(~matches(origin, r"^[0-9]{1,10}([_,][0-9]{1,10})*$"),
             "origin is not an AS number, multi-origin (a_b) or AS set (a,b)", "asn")
    first = pc.extract_regex(origin, r"^(?P<asn>[0-9]+)")
    asn = _to_int(pc.struct_field(first, "asn"))
    f.reject(asn > _MAX_ASN, "AS number out of range", "asn")
    ok = ~f.bad
    rows = np.flatnonzero(ok)
    attrs = pa.table({
        "asn": pa.array(asn[ok], type=pa.uint32()),
        "country": pa.nulls(len(rows), pa.string()),
        "as_name": pa.nulls(len(rows), pa.string()),
    }, schema=ATTRS)
    prefixes = _prefixes(parsed, lens, ok)
    return PrefixData(prefixes, attrs, f.sorted_errors())


# --------------------------------------------------------------------------------------------
# ip2asn
# --------------------------------------------------------------------------------------------
def load_ip2asn(path: Path) -> PrefixData:
    f = split_fields(read_lines(path), "\t", 5, str(path))
    f.bad |= skip_mask(f.lines)
    f.reject(f.count < 5, "expected 5 tab-separated fields "
             "(range_start, range_end, AS_number, country_code, AS_description)")
    start_s, end_s, asn_s, cc_s, desc_s = f.columns
    start, end = _ip_or_u32(start_s), _ip_or_u32(end_s)
    f.reject(start.version == 0, "not an IP address", "range_start")
    f.reject(end.version == 0, "not an IP address", "range_end")
    f.reject(start.version != end.version, "range ends are of different IP versions", "range_end")
    v6 = start.version == 6
    backwards = np.where(v6, start.v6 > end.v6, start.v4 > end.v4)
    f.reject(backwards, "range_end is before range_start", "range_end")
    f.reject(~matches(asn_s, _ASN), "AS number is not a number", "AS_number")
    asn = _to_int(pc.replace_substring_regex(asn_s, "^(AS|as)", ""))
    f.reject(asn > _MAX_ASN, "AS number out of range", "AS_number")
    ok = ~f.bad & (asn > 0)  # AS 0: "Not routed", not an error
    country = pc.if_else(matches_arr(cc_s, r"^[A-Za-z]{2}$"), pc.utf8_upper(cc_s), None)
    as_name = pc.if_else(pc.equal(desc_s, "Not routed"), None, desc_s)

    ranges = np.flatnonzero(ok & ~v6)
    nets4, lens4, parent4 = split_v4(start.v4[ranges], end.v4[ranges])
    rows4 = ranges[parent4]
    nets6, lens6, rows6 = _split_v6(start.v6, end.v6, np.flatnonzero(ok & v6))
    rows = np.concatenate([rows4, rows6])
    attrs = pa.table({
        "asn": pa.array(asn[rows], type=pa.uint32()),
        "country": country.take(pa.array(rows, type=pa.int64())),
        "as_name": as_name.take(pa.array(rows, type=pa.int64())),
    }, schema=ATTRS)
    n4 = len(rows4)
    prefixes = Prefixes(nets4, lens4, np.arange(n4, dtype=np.int64),
                        nets6, lens6, np.arange(n4, n4 + len(rows6), dtype=np.int64))
    names = _first_names(asn[ok], as_name.filter(pa.array(ok)))
    return PrefixData(prefixes, attrs, f.sorted_errors(), as_names=names)


def _ip_or_u32(texts: pa.Array) -> ParsedIPs:
    """Addresses, or IPv4 addresses written as integers (iptoasn's ``ip2asn-v4-u32.tsv``)."""
    parsed = parse_ips(texts)
    as_int = matches(texts, r"^[0-9]{1,10}$")
    if as_int.any():
        values = _to_int(texts)
        fits = as_int & (values < 1 << 32)
        parsed.version[fits] = 4
        parsed.v4[fits] = values[fits].astype(np.uint64)
    return parsed


def _split_v6(
    start: np.ndarray, end: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nets: list[bytes] = []
    lens: list[int] = []
    parents: list[int] = []
    for r in rows.tolist():
        lo = int.from_bytes(bytes(start[r]).ljust(16, b"\0"), "big")
        hi = int.from_bytes(bytes(end[r]).ljust(16, b"\0"), "big")
        for net, length in split_int_range(lo, hi, 128):
            nets.append(net.to_bytes(16, "big"))
            lens.append(length)
            parents.append(r)
    return (np.array(nets, dtype=V6_DTYPE), np.array(lens, dtype=np.uint8),
            np.array(parents, dtype=np.int64))


# --------------------------------------------------------------------------------------------
# RIR delegated(-extended)
# --------------------------------------------------------------------------------------------
DELEGATED_STATUSES = ("allocated", "assigned")


def load_delegated(path: Path) -> PrefixData:
    """Country of every allocated or assigned block (and AS number) in the file."""
    f = split_fields(read_lines(path), "|", 8, str(path))
    f.bad |= skip_mask(f.lines)
    registry, cc, kind, start_s, value, _date, status, _opaque = f.columns
    # Version line: "2|ripencc|20240101|..." (first field is the format version).
    f.bad |= matches(registry, r"^[0-9]+(\.[0-9]+)*$")
    # Summary lines: "ripencc|*|ipv4|*|count|summary".
    f.bad |= matches(f.columns[5], r"^summary$")
    f.reject(f.count < 7, "expected at least 7 |-separated fields "
             "(registry|cc|type|start|value|date|status)")
    f.reject(~matches(kind, r"^(ipv4|ipv6|asn)$"), "type is not ipv4, ipv6 or asn", "type")
    f.reject(~matches(value, r"^[0-9]{1,10}$"), "value is not a number", "value")
    status_l = pc.utf8_lower(status)
    # available/reserved blocks belong to no country: skipped, not errors.
    f.bad |= ~matches(status_l, "^(" + "|".join(DELEGATED_STATUSES) + ")$")
    f.reject(~matches(cc, r"^[A-Za-z]{2}$"), "country code is not two letters", "cc")
    kinds = np.asarray(kind.to_pylist(), dtype=object)
    count = _to_int(value)

    asn_rows = ~f.bad & (kinds == "asn")
    f.reject(asn_rows & ~matches(start_s, r"^[0-9]{1,10}$"), "AS number is not a number", "start")
    f.reject(asn_rows & ((count == 0) | (count > 1 << 20)), "AS count out of range", "value")
    addr_rows = ~f.bad & (kinds != "asn")
    parsed = parse_ips(pc.if_else(pa.array(addr_rows), start_s, None))
    f.reject(addr_rows & (parsed.version == 0), "not an IP address", "start")
    want = np.where(kinds == "ipv6", 6, 4)
    f.reject(addr_rows & (parsed.version != 0) & (parsed.version != want),
             "address does not match the record type", "start")
    is6 = ~f.bad & (kinds == "ipv6")
    f.reject(is6 & (count > 128), "IPv6 prefix length out of range", "value")
    is4 = ~f.bad & (kinds == "ipv4")
    f.reject(is4 & ((count == 0) | (parsed.v4.astype(np.int64) + count > 1 << 32)),
             "IPv4 address count out of range", "value")
    is4, is6 = is4 & ~f.bad, is6 & ~f.bad
    asn_rows &= ~f.bad

    country = pc.utf8_upper(cc)
    r4 = np.flatnonzero(is4)
    nets4, lens4, parent4 = split_v4(parsed.v4[r4], parsed.v4[r4] + count[r4].astype(np.uint64)
                                     - np.uint64(1))
    rows4 = r4[parent4]
    rows6 = np.flatnonzero(is6)
    rows = np.concatenate([rows4, rows6])
    attrs = pa.table({
        "asn": pa.nulls(len(rows), pa.uint32()),
        "country": country.take(pa.array(rows, type=pa.int64())),
        "as_name": pa.nulls(len(rows), pa.string()),
    }, schema=ATTRS)
    n4 = len(rows4)
    prefixes = Prefixes(nets4, lens4, np.arange(n4, dtype=np.int64),
                        parsed.v6[rows6], count[rows6].astype(np.uint8),
                        np.arange(n4, n4 + len(rows6), dtype=np.int64))
    asn_country: dict[int, str] = {}
    asn_start = _to_int(pc.if_else(pa.array(asn_rows), start_s, None))
    for r in np.flatnonzero(asn_rows).tolist():
        cc_r = str(country[r].as_py())
        for a in range(int(asn_start[r]), int(asn_start[r]) + int(count[r])):
            asn_country[a] = cc_r
    return PrefixData(prefixes, attrs, f.sorted_errors(), asn_country=asn_country)


# --------------------------------------------------------------------------------------------
# AS → organisation (CAIDA as2org) and AS → abuse contact
# --------------------------------------------------------------------------------------------
def load_as2org(path: Path) -> AsnInfo:
    info = AsnInfo()
    source = str(path)
    orgs: dict[str, tuple[str, str]] = {}
    auts: list[tuple[int, str, str, int]] = []
    section = ""
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if line.startswith("# format"):
            section = "aut" if line.split(":", 1)[-1].strip().startswith("aut") else "org"
            continue
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("|")
        if section == "org" and len(parts) >= 5:
            orgs[parts[0]] = (parts[2], parts[3].upper())
        elif section == "aut" and len(parts) >= 5 and is_decimal(parts[0]):
            auts.append((int(parts[0]), parts[2], parts[3], lineno))
        else:
            info.errors.append(RecordError(Location(source, line=lineno),
                               f"not a valid {section or 'as2org'} record", line))
    for asn, aut_name, org_id, lineno in auts:
        if org_id in orgs:
            name, country = orgs[org_id]
            info.names[asn] = name or aut_name
            if len(country) == 2:
                info.countries[asn] = country
        elif aut_name:
            info.names[asn] = aut_name
        else:
            info.errors.append(RecordError(Location(source, line=lineno, field="org_id"),
                               f"unknown organisation {org_id!r}"))
    return info


def load_asn_abuse(path: Path) -> AsnInfo:
    """``AS64500,abuse@example.net`` per line (comma, tab or |; the AS prefix is optional)."""
    info = AsnInfo()
    source = str(path)
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        for sep in (",", "\t", "|"):
            if sep in text:
                asn_s, _, contact = text.partition(sep)
                break
        else:
            asn_s, contact = text, ""
        asn_s, contact = asn_s.strip().upper().removeprefix("AS"), contact.strip()
        if not is_decimal(asn_s) or int(asn_s) > _MAX_ASN:
            info.errors.append(RecordError(Location(source, line=lineno, field="asn"),
                               "not an AS number", line))
        elif "@" not in contact and not contact.startswith(("http://", "https://")):
            info.errors.append(RecordError(Location(source, line=lineno, field="contact"),
                               "abuse contact is not an e-mail address or URL", line))
        else:
            info.abuse[int(asn_s)] = contact
    return info


# --------------------------------------------------------------------------------------------
# Format sniffing
# --------------------------------------------------------------------------------------------
FORMATS = ("pfx2as", "ip2asn", "delegated", "as2org", "asn-abuse")


def sniff(path: Path) -> str:
    """Which of FORMATS the file is, from its first records."""
    head = [line for line in read_text(path).splitlines()[:200]
            if line.strip() and not line.startswith("#")]
    raw_head = read_text(path)[:4096]
    if "# format:" in raw_head or "# format :" in raw_head:
        return "as2org"
    for line in head[:20]:
        pipes = line.split("|")
        if len(pipes) >= 6 and pipes[2] in ("ipv4", "ipv6", "asn"):
            return "delegated"
        tabs = line.split("\t")
        if len(tabs) == 3 and is_decimal(tabs[1].strip()):
            return "pfx2as"
        if len(tabs) >= 5:
            return "ip2asn"
        if len(pipes) >= 6 and is_decimal(pipes[0]):
            continue  # delegated version line
        if ("@" in line or "http" in line) and line.upper().startswith("AS"):
            return "asn-abuse"
    raise InputError(f"{path}: not a pfx2as, ip2asn, RIR delegated, as2org or ASN-abuse file")


# --------------------------------------------------------------------------------------------
def _to_int(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Digit strings → int64 (0 where null or not digits; callers validated the text)."""
    clean = pc.if_else(matches_arr(arr, r"^[0-9]{1,18}$"), arr, "0")
    return np.asarray(pc.cast(clean, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def matches_arr(arr: pa.Array | pa.ChunkedArray, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False)


def _prefixes(parsed: ParsedIPs, lens: np.ndarray, ok: np.ndarray) -> Prefixes:
    rows = np.full(len(ok), -1, dtype=np.int64)
    rows[ok] = np.arange(int(ok.sum()))
    return Prefixes.from_parsed(parsed, lens, rows, ok)


def _first_names(asn: np.ndarray, names: pa.Array) -> dict[int, str]:
    out: dict[int, str] = {}
    for a, name in zip(asn.tolist(), names.to_pylist(), strict=True):
        if name and a not in out:
            out[a] = name
    return out


__all__ = ["ATTRS", "FORMATS", "AsnInfo", "Fields", "PrefixData", "load_as2org",
           "load_asn_abuse", "load_delegated", "load_ip2asn", "load_pfx2as", "sniff"]
