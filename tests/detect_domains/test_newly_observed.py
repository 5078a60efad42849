from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from bluelamp.detect.engine import Engine
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


def test_checkpoint_carries_the_seen_set(tmp_path: Path) -> None:
    def fresh() -> NewlyObserved:
        return NewlyObserved(seen=SeenSet(1000), warmup_windows=0)

    table = dns(burst("known.net", 60, 0) + burst("known.net", 60, 1)
                + burst("other.org", 60, 1)).sort_by("ts")
    # uninterrupted: known.net is new in window 0 only; other.org new in window 1
    assert [(f.subject, f.first_seen) for f in run(fresh(), table)] == [
        ("known.net", at(0)), ("other.org", at(HOUR))]
    first = Engine([fresh()], checkpoint=tmp_path / "ck.json")
    found = first.process(table.slice(0, 140))  # window 0 closes (30 s grace); 1 is open
    assert [f.subject for f in found] == ["known.net"]
    first.save_checkpoint()
    second_det = fresh()
    second = Engine([second_det], checkpoint=tmp_path / "ck.json")
    assert second_det.seen.contains(pa.array(["known.net"])).all()
    rest = second.process(table.slice(140)) + second.flush()
    assert [f.subject for f in rest] == ["other.org"]


def test_seen_set_text_round_trip_and_size_check() -> None:
    a, b, c = SeenSet(500), SeenSet(500), SeenSet(50_000)
    a.add(pa.array(["x.com", "y.net"]))
    assert b.load_text(a.to_text(), a.added) and b.contains(pa.array(["x.com"])).all()
    assert not c.load_text(a.to_text(), a.added)
    assert not b.load_text("not base64 zlib", 1)
