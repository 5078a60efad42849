"""Longest-prefix match: edge cases and a property test against a brute-force reference."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.attribute.addresses import parse_ips
from bluelamp.attribute.prefixes import NO_MATCH, Prefixes, PrefixTable
from bluelamp.attribute.ranges import split_int_range, split_v4

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def table(cidrs: list[str]) -> PrefixTable:
    prefixes, bad = Prefixes.from_cidrs(cidrs)
    assert bad == []
    return PrefixTable(prefixes)


def match(cidrs: list[str], ips: list[str | None]) -> list[str | None]:
    """The matched prefix text per address (None for no match)."""
    t = table(cidrs)
    rows = t.lookup(parse_ips(ips))
    return [cidrs[r] if r != NO_MATCH else None for r in rows.tolist()]


def reference(cidrs: list[str], ip: str) -> str | None:
    """Brute force: the longest of all prefixes that contain the address (later wins ties)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    best: tuple[int, int] | None = None
    for i, text in enumerate(cidrs):
        net = ipaddress.ip_network(text, strict=False)
        if net.version == addr.version and addr in net and (
                best is None or net.prefixlen >= best[0]):
            best = (net.prefixlen, i)
    return cidrs[best[1]] if best else None


def test_more_specific_wins_v4() -> None:
    cidrs = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32"]
    ips = ["10.1.2.3", "10.1.2.4", "10.1.3.0", "10.2.0.0", "11.0.0.0", "9.255.255.255"]
    assert match(cidrs, ips) == [
        "10.1.2.3/32", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8", None, None]


def test_input_order_does_not_matter() -> None:
    cidrs = ["10.1.2.3/32", "10.1.0.0/16", "10.0.0.0/8", "10.1.2.0/24"]
    assert match(cidrs, ["10.1.2.3", "10.1.2.9", "10.9.9.9"]) == [
        "10.1.2.3/32", "10.1.2.0/24", "10.0.0.0/8"]


def test_default_route_and_top_of_space_v4() -> None:
    cidrs = ["0.0.0.0/0", "255.255.255.255/32", "255.255.255.0/24"]
    assert match(cidrs, ["0.0.0.0", "1.2.3.4", "255.255.255.255", "255.255.255.254"]) == [
        "0.0.0.0/0", "0.0.0.0/0", "255.255.255.255/32", "255.255.255.0/24"]


def test_adjacent_ranges_do_not_bleed() -> None:
    cidrs = ["192.0.2.0/25", "192.0.2.128/25"]
    assert match(cidrs, ["192.0.2.127", "192.0.2.128", "192.0.2.255", "192.0.3.0"]) == [
        "192.0.2.0/25", "192.0.2.128/25", "192.0.2.128/25", None]


def test_v6_nested_zero_and_128() -> None:
    cidrs = ["::/0", "2001:db8::/32", "2001:db8:0:1::/64", "2001:db8:0:1::1/128",
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
    ips = ["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:ffff::", "2001:db9::", "::",
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"]
    assert match(cidrs, ips) == [
        "2001:db8:0:1::1/128", "2001:db8:0:1::/64", "2001:db8::/32", "::/0", "::/0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/0"]


def test_v6_prefixes_longer_than_64_across_the_halves() -> None:
    cidrs = ["2001:db8::/64", "2001:db8::8000:0:0:0/65", "2001:db8::ff00/120"]
    ips = ["2001:db8::1", "2001:db8::ff01", "2001:db8::8000:0:0:1", "2001:db8:0:1::"]
    assert match(cidrs, ips) == [
        "2001:db8::/64", "2001:db8::ff00/120", "2001:db8::8000:0:0:0/65", None]


def test_v4_and_v6_tables_are_separate() -> None:
    # ::/0 must not match IPv4, and 0.0.0.0/0 must not match IPv6.
    assert match(["::/0"], ["192.0.2.1", "2001:db8::1"]) == [None, "::/0"]
    assert match(["0.0.0.0/0"], ["192.0.2.1", "2001:db8::1"]) == ["0.0.0.0/0", None]


def test_mapped_addresses_are_ipv4() -> None:
    cidrs = ["192.0.2.0/24"]
    ips = ["::ffff:192.0.2.1", "::FFFF:192.0.2.2", "0:0:0:0:0:ffff:192.0.2.3",
           "::ffff:c000:204", "::192.0.2.1"]
    # ::192.0.2.1 is IPv4-*compatible* (deprecated), not mapped: it stays IPv6.
    assert match(cidrs, ips) == ["192.0.2.0/24"] * 4 + [None]


def test_mapped_prefix_is_an_ipv4_prefix() -> None:
    assert match(["::ffff:192.0.2.0/120"], ["192.0.2.77"]) == ["::ffff:192.0.2.0/120"]


def test_invalid_and_null_addresses() -> None:
    ips = ["not an ip", "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "", None, "2001:db8::g",
           " 192.0.2.1 "]
    parsed = parse_ips(ips)
    assert parsed.version.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 4]
    assert parsed.invalid == 6  # null and empty are "no address", not errors
    assert "not an ip" in parsed.invalid_samples
    assert match(["0.0.0.0/0", "::/0"], ips) == [None] * 8 + ["0.0.0.0/0"]


def test_bad_prefixes_are_reported() -> None:
    _, bad = Prefixes.from_cidrs(["10.0.0.0/33", "2001:db8::/129", "x/8", "10.0.0.0/8",
                                  "10.0.0.0/-1", None])
    assert bad == [0, 1, 2, 4, 5]


def test_host_bits_are_masked() -> None:
    assert match(["10.1.2.3/8"], ["10.200.0.1"]) == ["10.1.2.3/8"]


def test_network_text() -> None:
    t = table(["10.0.0.0/8", "2001:db8::/32"])
    rows = t.lookup(parse_ips(["10.1.1.1", "2001:db8::5", "1.1.1.1"]))
    assert t.network_text(rows) == {0: "10.0.0.0/8", 1: "2001:db8::/32"}


def test_empty_table() -> None:
    assert match([], ["10.0.0.1", "::1"]) == [None, None]


# ---------------------------------------------------------------------------------------------
# Property: the vectorised match equals the brute-force reference.
# ---------------------------------------------------------------------------------------------
def _v4_net(draw: st.DrawFn) -> str:
    length = draw(st.integers(0, 32))
    # Few distinct high bits, so prefixes nest and overlap often.
    addr = draw(st.integers(0, 7)) << 29 | draw(st.integers(0, (1 << 29) - 1))
    return str(ipaddress.IPv4Network((addr, length), strict=False))


def _v6_net(draw: st.DrawFn) -> str:
    length = draw(st.integers(0, 128))
    addr = draw(st.integers(0, 3)) << 126 | draw(st.integers(0, (1 << 126) - 1))
    if draw(st.booleans()):  # share the top 64 bits so the low half decides
        addr = (0x2001_0DB8 << 96) | (addr & ((1 << 64) - 1))
    return str(ipaddress.IPv6Network((addr, length), strict=False))


@st.composite
def prefix_sets(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    cidrs = [(_v4_net if draw(st.booleans()) else _v6_net)(draw)
             for _ in range(draw(st.integers(0, 25)))]
    ips: list[str] = []
    for _ in range(draw(st.integers(1, 30))):
        if cidrs and draw(st.booleans()):
            # An address at or next to a prefix boundary, where off-by-ones live.
            net = ipaddress.ip_network(draw(st.sampled_from(cidrs)))
            edge = draw(st.sampled_from([0, 1, -1, 2]))
            base = int(net.network_address) if edge >= 0 else int(net.broadcast_address) + 1
            value = (base + edge) % (1 << net.max_prefixlen)
            ips.append(str(ipaddress.ip_address(value) if net.version == 6
                           else ipaddress.IPv4Address(value)))
        elif draw(st.booleans()):
            ips.append(str(ipaddress.IPv4Address(draw(st.integers(0, (1 << 32) - 1)))))
        else:
            ips.append(str(ipaddress.IPv6Address(draw(st.integers(0, (1 << 128) - 1)))))
    return cidrs, ips


@settings(max_examples=300, deadline=None)
@given(prefix_sets())
def test_lpm_equals_brute_force(case: tuple[list[str], list[str]]) -> None:
    cidrs, ips = case
    got = match(cidrs, ips)
    want = [reference(cidrs, ip) for ip in ips]
    # Duplicate prefixes (same network and length) are equivalent: compare networks.
    norm = [None if c is None else ipaddress.ip_network(c, strict=False) for c in got]
    assert norm == [None if c is None else ipaddress.ip_network(c) for c in want]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, (1 << 32) - 1), st.integers(0, 1 << 20)),
                min_size=1, max_size=20))
def test_split_v4_equals_summarize(ranges: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in ranges], dtype=np.uint64)
    ends = np.array([min(s + n, (1 << 32) - 1) for s, n in ranges], dtype=np.uint64)
    nets, lens, parents = split_v4(starts, ends)
    for i in range(len(ranges)):
        got = sorted((int(n), int(ln)) for n, ln, p in zip(nets, lens, parents, strict=True)
                     if p == i)
        want = [(int(n.network_address), n.prefixlen) for n in ipaddress.summarize_address_range(
            ipaddress.IPv4Address(int(starts[i])), ipaddress.IPv4Address(int(ends[i])))]
        assert got == want


@settings(max_examples=200, deadline=None)
@given(st.integers(0, (1 << 128) - 1), st.integers(0, 1 << 80))
def test_split_int_range_v6_equals_summarize(start: int, size: int) -> None:
    end = min(start + size, (1 << 128) - 1)
    want = [(int(n.network_address), n.prefixlen) for n in ipaddress.summarize_address_range(
        ipaddress.IPv6Address(start), ipaddress.IPv6Address(end))]
    assert split_int_range(start, end, 128) == want


@pytest.mark.parametrize("text", ["0.0.0.0", "255.255.255.255", "::", "::1",
                                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1%eth0"])
def test_extremes_parse(text: str) -> None:
    parsed = parse_ips([text])
    assert parsed.invalid == 0 and parsed.version[0] in (4, 6)


def test_network_strings_on_demand_and_cached() -> None:
    cidrs = [f"10.{i}.0.0/16" for i in range(60)] + [f"2001:db8:{i + 1:x}::/48" for i in range(40)]
    t = table(cidrs)
    # A few rows: formatted on demand; then all of them: the whole table is kept.
    few = t.network_strings(np.array([3, 75, -1]))
    assert few.to_pylist() == ["10.3.0.0/16", "2001:db8:10::/48", None]
    assert t._all_text is None
    every = t.network_strings(np.arange(-1, 100))
    assert t._all_text is not None
    assert every.to_pylist() == [None, *cidrs]
    assert t.network_strings(np.array([3, 75, -1])).equals(few)
