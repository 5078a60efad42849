"""The vectorised address parser against `ipaddress`, on random input."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.attribute.addresses import canonical_text, host_ids, parse_ips, parse_unique

V4 = st.integers(0, (1 << 32) - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
V6 = st.integers(0, (1 << 128) - 1).map(lambda v: str(ipaddress.IPv6Address(v)))
V6_EXPLODED = st.integers(0, (1 << 128) - 1).map(lambda v: ipaddress.IPv6Address(v).exploded)
MAPPED = st.integers(0, (1 << 32) - 1).map(lambda v: f"::ffff:{ipaddress.IPv4Address(v)}")
JUNK = st.text(alphabet="0123456789abcdefABCDEF.:%/ x-", max_size=45)


def reference(text: str | None) -> tuple[int, int] | None:
    """(version, integer) as `ipaddress` sees it, mapped IPv6 as IPv4; None if not an address."""
    if text is None:
        return None
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.version, int(addr)


def parsed_values(texts: list[str | None]) -> list[tuple[int, int] | None]:
    p = parse_ips(texts)
    out: list[tuple[int, int] | None] = []
    for i in range(len(texts)):
        if p.version[i] == 4:
            out.append((4, int(p.v4[i])))
        elif p.version[i] == 6:
            out.append((6, int.from_bytes(bytes(p.v6[i]).ljust(16, b"\0"), "big")))
        else:
            out.append(None)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(V4, V6, V6_EXPLODED, MAPPED, st.none()), max_size=40))
def test_valid_addresses_parse_like_ipaddress(texts: list[str | None]) -> None:
    assert parsed_values(texts) == [reference(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(JUNK, max_size=40))
def test_junk_is_null_or_what_ipaddress_says(texts: list[str]) -> None:
    got = parsed_values(list(texts))
    for text, value in zip(texts, got, strict=True):
        want = reference(text)
        # inet_pton and ipaddress agree on what they both accept; where ipaddress refuses
        # the text, we must refuse it too.
        if want is None:
            assert value is None, text
        else:
            assert value == want, text
    p = parse_ips(list(texts))
    blank = sum(1 for t in texts if not t.strip())
    assert p.invalid == sum(1 for v in got if v is None) - blank


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(V4, V6, MAPPED, JUNK, st.none()), max_size=40))
def test_unique_parse_equals_row_parse(texts: list[str | None]) -> None:
    rows = parse_ips(texts)
    uniq = parse_unique(pa.array(texts, type=pa.string()))
    assert (uniq.rows(uniq.parsed.version.astype("int64"), missing=0) ==
            rows.version.astype("int64")).all()
    assert uniq.invalid == rows.invalid


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(V4, V6, MAPPED, st.none()), max_size=30))
def test_canonical_text(texts: list[str | None]) -> None:
    want = []
    for t in texts:
        ref = reference(t)
        want.append(None if ref is None else str(
            ipaddress.IPv4Address(ref[1]) if ref[0] == 4 else ipaddress.IPv6Address(ref[1])))
    assert canonical_text(texts).to_pylist() == want


def test_canonical_text_edge_spellings() -> None:
    texts = ["::", "::1", "::1.2.3.4", "::ffff:0:0", "2001:DB8::1", "fe80::1%eth0",
             "0:0:0:0:0:ffff:10.0.0.1", "10.0.0.1"]
    assert canonical_text(texts).to_pylist() == [
        "::", "::1", "::102:304", "0.0.0.0", "2001:db8::1", "fe80::1", "10.0.0.1", "10.0.0.1"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(V4, V6, MAPPED, JUNK, st.none()), max_size=30))
def test_host_ids_equal_exactly_when_addresses_are(texts: list[str | None]) -> None:
    ids = host_ids(parse_unique(pa.array(texts, type=pa.string()))).tolist()
    canon = canonical_text(texts).to_pylist()
    for i in range(len(texts)):
        assert (ids[i] == -1) == (canon[i] is None)
        for j in range(len(texts)):
            if canon[i] is not None and canon[j] is not None:
                assert (ids[i] == ids[j]) == (canon[i] == canon[j])
