from __future__ import annotations

import json
from pathlib import Path

import pytest

from bluelamp.detect.engine import Engine
from bluelamp.detect.tunnel import Tunnel, tunnel
from bluelamp.settings import DetectSettings
from bluelamp.simulate.tunnel import CAPTURE_BASE, escape_name, tunnel_queries

from .helpers import at, dns, run


def session(tool: str, client: str, base: str, qtype: int, n: int = 300,
            skip: int = 200) -> list[dict]:
    """`n` consecutive queries of a real capture, remapped under `base`."""
    raw = tunnel_queries(tool)[skip : skip + n]
    return [{"ts": at(i * 0.5), "client": client, "qtype": qtype, "rcode": 0,
             "qname": escape_name(r[: -len(CAPTURE_BASE)] + b"." + base.encode()),
             "response_size": 120, "sensor": "s1"} for i, r in enumerate(raw)]


def lookalike_benign() -> list[dict]:
    """Benign names that look random: hashed CDN labels, video edges, IoT endpoints,
    DNSBL and DKIM look-ups, CloudFront hosts, browser probes."""
    rows = []
    for i in range(400):
        h = f"{(i * 2654435761) % 16**32:032x}"
        rows += [
            {"qname": f"{h}.safeframe.googlesyndication.com", "qtype": 1},
            {"qname": f"rr{i % 9}---sn-{h[:8]}n{h[8:10]}.googlevideo.com", "qtype": 1},
            {"qname": f"{h[:14]}-ats.iot.eu-west-1.amazonaws.com", "qtype": 1},
            {"qname": f"{i % 256}.{i // 7}.{i % 99}.10.zen.spamhaus.org", "qtype": 1},
            {"qname": f"selector{i % 3}._domainkey.{h[:10]}.com", "qtype": 16},
            {"qname": f"d{h[:13]}.cloudfront.net", "qtype": 1},
            {"qname": f"{h[:12]}", "qtype": 1},
        ]
    return [{**r, "ts": at(i * 0.2), "client": "10.1.1.1", "rcode": 0,
             "response_size": 300, "sensor": "s1"} for i, r in enumerate(rows)]


def test_golden_iodine_session_found_and_benign_random_names_not() -> None:
    rows = session("iodine", "10.9.9.9", "tnl7.net", 10) + lookalike_benign()
    table = dns(rows).sort_by("ts")
    finding, host = run(Tunnel(), table)
    assert (host.type, host.subject_kind, host.subject, host.count) == (
        "dns-tunnel-client", "client", "10.9.9.9", 300)
    assert host.evidence["registered_domain"] == "tnl7.net" and host.score == finding.score
    assert "10.9.9.9" in host.explanation and "tnl7.net" in host.explanation
    assert (finding.detector, finding.type, finding.subject_kind, finding.subject) == (
        "dns-tunnel", "dns-tunnel", "domain", "tnl7.net")
    assert finding.count == 300
    ev = finding.evidence
    assert ev["registered_domain"] == "tnl7.net"
    assert [c["client"] for c in ev["clients"]] == ["10.9.9.9"]
    assert ev["bytes"] == sum(len(r["qname"]) + 120 for r in rows[:300])
    assert ev["tunnel_qtype_share"] == 1.0
    assert 200 <= ev["clients"][0]["unique"] <= 300
    assert ev["clients"][0]["mean_len"] >= 48 and ev["clients"][0]["mean_entropy"] >= 3.9
    assert finding.first_seen == at(0) and finding.last_seen == at(299 * 0.5)
    assert 0.5 <= finding.score <= 0.99
    assert "tnl7.net" in finding.explanation and "10.9.9.9" in finding.explanation
    json.dumps(ev)


def test_dns2tcp_txt_session_found_in_small_batches() -> None:
    table = dns(session("dns2tcp", "fd00::7", "dx1.org", 16, n=250))
    found = run(Tunnel(), table, batch_rows=37)
    assert [(f.subject, f.count) for f in found] == [("dx1.org", 250), ("fd00::7", 250)]
    assert found[0].evidence["clients"][0]["client"] == "fd00::7"


def test_two_clients_of_one_tunnel_domain_give_one_finding() -> None:
    rows = session("iodine", "10.0.0.1", "t.net", 10) + session("iodine", "10.0.0.2",
                                                                "t.net", 10, skip=900)
    finding, *hosts = run(Tunnel(), dns(rows).sort_by("ts"))
    assert sorted(h.subject for h in hosts) == ["10.0.0.1", "10.0.0.2"]
    assert finding.evidence["client_count"] == 2
    assert {c["client"] for c in finding.evidence["clients"]} == {"10.0.0.1", "10.0.0.2"}


def test_short_session_below_min_unique_is_not_flagged() -> None:
    assert run(Tunnel(), dns(session("iodine", "10.0.0.1", "t.net", 10, n=60))) == []


def test_allow_list_and_factory_settings() -> None:
    table = dns(session("iodine", "10.0.0.1", "t.net", 10))
    det = tunnel(settings=DetectSettings(tunnel_allow=["t.net"]))
    assert run(det, table) == []
    assert len(run(tunnel(settings=DetectSettings()), table)) == 2


def test_checkpoint_resume_gives_the_same_finding(tmp_path: Path) -> None:
    table = dns(session("iodine", "10.0.0.1", "t.net", 10))
    whole = run(Tunnel(), table)
    first = Engine([Tunnel()], checkpoint=tmp_path / "ck.json")
    assert first.process(table.slice(0, 150)) == []
    first.save_checkpoint()
    second = Engine([Tunnel()], checkpoint=tmp_path / "ck.json")
    resumed = second.process(table.slice(150)) + second.flush()
    assert [(f.subject, f.count, f.evidence) for f in resumed] == [
        (f.subject, f.count, f.evidence) for f in whole]


@pytest.mark.parametrize("qtype", [1, 16])
def test_null_and_odd_rows_do_not_break_it(qtype: int) -> None:
    rows = [{"ts": at(i), "client": None if i % 2 else "10.0.0.1", "qtype": qtype,
             "qname": None if i % 3 == 0 else "x" * 40 + f"{i}.a.net"} for i in range(30)]
    assert run(Tunnel(), dns(rows)) == []
