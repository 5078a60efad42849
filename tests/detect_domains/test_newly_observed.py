from __future__ import annotations

import datetime as dt

from bluelamp.detect.newly_observed import NewlyObserved, newly_observed
from bluelamp.detect.seenset import SeenSet
from bluelamp.settings import DetectSettings

from .helpers import at, dns, run

HOUR = 3600


def burst(domain: str, n: int, hour: int, client: str = "10.0.0.1") -> list[dict]:
    return [{"ts": at(hour * HOUR + i), "client": client, "qname": f"www.{domain}",
             "qtype": 1, "rcode": 0, "sensor": "s1"} for i in range(n)]


def test_golden_new_domain_with_spike_after_warmup() -> None:
    rows = (burst("old.com", 60, 0) + burst("early.net", 80, 0)   # window 0: warm-up
            + burst("old.com", 60, 1) + burst("fresh-c2.net", 70, 1, "10.0.0.9")
            + burst("quiet-new.org", 5, 1)                          # new but no spike
            + burst("fresh-c2.net", 200, 2))                        # seen: not new
    det = NewlyObserved(seen=SeenSet(1000), warmup_windows=1)
    (f,) = run(det, dns(rows))
    assert (f.detector, f.type, f.subject_kind, f.subject) == (
        "newly-observed", "newly-observed-domain", "domain", "fresh-c2.net")
    assert f.count == 70 and f.first_seen == at(HOUR) and f.last_seen == at(HOUR + 69)
    ev = f.evidence
    assert ev["new_domains_in_window"] == 2 and ev["median_queries_of_new_domains"] == 37.5
    assert ev["sample_clients"] == ["10.0.0.9"] and ev["sample_name"] == "www.fresh-c2.net"
    assert f.score == round(1 - 0.5 * 50 / 70, 4)
    assert "never been looked up" in f.explanation


def test_warmup_reports_nothing() -> None:
    det = NewlyObserved(seen=SeenSet(1000), warmup_windows=3)
    assert run(det, dns(burst("a.net", 100, 0) + burst("b.net", 100, 1))) == []


def test_factory_seeds_popular_domains_and_reads_settings() -> None:
    det = newly_observed(window=dt.timedelta(minutes=10),
                         settings=DetectSettings(seen_warmup_windows=0,
                                                 seen_domains_capacity=5000))
    assert det.window == dt.timedelta(minutes=10) and det.warmup_windows == 0
    assert det.seen.capacity == 5000
    rows = burst("google.com", 100, 0) + burst("brand-new-thing.xyz", 100, 0)
    assert [f.subject for f in run(det, dns(rows))] == ["brand-new-thing.xyz"]
