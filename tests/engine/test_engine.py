from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from bluelamp.detect.engine import Engine
from bluelamp.errors import BluelampError, Location, RecordError
from bluelamp.sources.base import Chunk
from bluelamp.store.lake import Lake

from .helpers import CountingDetector, at, dns


def counts(findings: list) -> list[tuple[dt.datetime, int]]:
    return [(f.first_seen, f.count) for f in findings]


def test_windows_are_epoch_aligned_and_boundaries_exact() -> None:
    # rows exactly on the hour belong to the window that starts there
    table = dns([{"ts": at(m), "client": "a"} for m in (0, 59.99, 60, 119, 120)])
    engine = Engine([CountingDetector()], grace=dt.timedelta(0))
    closed = engine.process(table)
    assert counts(closed) == [(at(0), 2), (at(60), 2)]
    assert counts(engine.flush()) == [(at(120), 1)]
    assert engine.metrics.windows_closed == 3


def test_window_start_is_utc_epoch_aligned_even_off_hour() -> None:
    table = dns([{"ts": at(17), "client": "a"}])
    engine = Engine([CountingDetector(window=dt.timedelta(minutes=10))])
    engine.process(table)
    assert counts(engine.flush()) == [(at(10), 1)]


def test_detectors_see_only_their_columns() -> None:
    det = CountingDetector()
    engine = Engine([det])
    engine.process(dns([{"ts": at(1), "client": "a", "qname": "x.example"}]))
    engine.flush()
    assert det.seen_columns == {("ts", "client")}


def test_unsorted_batch_is_split_per_window() -> None:
    table = dns([{"ts": at(m), "client": "a"} for m in (130, 5, 70, 6, 71, 72)])
    engine = Engine([CountingDetector()])
    found = engine.process(table) + engine.flush()
    assert counts(found) == [(at(0), 2), (at(60), 3), (at(120), 1)]


def test_late_rows_are_counted_not_analysed() -> None:
    engine = Engine([CountingDetector()], grace=dt.timedelta(seconds=30))
    engine.process(dns([{"ts": at(10), "client": "a"}]))
    # inside the grace period: window 0 is still open
    engine.process(dns([{"ts": at(60, 20), "client": "a"}, {"ts": at(59), "client": "a"}]))
    assert engine.metrics.late_rows == 0
    closed = engine.process(dns([{"ts": at(61), "client": "a"}]))
    assert counts(closed) == [(at(0), 2)]
    engine.process(dns([{"ts": at(30), "client": "a"}, {"ts": at(62), "client": "b"}]))
    assert engine.metrics.late_rows == 1
    assert counts(engine.flush()) == [(at(60), 3)]
    assert engine.metrics.rows == 6


def test_windows_of_different_lengths_close_independently() -> None:
    hourly, short = CountingDetector("hourly"), CountingDetector("short", dt.timedelta(minutes=5))
    engine = Engine([hourly, short], grace=dt.timedelta(0))
    found = engine.process(dns([{"ts": at(m), "client": "a"} for m in (1, 2, 6, 11)]))
    assert [(f.detector, f.count) for f in found] == [("short", 2), ("short", 1)]
    found = engine.flush()
    assert sorted((f.detector, f.count) for f in found) == [("hourly", 4), ("short", 1)]


def test_errors_and_metrics_are_counted() -> None:
    err = RecordError(Location("f.log", line=3), "bad")
    engine = Engine([CountingDetector()])
    engine.process(Chunk(dns([{"ts": at(1), "client": "a"}]).to_batches()[0], [err, err]))
    engine.process(Chunk(None, [err]))
    m = engine.metrics.to_dict(now=at(61))
    assert (m["rows"], m["errors"]) == (1, 3)
    assert m["lag_seconds"] == 3600.0
    assert "count" in m["detector_seconds"]


def test_open_windows_are_bounded() -> None:
    engine = Engine([CountingDetector()], max_open_windows=3, grace=dt.timedelta(days=30))
    forward = dns([{"ts": at(60 * h), "client": "a"} for h in (0, 1, 2, 3, 4, 5)])
    early = engine.process(forward)
    assert engine.open_windows == 3
    assert counts(early) == [(at(0), 1), (at(60), 1), (at(120), 1)]  # returned, not lost
    assert counts(engine.flush()) == [(at(180), 1), (at(240), 1), (at(300), 1)]


def test_window_cap_counts_rows_it_cannot_keep() -> None:
    engine = Engine([CountingDetector()], max_open_windows=3, grace=dt.timedelta(days=30))
    found = []
    for h in (5, 4, 3, 2, 1, 0):  # one batch each: arriving newest first
        found += engine.process(dns([{"ts": at(60 * h), "client": "a"}]))
    found += engine.flush()
    # the three newest windows fill the cap; older ones cannot open: their rows are late
    assert counts(found) == [(at(180), 1), (at(240), 1), (at(300), 1)]
    assert engine.metrics.late_rows == 3
    assert engine.metrics.rows == 6


def test_duplicate_names_rejected() -> None:
    with pytest.raises(ValueError):
        Engine([CountingDetector(), CountingDetector()])


def test_findings_and_observations_go_to_the_lake(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    engine = Engine([CountingDetector()], lake=lake)
    engine.process(dns([{"ts": at(m), "client": "a"} for m in (1, 2, 70)]))
    engine.flush()
    assert lake.query("SELECT count(*) AS n FROM dns").column("n").to_pylist() == [3]
    assert sorted(lake.read("finding").column("count").to_pylist()) == [1, 2]


def test_checkpoint_resume_skips_what_was_processed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ckpt.json"
    rows = dns([{"ts": at(m), "client": "a"} for m in (1, 2, 61, 62, 121)])
    first = Engine([CountingDetector()], checkpoint=path, grace=dt.timedelta(0))
    assert counts(first.process(rows)) == [(at(0), 2), (at(60), 2)]
    first.save_checkpoint()  # crash here: window 120 was open, not emitted
    second = Engine([CountingDetector()], checkpoint=path, grace=dt.timedelta(0))
    assert second.metrics.rows == 5
    # the input is replayed from the start: everything up to the checkpoint is skipped
    found = second.process(rows) + second.flush()
    # an int state cannot be saved: the open window restarts (and says so)
    assert counts(found) == [(at(120), 0)]
    assert second.metrics.dropped == {"count": {"state-not-restored": 1}}
    assert second.metrics.skipped_rows == 5
    assert second.metrics.late_rows == 0


def nx_traffic() -> pa.Table:
    rows = [{"ts": at(m / 4), "client": f"c{m % 7}", "qname": f"n{m}.example",
             "rcode": 3 if m % 7 == 0 else 0} for m in range(4 * 150)]
    return dns(rows)


def test_live_resume_restores_open_windows(tmp_path: Path) -> None:
    from bluelamp.detect.nxdomain import NxdomainBurst

    table = nx_traffic()
    whole = Engine([NxdomainBurst(min_count=20)])
    expected = whole.process(table) + whole.flush()
    assert expected  # the test needs findings to compare

    path = tmp_path / "ckpt.json"
    cut = 300  # in the middle of the window 60..120 (rows are 15 s apart)
    first = Engine([NxdomainBurst(min_count=20)], checkpoint=path)
    got = first.process(table.slice(0, cut))
    first.save_checkpoint()
    assert first.open_windows == 1
    # live input is not replayed: the next run sees only what came after the crash
    second = Engine([NxdomainBurst(min_count=20)], checkpoint=path)
    got += second.process(table.slice(cut)) + second.flush()
    assert [f.to_row() for f in got] == [f.to_row() for f in expected]
    assert second.metrics.rows == table.num_rows


def test_checkpoint_file_is_atomic_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.json"
    engine = Engine([CountingDetector()], checkpoint=path)
    engine.process(dns([{"ts": at(1), "client": "a"}]))
    engine.save_checkpoint()
    engine.save_checkpoint()  # the previous state folder is replaced, not accumulated
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0].startswith(".ckpt.json.state-") and names[1:] == ["ckpt.json"]
    assert not list(tmp_path.rglob("*.tmp"))
    path.write_text("{not json")
    with pytest.raises(BluelampError, match="unreadable checkpoint"):
        Engine([CountingDetector()], checkpoint=path)


def test_foreign_tables_are_conformed_and_untimed_rows_counted() -> None:
    det = CountingDetector()
    engine = Engine([det])
    table = pa.table({"client": ["a", "b", "c"],
                      "ts": pa.array([at(1), None, at(2)], pa.timestamp("ms", tz="UTC")),
                      "extra": [1, 2, 3]})
    engine.process(table)
    assert counts(engine.flush()) == [(at(0), 2)]
    assert (engine.metrics.rows, engine.metrics.errors) == (2, 1)
    assert det.seen_columns == {("ts", "client")}


class FailingDetector(CountingDetector):
    """Fails on rows of client "boom"."""

    def update(self, state: int, batch: pa.RecordBatch, ctx: object) -> int:  # type: ignore[override]
        if "boom" in batch.column("client").to_pylist():
            raise RuntimeError("cannot cope")
        return state + batch.num_rows


def test_failing_detector_raises_by_default() -> None:
    engine = Engine([FailingDetector("bad")])
    with pytest.raises(RuntimeError):
        engine.process(dns([{"ts": at(1), "client": "boom"}]))


def test_isolated_failure_spares_other_detectors_and_windows() -> None:
    engine = Engine([FailingDetector("bad"), CountingDetector("good")], isolate_errors=True,
                    grace=dt.timedelta(0))
    found = engine.process(dns([{"ts": at(1), "client": "boom"}, {"ts": at(2), "client": "x"}]))
    found += engine.process(dns([{"ts": at(61), "client": "x"}])) + engine.flush()
    assert sorted((f.detector, f.first_seen, f.count) for f in found) == [
        ("bad", at(60), 1), ("good", at(0), 2), ("good", at(60), 1)]
    assert engine.metrics.detector_errors == {"bad": 1}
    assert "cannot cope" in engine.metrics.to_dict()["last_detector_error"]["bad"]


def test_advance_closes_idle_windows_after_grace() -> None:
    engine = Engine([CountingDetector()], grace=dt.timedelta(seconds=30))
    assert engine.process(dns([{"ts": at(5), "client": "a"}])) == []
    assert engine.advance(at(60, 29)) == []  # still inside the grace period
    assert counts(engine.advance(at(60, 30))) == [(at(0), 1)]
    assert engine.open_windows == 0
    # a row for the closed window arriving afterwards is late
    engine.process(dns([{"ts": at(59), "client": "a"}]))
    assert engine.metrics.late_rows == 1
    assert engine.metrics.lag(at(65)) == dt.timedelta(minutes=6)  # newest row: at(59)


def test_run_is_process_then_flush() -> None:
    from bluelamp.detect.engine import Engine, default_detectors
    from bluelamp.simulate import simulate_day

    dns, _ = simulate_day(clients=20, hours=2, seed=3)
    by_hand = Engine(default_detectors(), write_observations=False)
    expected = [f for b in dns.to_batches(max_chunksize=4096) for f in by_hand.process(b)]
    expected += by_hand.flush()
    run = Engine(default_detectors(), write_observations=False).run(
        dns.to_batches(max_chunksize=4096))
    assert [f.to_row() for f in run] == [f.to_row() for f in expected]
