"""The organisation directory: parsing records, and lookups by address, AS and domain."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.attribute.addresses import parse_ips
from bluelamp.attribute.orgs import Organisation, OrgDirectory

NETS = st.one_of(
    st.builds(lambda a, n: str(ipaddress.IPv4Network((a, n), strict=False)),
              st.integers(0, (1 << 32) - 1), st.integers(0, 32)),
    st.builds(lambda a, n: str(ipaddress.IPv6Network((a, n), strict=False)),
              st.integers(0, (1 << 128) - 1), st.integers(0, 128)),
    st.text(alphabet="0123456789./:abcx", max_size=20),
)


def is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(NETS, max_size=4), min_size=1, max_size=6))
def test_bad_networks_are_reported_and_good_ones_kept(nets: list[list[str]]) -> None:
    orgs = [Organisation(f"org{i}", networks=tuple(n)) for i, n in enumerate(nets)]
    directory = OrgDirectory(orgs)
    bad = [n for group in nets for n in group if not is_network(n)]
    assert len(directory.errors) == len(bad)
    # Every good network's own address is attributed to an organisation that declared
    # a network containing it.
    for i, group in enumerate(nets):
        for net in filter(is_network, group):
            addr = str(ipaddress.ip_network(net, strict=False).network_address)
            org, _ = directory.by_address(parse_ips([addr]))
            owner = directory.orgs[int(org[0])]
            assert any(is_network(n) and ipaddress.ip_address(addr) in
                       ipaddress.ip_network(n, strict=False) for n in owner.networks), (i, net)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "asns", "domains", "networks", "region",
                                        "sector", "abuse_contact", "country"]),
                       st.one_of(st.text(max_size=15), st.integers(-5, 1 << 33),
                                 st.lists(st.text(max_size=8), max_size=3))))
def test_from_mapping_raises_value_error_or_builds(data: dict[str, object]) -> None:
    try:
        org = Organisation.from_mapping(data)
    except (ValueError, TypeError):
        return
    assert org.name and all(0 <= a <= 0xFFFF_FFFF for a in org.asns)


def test_domains_and_parents() -> None:
    directory = OrgDirectory([
        Organisation("A", domains=("example.co.uk",)),
        Organisation("B", domains=("shop.example.co.uk", "other.example.")),
    ])
    names = pa.array(["Example.CO.UK.", "www.shop.example.co.uk", "x.example.co.uk",
                      "other.example", "co.uk", None, ""])
    assert directory.by_domains(names).tolist() == [0, 1, 0, 1, -1, -1, -1]


def test_asns() -> None:
    directory = OrgDirectory([Organisation("A", asns=(64500,)),
                              Organisation("B", asns=(64501, 64500))])
    # The first organisation to declare an AS keeps it.
    assert directory.by_asns(np.array([64500, 64501, 1, 0])).tolist() == [0, 1, -1, -1]


@pytest.mark.parametrize("value", ["AS64500", "as64500", 64500, " 64500 "])
def test_asn_spellings(value: object) -> None:
    assert Organisation.from_mapping({"name": "x", "asns": [value]}).asns == (64500,)
