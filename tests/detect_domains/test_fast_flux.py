from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from bluelamp.detect.fast_flux import FastFlux, fast_flux
from bluelamp.settings import DetectSettings, Settings

from .helpers import at, dns, run


def flux_rows(name: str = "www.flux-shop.net", ttl: int = 150, visits: int = 4) -> list[dict]:
    rows = []
    for v in range(visits):
        answers = [f"{(v * 5 + k) * 7 % 223 + 1}.{(v * 5 + k) * 13 % 250}.{k}.{v + 10}"
                   for k in range(5)]
        rows.append({"ts": at(v * 300), "client": f"10.0.0.{v}", "qname": name,
                     "qtype": 1, "rcode": 0, "answers": answers, "ttl": ttl, "sensor": "s1"})
    return rows


def cdn_rows() -> list[dict]:
    """A CDN name: many edges and short TTLs, but packed into two provider /16s."""
    rows = []
    for v in range(40):
        answers = [f"23.{50 + v % 2}.{v % 10}.{k + 1}" for k in range(4)]
        rows.append({"ts": at(v * 60), "client": "10.0.1.1",
                     "qname": "e1234.a.akamaiedge.net", "qtype": 1, "rcode": 0,
                     "answers": ["e1234.a.akamaiedge.net", *answers], "ttl": 20})
    return rows


def test_golden_flux_name_flagged_cdn_not() -> None:
    table = dns(flux_rows() + cdn_rows()).sort_by("ts")
    (f,) = run(FastFlux(), table)
    assert (f.detector, f.type, f.subject_kind, f.subject) == (
        "fast-flux", "fast-flux", "domain", "flux-shop.net")
    ev = f.evidence
    assert ev["name"] == "www.flux-shop.net"
    assert (ev["networks_24"], ev["networks_16"], ev["answers"]) == (20, 20, 20)
    assert ev["min_ttl"] == 150
    assert ev["clients"] == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert len(ev["sample_addresses"]) == 20
    assert f.count == 20 and f.first_seen == at(0) and f.last_seen == at(900)
    assert f.score == round(1 - 0.5 * 8 / 20, 4)
    assert "fast-flux" in f.explanation


def test_long_ttl_and_few_networks_are_not_flux() -> None:
    assert run(FastFlux(), dns(flux_rows(ttl=3600))) == []
    assert run(FastFlux(), dns(flux_rows(visits=1))) == []  # 5 networks only


def test_allow_list_from_settings() -> None:
    table = dns(flux_rows(name="2.pool.ntp.org"))
    assert run(fast_flux(settings=DetectSettings()), table) == []
    assert len(run(fast_flux(settings=DetectSettings(fast_flux_allow=[])), table)) == 1


def test_ipv6_and_cname_answers_are_ignored() -> None:
    rows = [{"ts": at(i), "client": "10.0.0.1", "qname": "x.example.net", "qtype": 1,
             "rcode": 0, "ttl": 60, "answers": [f"2001:db8:{i}::1", f"n{i}.cdn.net", None]}
            for i in range(30)]
    assert run(FastFlux(), dns(rows)) == []


def spread_cdn_rows() -> list[dict]:
    """A CDN whose edges are in 20 different /16s, all announced by one AS."""
    return [{"ts": at(v * 60), "client": "10.0.1.1", "qname": "img.bigcdn.net", "qtype": 1,
             "rcode": 0, "answers": [f"{100 + v}.{v}.1.{k + 1}" for k in range(2)], "ttl": 30}
            for v in range(20)]


def fake_asn_of(addresses: pa.Array) -> np.ndarray:
    """The CDN's /8s (100-119) are AS 64500; flux hosts get one AS per first octet; 9.x is
    not routed."""
    first = np.array([int(a.split(".")[0]) for a in addresses.to_pylist()])
    return np.where((first >= 100) & (first < 120), 64500, np.where(first == 9, 0, first))


def test_asn_rule_keeps_a_prefix_spread_cdn_out() -> None:
    table = dns(flux_rows() + spread_cdn_rows()).sort_by("ts")
    # by prefixes alone the CDN looks like flux (20 /24s in 20 /16s) ...
    assert sorted(f.subject for f in run(FastFlux(), table)) == ["bigcdn.net",
                                                                 "flux-shop.net"]
    # ... with routing data it is one AS, and the flux name is many
    (f,) = run(FastFlux(asn_of=fake_asn_of), table)
    assert f.subject == "flux-shop.net" and f.evidence["diversity_rule"] == "asn"
    assert f.evidence["asns"] >= 5 and "autonomous systems" in f.explanation


def test_unrouted_addresses_fall_back_to_prefixes() -> None:
    rows = [{**r, "answers": [f"9.{i * 5 + j}.{j}.1" for j, _ in enumerate(r["answers"])]}
            for i, r in enumerate(flux_rows())]
    (f,) = run(FastFlux(asn_of=fake_asn_of), dns(rows))
    assert f.evidence["diversity_rule"] == "prefix" and f.evidence["asns"] is None


def test_factory_reads_routing_files(tmp_path: Path) -> None:
    pfx = tmp_path / "routeviews.pfx2as"
    # every /8 its own AS, except 100-119: one CDN AS
    pfx.write_text("".join(f"{o}.0.0.0\t8\t{64500 if 100 <= o < 120 else 65000 + o}\n"
                           for o in range(1, 224)))
    settings = Settings(attribution={"routing": [pfx]})
    det = fast_flux(settings=settings)
    assert det.asn_of is not None
    table = dns(flux_rows() + spread_cdn_rows()).sort_by("ts")
    assert [f.subject for f in run(det, table)] == ["flux-shop.net"]
    assert fast_flux(settings=DetectSettings()).asn_of is None
