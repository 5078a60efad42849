from __future__ import annotations

import pytest

from bluelamp.detect.spam import SpamBots, parse_networks, spam_bots
from bluelamp.settings import DetectSettings

from .helpers import at, dns, run


def mx_rows(client: str, domains: int, repeat: int = 1) -> list[dict]:
    return [{"ts": at(i), "client": client, "qname": f"recipient{i % domains}.com",
             "qtype": 15, "rcode": 0, "sensor": "s1"} for i in range(domains * repeat)]


def test_golden_spam_bot_found_mail_server_and_few_domains_not() -> None:
    rows = (mx_rows("10.0.0.5", 80) + mx_rows("10.0.9.1", 80)  # 10.0.9.1: our MTA
            + mx_rows("10.0.0.6", 3, repeat=30)                   # 90 MX of 3 domains
            + [{"ts": at(i), "client": "10.0.0.7", "qname": f"d{i}.com", "qtype": 1}
               for i in range(100)])                              # not MX
    det = SpamBots(mail_servers=parse_networks(["10.0.9.0/24"]))
    (f,) = run(det, dns(rows).sort_by("ts"))
    assert (f.detector, f.type, f.subject_kind, f.subject) == (
        "spam-bot", "spam-bot", "client", "10.0.0.5")
    assert f.count == 80 and f.evidence["mx_queries"] == 80
    assert 55 <= f.evidence["distinct_domains"] <= 80
    assert f.first_seen == at(0) and f.last_seen == at(79)
    assert "spam bot" in f.explanation


def test_mx_of_subdomains_count_by_registered_domain() -> None:
    rows = [{"ts": at(i), "client": "10.0.0.5", "qname": f"mx{i}.onebigcorp.com",
             "qtype": 15} for i in range(200)]
    assert run(SpamBots(), dns(rows)) == []


def test_settings_allow_list_and_bad_entry() -> None:
    table = dns(mx_rows("fd00::25", 80))
    assert run(spam_bots(settings=DetectSettings(mail_servers=["fd00::/64"])), table) == []
    assert len(run(spam_bots(settings=DetectSettings()), table)) == 1
    with pytest.raises(ValueError, match="not-an-ip"):
        spam_bots(settings=DetectSettings(mail_servers=["not-an-ip"]))
