"""Vectorised matching against a plain per-event, per-subscription reference."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.act.feeds import tlp
from bluelamp.act.feeds.matching import Filter, Matcher
from bluelamp.schema import EVENT

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
TYPES = ["spam", "phishing", "c2-server"]
LEVELS = [None, "clear", "green", "amber", "amber+strict", "red", "TLP:GREEN", "white", "bogus"]

v4 = st.builds(lambda a, b: f"10.0.{a}.{b}", st.integers(0, 3), st.integers(0, 255))
v6 = st.builds(lambda a, b: f"2001:db8:{a:x}::{b:x}", st.integers(0, 3), st.integers(0, 9))
names = st.builds(lambda a, b: ".".join(p for p in (a, b, "example") if p),
                  st.sampled_from(["", "www", "x.y"]), st.sampled_from(["", "a", "b", "ab"]))
events = st.lists(st.fixed_dictionaries({
    "source_ip": st.one_of(st.none(), v4, v6, st.just("not-an-ip")),
    "source_fqdn": st.one_of(st.none(), names),
    "source_asn": st.one_of(st.none(), st.integers(64500, 64503)),
    "tlp": st.sampled_from(LEVELS),
    "confidence": st.one_of(st.none(), st.floats(0, 1)),
    "classification_type": st.one_of(st.none(), st.sampled_from(TYPES)),
}), max_size=40)
networks = st.one_of(
    st.builds(lambda a, n: f"10.0.{a}.0/{n}", st.integers(0, 3), st.sampled_from([22, 24])),
    st.builds(lambda a, b, n: str(ipaddress.ip_network(f"10.0.{a}.{b}/{n}", strict=False)),
              st.integers(0, 3), st.integers(0, 255), st.sampled_from([16, 30, 32])),
    st.builds(lambda a, n: str(ipaddress.ip_network(f"2001:db8:{a:x}::/{n}", strict=False)),
              st.integers(0, 3), st.sampled_from([32, 48, 64, 120, 128])))
filters = st.lists(st.builds(
    lambda nets, asns, doms, types, conf, clear: (nets, asns, doms, types, conf, clear),
    st.lists(networks, max_size=3), st.lists(st.integers(64500, 64503), max_size=2),
    st.lists(st.sampled_from(["example", "a.example", "b.example", "www.ab.example"]),
             max_size=2),
    st.lists(st.sampled_from(TYPES), max_size=2, unique=True), st.floats(0, 1),
    st.sampled_from(["clear", "green", "amber", "red"])), max_size=6)


def _in_scope(event: dict[str, object], f: Filter) -> bool:
    ip = event["source_ip"]
    try:
        addr = ipaddress.ip_address(str(ip)) if ip else None
    except ValueError:
        addr = None
    nets = [ipaddress.ip_network(net, strict=False) for net in f.networks]
    if addr and any(addr.version == n.version and addr in n for n in nets):
        return True
    if event["source_asn"] is not None and event["source_asn"] in f.asns:
        return True
    name = event["source_fqdn"]
    return bool(name) and any(name == d or str(name).endswith("." + d) for d in f.domains)


def _reference(rows: list[dict[str, object]], fs: list[Filter]) -> set[tuple[int, int]]:
    out = set()
    for i, event in enumerate(rows):
        level = str(event["tlp"] or "amber").lower().removeprefix("tlp:")
        rank = tlp.RANK.get(level, 99)
        for f in fs:
            if not _in_scope(event, f):
                continue
            if rank > tlp.rank(tlp.clearance(f.clearance)):
                continue
            if float(event["confidence"] or 0.0) < f.min_confidence:  # type: ignore[arg-type]
                continue
            if f.types and event["classification_type"] not in f.types:
                continue
            out.add((i, f.key))
    return out


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return EVENT.from_rows([{**r, "id": str(i), "time_observed": NOW, "feed_name": "t"}
                            for i, r in enumerate(rows)])


@settings(max_examples=150, deadline=None)
@given(events, filters)
def test_matches_the_reference(rows: list[dict[str, object]], specs: list[tuple]) -> None:
    fs = [Filter(key=100 + k, networks=tuple(n), asns=tuple(a), domains=tuple(d),
                 types=tuple(t), min_confidence=c, clearance=cl)
          for k, (n, a, d, t, c, cl) in enumerate(specs)]
    got = Matcher(fs).match(_table(rows))
    pairs = set(zip(got.column("row").to_pylist(), got.column("subscription").to_pylist(),
                    strict=True))
    assert pairs == _reference(rows, fs)
    assert got.num_rows == len(pairs)  # no duplicates when several scopes match


def test_red_and_amber_strict_never_match_even_with_red_clearance() -> None:
    rows: list[dict[str, object]] = [
        {"source_ip": "10.0.0.1", "source_fqdn": None, "source_asn": None, "tlp": level,
         "confidence": 1.0, "classification_type": None}
        for level in ("red", "amber+strict", "amber")]
    got = Matcher([Filter(1, networks=("10.0.0.0/8",), clearance="red")]).match(_table(rows))
    assert got.column("row").to_pylist() == [2]


def test_no_filters_or_no_events() -> None:
    assert Matcher([]).match(_table([{"source_ip": "10.0.0.1", "source_fqdn": None,
                                      "source_asn": None, "tlp": None, "confidence": None,
                                      "classification_type": None}])).num_rows == 0
    assert Matcher([Filter(1, asns=(1,))]).match(EVENT.empty_table()).num_rows == 0
