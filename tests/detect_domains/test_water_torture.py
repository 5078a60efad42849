from __future__ import annotations

import random
import string

from bluelamp.detect.water_torture import WaterTorture, water_torture
from bluelamp.settings import DetectSettings

from .helpers import at, dns, run


def rand_label(r: random.Random, lo: int = 8, hi: int = 16) -> str:
    return "".join(r.choices(string.ascii_lowercase + string.digits, k=r.randint(lo, hi)))


def attack_rows(r: random.Random, clients: int = 3, per_client: int = 200,
                zone: str = "victim.net") -> list[dict]:
    return [{"ts": at(c + i * 2), "client": f"10.0.1.{c}", "qtype": 1,
             "qname": f"{rand_label(r)}.{zone}", "rcode": 2 if i % 4 == 0 else 3,
             "sensor": "s1"}
            for c in range(clients) for i in range(per_client)]


def benign_rows(r: random.Random) -> list[dict]:
    rows = []
    # browser probes under a search suffix: three random names per workstation
    for c in range(150):
        rows += [{"ts": at(c), "client": f"10.0.2.{c}", "qtype": 1, "rcode": 3,
                  "qname": f"{rand_label(r, 7, 15)}.corp.internal"} for _ in range(3)]
    # a mail server's DNSBL look-ups: short numeric labels, mostly NXDOMAIN
    rows += [{"ts": at(i * 0.3), "client": "10.0.3.1", "qtype": 1, "rcode": 3,
              "qname": f"{i % 250}.{i // 250}.7.10.zen.spamhaus.org"} for i in range(1500)]
    # domain-reputation look-ups of many names: subdomains of three labels or more
    rows += [{"ts": at(i * 0.3), "client": "10.0.3.1", "qtype": 1, "rcode": 3,
              "qname": f"{rand_label(r)}.com.dbl.spamhaus.org"} for i in range(800)]
    return rows


def test_golden_attack_names_the_target_zone() -> None:
    r = random.Random(4)
    table = dns(attack_rows(r) + benign_rows(r)).sort_by("ts")
    f, *bots = run(WaterTorture(allow=frozenset()), table)
    assert [(b.type, b.subject_kind, b.subject, b.count) for b in bots] == [
        ("random-subdomain-bot", "client", f"10.0.1.{c}", 200) for c in range(3)]
    assert all(b.evidence["target_zone"] == "victim.net" for b in bots)
    assert (f.detector, f.type, f.subject_kind, f.subject) == (
        "water-torture", "random-subdomain-ddos", "domain", "victim.net")
    assert f.count == 600
    ev = f.evidence
    assert ev["target_zone"] == "victim.net" and ev["client_count"] == 3
    assert ev["failures"] == 600 and ev["servfail"] == 150
    assert {c["client"] for c in ev["clients"]} == {"10.0.1.0", "10.0.1.1", "10.0.1.2"}
    assert 450 <= ev["distinct_subdomains"] <= 600
    assert f.first_seen == at(0) and f.last_seen == at(2 + 199 * 2)
    assert "victim.net" in f.explanation and "water torture" in f.explanation


def test_small_flood_below_min_unique_is_not_reported() -> None:
    r = random.Random(5)
    table = dns(attack_rows(r, clients=1, per_client=150))
    assert run(WaterTorture(), table) == []
    assert len(run(WaterTorture(min_unique=100), table)) == 2  # the zone and the bot


def test_answered_queries_and_repeated_names_do_not_count() -> None:
    r = random.Random(6)
    ok = [{**row, "rcode": 0} for row in attack_rows(r)]
    # one name failing over and over (a broken configuration), not a flood
    same = [{"ts": at(i), "client": "10.0.0.9", "qtype": 1, "rcode": 3,
             "qname": "abcdefgh.victim.net"} for i in range(600)]
    assert run(WaterTorture(), dns(ok + same).sort_by("ts")) == []


def test_allow_list_from_settings() -> None:
    r = random.Random(7)
    table = dns(attack_rows(r, zone="spamhaus.org"))
    assert run(water_torture(settings=DetectSettings()), table) == []
    found = run(water_torture(settings=DetectSettings(tunnel_allow=[])), table)
    assert [f.subject for f in found] == ["spamhaus.org", "10.0.1.0", "10.0.1.1", "10.0.1.2"]
