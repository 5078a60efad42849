"""Golden tests of the routing and registry loaders on real-format samples."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluelamp.attribute.addresses import parse_ips
from bluelamp.attribute.loaders import (
    PrefixData,
    load_as2org,
    load_asn_abuse,
    load_delegated,
    load_ip2asn,
    load_pfx2as,
    sniff,
)
from bluelamp.attribute.prefixes import PrefixTable
from bluelamp.errors import InputError


def attrs_of(data: PrefixData, ips: list[str]) -> list[dict[str, object] | None]:
    rows = PrefixTable(data.prefixes).lookup(parse_ips(ips))
    table = data.attrs.to_pylist()
    return [table[r] if r >= 0 else None for r in rows.tolist()]


def networks_of(data: PrefixData, ips: list[str]) -> list[str | None]:
    t = PrefixTable(data.prefixes)
    rows = t.lookup(parse_ips(ips))
    names = t.network_text(rows)
    return [names.get(r) for r in rows.tolist()]


def test_sniff(samples: Path) -> None:
    assert sniff(samples / "routeviews-rv2-20240101-1200.pfx2as") == "pfx2as"
    assert sniff(samples / "routeviews-rv6-20240101-1200.pfx2as") == "pfx2as"
    assert sniff(samples / "ip2asn-v4.tsv") == "ip2asn"
    assert sniff(samples / "ip2asn-v6.tsv") == "ip2asn"
    assert sniff(samples / "delegated-ripencc-extended-20240101") == "delegated"
    assert sniff(samples / "as-org2info.txt") == "as2org"
    assert sniff(samples / "asn-abuse.csv") == "asn-abuse"


def test_sniff_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello world\n")
    with pytest.raises(InputError, match=r"x\.txt"):
        sniff(path)


def test_pfx2as(samples: Path) -> None:
    data = load_pfx2as(samples / "routeviews-rv2-20240101-1200.pfx2as")
    assert len(data) == 9
    got = attrs_of(data, ["1.0.0.1", "2.16.0.1", "2.23.255.255", "5.8.9.1", "81.2.69.170",
                          "81.2.69.1", "9.9.9.9"])
    assert [a["asn"] if a else None for a in got] == [
        13335, 20940, 20940, 35271, 20712, 20712, None]
    assert networks_of(data, ["2.16.0.1", "2.16.2.1", "81.2.69.170"]) == [
        "2.16.0.0/23", "2.16.0.0/13", "81.2.69.160/27"]
    assert [(e.location.line, e.location.field) for e in data.errors] == [
        (10, "prefix"), (11, "length"), (12, "asn")]
    assert "not-an-ip" in str(data.errors[0])


def test_pfx2as_v6(samples: Path) -> None:
    data = load_pfx2as(samples / "routeviews-rv6-20240101-1200.pfx2as")
    got = attrs_of(data, ["2001:db8:1::1", "2001:db8:2::1", "2a00:1098::1", "2001:dead::"])
    assert [a["asn"] if a else None for a in got] == [64497, 64496, 44684, None]
    assert data.errors == []


def test_ip2asn_v4(samples: Path) -> None:
    data = load_ip2asn(samples / "ip2asn-v4.tsv")
    got = attrs_of(data, ["1.0.0.200", "1.0.2.1", "1.0.5.5", "192.0.2.100", "192.0.2.101"])
    assert got[0] == {"asn": 13335, "country": "US",
                      "as_name": "CLOUDFLARENET - Cloudflare, Inc."}
    assert got[1] is None  # AS 0 "Not routed" is skipped
    assert got[2] is not None and got[2]["country"] == "AU"
    assert got[3] is not None and got[3]["asn"] == 64500
    assert got[4] is None  # the range ends at .100
    # 192.0.2.0-192.0.2.100 is not a CIDR: split into /26, /27, /30, /32.
    assert networks_of(data, ["192.0.2.0", "192.0.2.64", "192.0.2.96", "192.0.2.100"]) == [
        "192.0.2.0/26", "192.0.2.64/27", "192.0.2.96/30", "192.0.2.100/32"]
    assert data.as_names[20712] == "ANDREWS-AS Andrews & Arnold Ltd"
    assert [(e.location.line, e.location.field) for e in data.errors] == [
        (6, "range_start"), (7, "range_end")]


def test_ip2asn_v6(samples: Path) -> None:
    data = load_ip2asn(samples / "ip2asn-v6.tsv")
    got = attrs_of(data, ["2001:200::1", "2a00:1098:7::1", "2a00:1098:8::1", "2001:db8::ff",
                          "2001:db8::100"])
    assert [a["asn"] if a else None for a in got] == [2500, 44684, None, 64496, None]
    assert networks_of(data, ["2001:db8::1"]) == ["2001:db8::/120"]


def test_delegated(samples: Path) -> None:
    data = load_delegated(samples / "delegated-ripencc-extended-20240101")
    got = attrs_of(data, ["2.24.0.1", "2.31.255.255", "2.32.0.0", "81.2.69.1", "192.0.2.191",
                          "192.0.2.192", "5.8.8.8", "5.8.16.1", "2a00:1098::1", "2a01:4f8::1"])
    assert [a["country"] if a else None for a in got] == [
        "GB", "GB", None, "GB", "GB", None, "FR", None, "GB", "DE"]
    # 192 addresses: not a power of two → /25 + /26.
    assert networks_of(data, ["192.0.2.1", "192.0.2.129"]) == ["192.0.2.0/25", "192.0.2.128/26"]
    assert data.asn_country == {20712: "GB", 64500: "GB", 64501: "GB", 24940: "DE"}
    assert [(e.location.line, e.location.field) for e in data.errors] == [
        (17, "start"), (18, "type")]


def test_as2org(samples: Path) -> None:
    info = load_as2org(samples / "as-org2info.txt")
    assert info.names == {13335: "Cloudflare, Inc.", 20712: "Andrews & Arnold Ltd",
                          64500: "Example Hosting Ltd"}
    assert info.countries[20712] == "GB"
    assert [e.location.line for e in info.errors] == [11]


def test_asn_abuse(samples: Path) -> None:
    info = load_asn_abuse(samples / "asn-abuse.csv")
    assert info.abuse == {20712: "abuse@aa.net.uk", 64500: "abuse@example-hosting.example",
                          13335: "https://abuse.cloudflare.com/"}
    assert [(e.location.line, e.location.field) for e in info.errors] == [
        (5, "asn"), (6, "contact")]


def test_gzip_is_transparent(samples: Path, tmp_path: Path) -> None:
    src = samples / "routeviews-rv2-20240101-1200.pfx2as"
    gz = tmp_path / "rv2.pfx2as.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert load_pfx2as(gz).attrs.equals(load_pfx2as(src).attrs)


def test_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.pfx2as"
    path.write_bytes(b"# comment\r\n\r\n192.0.2.0\t24\t64500\r\n")
    data = load_pfx2as(path)
    assert data.errors == [] and data.attrs.column("asn").to_pylist() == [64500]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_pfx2as(tmp_path / "absent")


_line = st.text(alphabet=st.sampled_from("0123456789abcdef.:/\t|,_ ASN-x"), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=15))
def test_loaders_never_crash_and_account_for_every_line(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f"
        path.write_text("\n".join(lines) + "\n")
        for loader in (load_pfx2as, load_ip2asn, load_delegated):
            data = loader(path)
            # Every error names a real line of the file.
            assert all(1 <= (e.location.line or 0) <= len(lines) for e in data.errors)
        load_as2org(path)
        load_asn_abuse(path)


def test_ip2asn_v4_u32(samples: Path) -> None:
    data = load_ip2asn(samples / "ip2asn-v4-u32.tsv")
    got = attrs_of(data, ["1.0.0.1", "1.0.1.1", "1.0.4.1"])
    assert [a["asn"] if a else None for a in got] == [13335, None, 38803]
    assert networks_of(data, ["1.0.4.1"]) == ["1.0.4.0/22"]
    assert [(e.location.line, e.location.field) for e in data.errors] == [(4, "range_start")]
    assert sniff(samples / "ip2asn-v4-u32.tsv") == "ip2asn"
