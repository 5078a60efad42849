"""Golden and negative tests of the beacon detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from bluelamp.detect.beacon import Beaconing, periodicity

from .helpers import row, run

HOURS6 = 6 * 3600


def periodic(client: str, qname: str, period: float, jitter: float, seed: int,
             start: float = 30.0) -> list[dict]:
    g = np.random.default_rng(seed)
    gaps = period * (1 + g.uniform(-jitter, jitter, size=int(HOURS6 / period) + 2))
    times = start + np.concatenate([[0], np.cumsum(gaps)])
    return [row(float(t), client, qname) for t in times if t < HOURS6 - 1]


def browsing(client: str, seed: int) -> list[dict]:
    """Page views at random times: the site, then its fonts, analytics and CDN."""
    g = np.random.default_rng(seed)
    rows = []
    for t in np.sort(g.uniform(0, HOURS6 - 60, size=40)):
        site = ["news.example.org", "shop.example.com", "www.wikipedia.org"][int(g.integers(3))]
        rows += [row(float(t) + 0.4 * k, client, name) for k, name in enumerate(
            [site, "fonts.gstatic.com", "www.google-analytics.com", "cdn.jsdelivr.net"])]
    return rows


def test_golden_beacon_with_30_percent_jitter() -> None:
    rows = periodic("10.0.0.1", "api.status-connect.io", 300, 0.3, seed=1)
    rows += browsing("10.0.0.2", seed=2) + browsing("10.0.0.3", seed=3)
    found = run(Beaconing(), rows)
    assert [(f.subject, f.evidence["domain"]) for f in found] == [
        ("10.0.0.1", "status-connect.io")]
    f = found[0]
    assert f.type == "beacon" and f.subject_kind == "client"
    assert f.count == len(rows[: len(periodic("10.0.0.1", "api.status-connect.io", 300, 0.3,
                                              seed=1))])
    assert 270 <= f.evidence["period_s"] <= 330
    assert f.evidence["prevalence"] == 1
    assert "status-connect.io" in f.explanation


def test_hourly_beacon_found_in_one_window() -> None:
    found = run(Beaconing(), periodic("10.0.0.1", "cloudsync.net", 3600, 0.1, seed=4,
                                      start=10))
    assert [f.subject for f in found] == ["10.0.0.1"]


def test_alone_share_counts_lookups_without_company() -> None:
    """A check-in with no other lookup within 2 s is alone; a page view is not."""
    rows = periodic("10.0.0.1", "cloudsync.net", 600, 0.1, seed=5) + browsing("10.0.0.1", 6)
    det = Beaconing(threshold=0.0)
    found = {f.evidence["domain"]: f.evidence for f in run(det, rows)}
    assert found["cloudsync.net"]["alone_share"] > 0.8
    assert all(ev["alone_share"] == 0 for d, ev in found.items() if d != "cloudsync.net")


def test_popular_periodic_domain_is_not_reported() -> None:
    """Four hosts polling the same update service every 10 minutes: prevalence, not C2."""
    rows = []
    for i in range(4):
        rows += periodic(f"10.0.1.{i}", "updates.vendor-sync.net", 600, 0.02, seed=10 + i)
    assert run(Beaconing(), rows) == []


def test_irregular_browsing_is_not_periodic() -> None:
    rows = browsing("10.0.0.2", seed=2) + browsing("10.0.0.3", seed=3)
    assert run(Beaconing(), rows) == []


def test_periodicity_statistics_exact() -> None:
    """Intervals 100, 100, 100, 130 s after a burst collapsed into one event."""
    t = [0, 1, 2, 100, 200, 300, 430]
    table = pa.table({"client": ["c"] * len(t), "rd": ["x.com"] * len(t),
                      "t": pa.array(t, pa.int64())})
    s = periodicity(table, burst_s=10)
    assert s["events"].tolist() == [5]
    assert s["median"].tolist() == [100.0]
    assert s["dispersion"].tolist() == [0.0]
    assert s["skew"].tolist() == [0.0]
    assert s["coverage"].tolist() == [5 / (430 / 100 + 1)]


def test_state_is_bounded_per_pair() -> None:
    det = Beaconing(max_events=5)
    rows = [row(float(20 * i), "10.0.0.1", "x.example.net") for i in range(50)]
    from bluelamp.detect.base import WindowContext

    from .helpers import T0, table

    ctx = WindowContext(T0, T0)
    state = det.init_state(ctx)
    for batch in table(rows).select(list(det.columns)).to_batches():
        det.update(state, batch, ctx)
    assert det.dump_state(state, ctx).num_rows == 5
    assert ctx.dropped == {"times-capped": 45}


def test_checkpoint_resume_gives_the_same_findings(tmp_path: Path) -> None:
    from bluelamp.detect.engine import Engine

    from .helpers import table

    rows = periodic("10.0.0.1", "api.status-connect.io", 300, 0.3, seed=1)
    rows += browsing("10.0.0.2", seed=2)
    data = table(rows)
    half = data.num_rows // 2
    straight = run(Beaconing(), rows)
    path = tmp_path / "ckpt.json"
    first = Engine([Beaconing()], write_observations=False, checkpoint=path)
    assert first.process(data.slice(0, half)) == []
    first.save_checkpoint()
    second = Engine([Beaconing()], write_observations=False, checkpoint=path)
    resumed = second.process(data.slice(half)) + second.flush()
    assert [f.to_row() for f in resumed] == [f.to_row() for f in straight]
    assert "state-not-restored" not in second.metrics.dropped.get("beacon", {})
