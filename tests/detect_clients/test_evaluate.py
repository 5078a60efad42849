"""Traffic evaluation: metrics on hand-made labels and the command on a tiny simulation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.detect.base import Finding
from bluelamp.detect.beacon import Beaconing
from bluelamp.detect.infected import InfectedClients
from bluelamp.evaluate.metrics import Detected, client_metrics, window_end
from bluelamp.evaluate.traffic import evaluate_traffic
from bluelamp.simulate import simulate_day

T0 = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)


def label(client: str, kind: str) -> dict:
    return {"client": client, "label": kind, "malicious": kind != "benign", "queries": 10,
            "first_seen": T0, "family": "x", "campaign": None}


def finding(detector: str, client: str, minutes: int) -> Detected:
    f = Finding(detector, detector, "client", client, 0.9, T0,
                T0 + dt.timedelta(minutes=minutes), 1, {}, "")
    return Detected(f, window_end(f, dt.timedelta(hours=1)))


def test_client_metrics_counts_tp_fp_other_and_delay() -> None:
    labels = [label("b1", "benign"), label("b2", "benign"), label("d1", "dga"),
              label("d2", "dga"), label("c1", "beacon")]
    found = [finding("infected-client", "d1", 10), finding("infected-client", "d1", 70),
             finding("infected-client", "b1", 5), finding("infected-client", "c1", 5)]
    m = client_metrics(labels, found, ["infected-client"])["detectors"]["infected-client"]
    assert (m["true_positives"], m["false_positives"], m["other_malicious"]) == (1, 1, 1)
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["fpr"] == 0.5
    assert m["ttd_median_s"] == 3600.0  # the first window (00:00-01:00) closes at 01:00
    assert m["missed"] == ["d2"]


def test_evaluate_traffic_on_a_small_simulation(tmp_path: Path) -> None:
    dns, labels = simulate_day(clients=80, hours=2, seed=4, dga_fraction=0.05)
    pq.write_table(dns, tmp_path / "dns.parquet")
    pq.write_table(labels, tmp_path / "labels.parquet")
    result = evaluate_traffic(tmp_path, detectors=[InfectedClients(), Beaconing()])
    infected = result["detectors"]["infected-client"]
    assert infected["targets"] >= 1 and infected["recall"] == 1.0
    assert infected["false_positives"] == 0
    assert result["input"]["rows"] == dns.num_rows
    out = CliRunner().invoke(app, ["evaluate", "--traffic", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    parsed = json.loads(out.stdout.splitlines()[-1])
    assert parsed["detectors"]["infected-client"]["true_positives"] == infected[
        "true_positives"]


def test_evaluate_traffic_needs_labels(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["evaluate", "--traffic", str(tmp_path)])
    assert out.exit_code != 0
