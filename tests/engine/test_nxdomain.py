from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from bluelamp.detect.base import Limits, WindowContext
from bluelamp.detect.engine import Engine
from bluelamp.detect.nxdomain import NxdomainBurst

from .helpers import at, dns


def population(nx_by_client: dict[str, int], ok: int = 5) -> pa.Table:
    rows = []
    for client, nx in nx_by_client.items():
        rows += [{"ts": at(0, i), "client": client, "qname": f"n{i}.{client}.example",
                  "rcode": 3} for i in range(nx)]
        rows += [{"ts": at(1, i), "client": client, "qname": "ok.example", "rcode": 0}
                 for i in range(ok)]
    return dns(rows)


def run(table: pa.Table, det: NxdomainBurst) -> list:
    engine = Engine([det])
    return engine.process(table) + engine.flush()


def test_golden_burst_above_baseline() -> None:
    counts = {f"10.0.0.{i}": i % 3 for i in range(1, 21)}  # ordinary: 0..2 NX each
    counts["10.9.9.9"] = 60
    (finding,) = run(population(counts), NxdomainBurst(min_count=5, k=8))
    assert finding.subject == "10.9.9.9"
    assert (finding.detector, finding.type, finding.subject_kind) == (
        "nxdomain-burst", "nxdomain-burst", "client")
    assert finding.count == 60
    assert finding.first_seen == at(0, 0) and finding.last_seen == at(0, 59)
    ev = finding.evidence
    assert (ev["nxdomain"], ev["queries"]) == (60, 65)
    # 21 clients: counts 0..2 (7,7,6 of each) and 60 -> median 1, MAD 1
    assert ev["baseline"]["median"] == 1.0
    assert ev["baseline"]["threshold"] == round(1 + 8 * 1.4826, 3)
    assert ev["sample_names"] == ["n0.10.9.9.9.example", "n9.10.9.9.9.example"]
    assert finding.score == round(1 - 0.5 * (1 + 8 * 1.4826) / 60, 4)
    assert "10.9.9.9 got 60 NXDOMAIN answers" in finding.explanation
    assert "median 1" in finding.explanation
    json.dumps(ev)


def test_min_count_gates_small_populations() -> None:
    assert run(population({"a": 0, "b": 0, "c": 19}), NxdomainBurst(min_count=20)) == []
    (f,) = run(population({"a": 0, "b": 0, "c": 20}), NxdomainBurst(min_count=20))
    assert f.subject == "c"


def test_spread_population_raises_threshold() -> None:
    # everyone has many NX (e.g. a search-domain misconfiguration): nobody stands out
    counts = {f"c{i}": 50 + 3 * i for i in range(20)}
    assert run(population(counts), NxdomainBurst(min_count=20)) == []


def test_rcode_null_and_null_client_ignored() -> None:
    table = dns([{"ts": at(0), "client": "a", "qname": "x", "rcode": None}] * 30
                + [{"ts": at(0), "client": None, "qname": "x", "rcode": 3}] * 30)
    assert run(table, NxdomainBurst(min_count=10)) == []


def test_windows_are_separate() -> None:
    first = population({"a": 30, **{f"b{i}": 0 for i in range(5)}})
    second = dns([{"ts": at(60, i), "client": "a", "qname": "q", "rcode": 3}
                  for i in range(10)])
    found = run(pa.concat_tables([first, second]), NxdomainBurst(min_count=20))
    assert [(f.subject, f.count, f.first_seen) for f in found] == [("a", 30, at(0))]


def test_eviction_keeps_heavy_clients_and_counts_dropped() -> None:
    det = NxdomainBurst(min_count=20)
    ctx = WindowContext(at(0), at(60), Limits(max_keys=3))
    state = det.init_state(ctx)
    table = population({"heavy": 40, **{f"light{i}": 1 for i in range(10)}})
    for batch in table.to_batches(max_chunksize=7):
        state = det.update(state, batch.select(list(det.columns)), ctx)
    (f,) = det.emit(state, ctx)
    assert f.subject == "heavy" and f.count == 40
    assert ctx.dropped["keys-evicted"] >= 8
    assert state.merge(ctx).num_rows <= 3


def test_engine_reports_dropped_keys() -> None:
    engine = Engine([NxdomainBurst(min_count=20)], limits=Limits(max_keys=2))
    engine.process(population({f"c{i}": i for i in range(6)}))
    engine.flush()
    assert engine.metrics.dropped["nxdomain-burst"]["keys-evicted"] >= 4
    assert engine.metrics.dropped_total >= 4


def test_window_option() -> None:
    det = NxdomainBurst(window=dt.timedelta(minutes=5))
    assert det.window == dt.timedelta(minutes=5)


def test_sensor_is_carried_to_the_finding() -> None:
    rows = [{"ts": at(0, i), "client": "a", "qname": "x", "rcode": 3, "sensor": "res-2"}
            for i in range(30)]
    rows += [{"ts": at(1), "client": f"b{i}", "qname": "ok", "rcode": 0, "sensor": "res-1"}
             for i in range(5)]
    (f,) = run(dns(rows), NxdomainBurst(min_count=20))
    assert (f.subject, f.sensor) == ("a", "res-2")


def test_one_repeated_name_is_explained_as_misconfiguration() -> None:
    rows = [{"ts": at(0, i), "client": "a", "qname": "wpad.corp.example", "rcode": 3}
            for i in range(30)]
    rows += [{"ts": at(1), "client": f"b{i}", "qname": "ok", "rcode": 0} for i in range(5)]
    (f,) = run(dns(rows), NxdomainBurst(min_count=20))
    assert f.evidence["single_name"] is True
    assert "all for the one name wpad.corp.example" in f.explanation
    (g,) = run(population({"a": 30, **{f"b{i}": 0 for i in range(5)}}),
               NxdomainBurst(min_count=20))
    assert g.evidence["single_name"] is False and "DGA" in g.explanation


def test_eviction_is_deterministic_on_ties() -> None:
    det = NxdomainBurst(min_count=1)
    kept = []
    for order in (1, -1):
        ctx = WindowContext(at(0), at(60), Limits(max_keys=2))
        state = det.init_state(ctx)
        table = population({f"c{i}": 3 for i in range(6)}, ok=0)
        for batch in table.to_batches(max_chunksize=3)[::order]:
            state = det.update(state, batch.select(list(det.columns)), ctx)
        kept.append(sorted(state.merge(ctx).column("client").to_pylist()))
    assert kept[0] == kept[1] == ["c0", "c1"]
