"""The Attributor: precedence (organisations over routing), filling events, scope, geo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from bluelamp.attribute import Attributor, Organisation, OrgDirectory
from bluelamp.attribute.geo import GeoDB
from bluelamp.errors import ConfigError
from bluelamp.schema import EVENT
from bluelamp.settings import load_settings

ORGS_TOML = """
[[organisation]]
name = "Example Hosting Ltd"
sector = "hosting"
region = "North West"
abuse_contact = "abuse@example-hosting.example"
country = "GB"
networks = ["81.2.69.160/27", "2001:db8:1::/48"]
asns = [64500]
domains = ["example-hosting.example"]

[[organisation]]
name = "Northern Water plc"
sector = "water"
region = "North East"
networks = ["203.0.113.0/25"]
domains = ["northern-water.example"]

[[organisation]]
name = "Broken Ltd"
networks = ["999.1.1.1/24"]

[[organisation]]
asns = ["ASx"]
"""


@pytest.fixture
def orgs_file(tmp_path: Path) -> Path:
    path = tmp_path / "orgs.toml"
    path.write_text(ORGS_TOML)
    return path


@pytest.fixture
def attributor(samples: Path, orgs_file: Path) -> Attributor:
    return Attributor.from_files(
        routing=[samples / "routeviews-rv2-20240101-1200.pfx2as",
                 samples / "routeviews-rv6-20240101-1200.pfx2as",
                 samples / "as-org2info.txt", samples / "asn-abuse.csv"],
        delegated=[samples / "delegated-ripencc-extended-20240101"],
        orgs=orgs_file, country="GB")


def rows(a: Attributor, ips: list[str | None], **kw: object) -> list[dict[str, object]]:
    return a.lookup(ips, **kw).to_pylist()  # type: ignore[arg-type]


def test_declared_network_wins_over_routing(attributor: Attributor) -> None:
    inside, outside = rows(attributor, ["81.2.69.170", "81.2.69.10"])
    # Routing says AS20712 (Andrews & Arnold) for both; the /27 is declared by a customer.
    assert inside == {
        "source_asn": 20712, "source_network": "81.2.69.160/27",
        "source_org": "Example Hosting Ltd", "source_country": "GB",
        "source_region": "North West", "source_sector": "hosting",
        "source_abuse_contact": "abuse@example-hosting.example"}
    assert outside["source_org"] == "Andrews & Arnold Ltd"  # as2org name of AS20712
    assert outside["source_network"] == "81.2.69.0/24"
    assert outside["source_abuse_contact"] == "abuse@aa.net.uk"  # ASN → abuse file
    assert outside["source_region"] is None and outside["source_sector"] is None


def test_declared_v6_network_and_mapped_address(attributor: Attributor) -> None:
    v6, mapped = rows(attributor, ["2001:db8:1::5", "::ffff:81.2.69.161"])
    assert v6["source_org"] == "Example Hosting Ltd" and v6["source_asn"] == 64497
    assert v6["source_network"] == "2001:db8:1::/48"
    assert mapped["source_org"] == "Example Hosting Ltd"


def test_declared_asn_and_domain(attributor: Attributor) -> None:
    # 203.0.113.200 is routed by AS64500, which Example Hosting declared.
    by_asn, by_domain, neither = rows(
        attributor, ["203.0.113.200", "198.18.0.1", "198.18.0.2"],
        fqdns=pa.array([None, "www.shop.northern-water.example", "other.example"]))
    assert by_asn["source_org"] == "Example Hosting Ltd"
    assert by_domain["source_org"] == "Northern Water plc"
    assert by_domain["source_region"] == "North East"
    assert neither["source_org"] is None


def test_network_beats_domain(attributor: Attributor) -> None:
    (row,) = rows(attributor, ["203.0.113.5"], fqdns=pa.array(["example-hosting.example"]))
    assert row["source_org"] == "Northern Water plc"


def test_country_from_delegation_and_invalid(attributor: Attributor) -> None:
    got = rows(attributor, ["2.24.1.1", "5.8.8.8", "1.0.0.1", "junk", None])
    # 1.0.0.1 is in no delegation: the country its AS (13335) is registered in (as2org).
    assert [r["source_country"] for r in got] == ["GB", "FR", "US", None, None]
    assert attributor.in_scope(["1.0.0.1"]).tolist() == [False]
    assert attributor.stats.invalid == 1 and attributor.stats.invalid_samples == ["junk"]


def test_load_errors_are_kept_with_the_good_rows(attributor: Attributor) -> None:
    messages = [str(e) for e in attributor.load_errors]
    assert any("999.1.1.1/24" in m for m in messages)
    assert any("ASx" in m for m in messages)
    assert len(attributor.orgs) == 3


def test_attribute_fills_only_missing_fields(attributor: Attributor) -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    events = EVENT.from_rows([
        {"id": "a", "time_observed": now, "feed_name": "t", "source_ip": "81.2.69.170"},
        {"id": "b", "time_observed": now, "feed_name": "t", "source_ip": "81.2.69.170",
         "source_org": "Told By Feed", "source_asn": 64500},
        {"id": "c", "time_observed": now, "feed_name": "t", "source_ip": None,
         "source_fqdn": "northern-water.example"},
    ])
    out = attributor.attribute(events)
    assert out.schema.equals(EVENT.arrow)
    a, b, c = out.to_pylist()
    assert a["source_org"] == "Example Hosting Ltd" and a["source_asn"] == 20712
    assert b["source_org"] == "Told By Feed" and b["source_asn"] == 64500
    assert c["source_org"] == "Northern Water plc"


def test_attribute_adds_missing_columns(attributor: Attributor) -> None:
    out = attributor.attribute(pa.table({"ip": ["2.24.0.9"]}), ip_column="ip")
    assert out.column("source_country").to_pylist() == ["GB"]
    with pytest.raises(ConfigError):
        attributor.attribute(pa.table({"x": [1]}))


def test_in_scope(attributor: Attributor) -> None:
    ips = ["2.24.1.1", "81.2.69.5", "2001:db8:5::1", "5.8.8.8", "1.0.0.1", "junk", None,
           "203.0.113.1"]
    # 203.0.113.1 is not GB address space but a directory organisation declared it.
    assert attributor.in_scope(ips).tolist() == [
        True, True, True, False, False, False, False, True]
    with pytest.raises(ConfigError):
        Attributor().in_scope(["1.1.1.1"])


def test_directory_from_constructor() -> None:
    directory = OrgDirectory([Organisation("Acme", networks=("192.0.2.0/24",),
                                           region="London")])
    a = Attributor(orgs=directory)
    (row,) = rows(a, ["192.0.2.9"])
    assert row["source_org"] == "Acme" and row["source_region"] == "London"


def test_orgs_csv(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("name,sector,region,abuse_contact,networks,asns,domains\n"
                    "Acme,retail,London,abuse@acme.example,192.0.2.0/24 2001:db8::/32,"
                    "AS64510;64511,acme.example\n"
                    ",x,y,z,,,\n")
    directory = OrgDirectory.load(path)
    assert [o.name for o in directory.orgs] == ["Acme"]
    assert directory.orgs[0].asns == (64510, 64511)
    assert [e.location.line for e in directory.errors] == [3]


def test_from_settings(samples: Path, orgs_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "bluelamp.toml"
    config.write_text(
        "[attribution]\n"
        f"routing = [{str(samples / 'routeviews-rv2-20240101-1200.pfx2as')!r}]\n"
        f"delegated = [{str(samples / 'delegated-ripencc-extended-20240101')!r}]\n"
        f"orgs = {str(orgs_file)!r}\n"
        "country = 'GB'\n")
    a = Attributor.from_settings(load_settings(config))
    assert a.country == "GB"
    assert rows(a, ["81.2.69.170"])[0]["source_org"] == "Example Hosting Ltd"


def test_many_rows_are_consistent(attributor: Attributor) -> None:
    ips = ["81.2.69.170", "1.0.0.1", "2001:db8:1::5", "junk"] * 5000
    got = attributor.lookup(ips)
    assert got.num_rows == 20000
    orgs = np.asarray(got.column("source_org").to_pylist(), dtype=object).reshape(-1, 4)
    assert (orgs == orgs[0]).all()


# ---------------------------------------------------------------------------------------------
# Geolocation: a tiny MaxMind DB built with mmdb-writer.
# ---------------------------------------------------------------------------------------------
def _city(country: str, subdivisions: list[tuple[str, str]], city: str | None) -> dict:
    record: dict[str, object] = {"country": {"iso_code": country, "names": {"en": country}}}
    record["subdivisions"] = [{"iso_code": c, "names": {"en": n}} for c, n in subdivisions]
    if city:
        record["city"] = {"names": {"en": city}}
    return record


@pytest.fixture
def mmdb(tmp_path: Path) -> Path:
    writer_mod = pytest.importorskip("mmdb_writer", reason="mmdb-writer builds the test .mmdb")
    netaddr = pytest.importorskip("netaddr")
    writer = writer_mod.MMDBWriter(ip_version=6, ipv4_compatible=True,
                                   database_type="GeoLite2-City", languages=["en"])
    writer.insert_network(netaddr.IPSet(["198.51.100.0/25"]), _city(
        "GB", [("ENG", "England"), ("MAN", "Manchester")], "Manchester"))
    writer.insert_network(netaddr.IPSet(["198.51.100.128/25"]), _city(
        "GB", [("WLS", "Wales"), ("CRF", "Cardiff")], "Cardiff"))
    writer.insert_network(netaddr.IPSet(["2001:db8:aaaa::/48"]), _city(
        "GB", [("SCT", "Scotland")], None))
    writer.insert_network(netaddr.IPSet(["192.0.2.0/24"]), _city("FR", [], "Paris"))
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    return path


REGIONS = {"GB-MAN": "North West", "Wales": "Wales (TARIAN)", "sct": "Scotland"}


def test_geo_regions(mmdb: Path) -> None:
    geo = GeoDB(mmdb, REGIONS)
    countries, regions = geo.lookup(["198.51.100.7", "198.51.100.200", "2001:db8:aaaa::1",
                                     "192.0.2.1", "10.0.0.1", "bogus"])
    assert countries == ["GB", "GB", "GB", "FR", None, None]
    assert regions == ["North West", "Wales (TARIAN)", "Scotland", None, None, None]


def test_org_region_wins_over_geo(mmdb: Path) -> None:
    directory = OrgDirectory([Organisation("Acme", networks=("198.51.100.0/28",),
                                           region="London")])
    a = Attributor(orgs=directory, geo=GeoDB(mmdb, REGIONS), country="GB")
    got = rows(a, ["198.51.100.1", "198.51.100.20", "198.51.100.200", "::ffff:198.51.100.21"])
    assert [r["source_region"] for r in got] == ["London", "North West", "Wales (TARIAN)",
                                                 "North West"]
    assert [r["source_country"] for r in got] == ["GB", "GB", "GB", "GB"]
    assert a.in_scope(["198.51.100.200", "192.0.2.1"]).tolist() == [True, False]


def test_unreadable_geo_db(tmp_path: Path) -> None:
    from bluelamp.errors import InputError

    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(InputError, match=r"bad\.mmdb"):
        GeoDB(bad)
