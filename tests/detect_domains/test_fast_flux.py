from __future__ import annotations

from bluelamp.detect.fast_flux import FastFlux, fast_flux
from bluelamp.settings import DetectSettings

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
