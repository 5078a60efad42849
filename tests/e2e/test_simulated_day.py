"""End to end: simulate a small labelled day, run every detector through the engine, and
check the client detectors of this suite against the labels."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import cache

import pytest

from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.simulate import simulate_day


@cache
def day() -> tuple[dict[str, set[str]], list[dict]]:
    dns, labels = simulate_day(clients=300, hours=6, seed=23, beacon_fraction=0.02)
    engine = Engine(default_detectors(), write_observations=False,
                    grace=dt.timedelta(days=1))
    found = []
    for batch in dns.to_batches(max_chunksize=65_536):
        found += engine.process(batch)
    found += engine.flush()
    flagged: defaultdict[str, set[str]] = defaultdict(set)
    for f in found:
        if f.subject_kind == "client":
            flagged[f.detector].add(f.subject)
    return flagged, labels.to_pylist()


def test_every_dga_bot_and_beacon_found() -> None:
    flagged, rows = day()
    bots = {r["client"] for r in rows if r["label"] == "dga" and r["queries"] > 0}
    # A 6-hour day gives slow implants too few check-ins for one 6-hour window, and
    # campaigns of 3+ implants on one domain reach the popularity bar of a population this
    # small (max(3, 0.5 % of clients)) and are deliberately not reported: known limits,
    # see docs/detection.md. Here: fast implants of small campaigns.
    size: defaultdict[str, int] = defaultdict(int)
    for r in rows:
        size[r["campaign"]] += r["label"] == "beacon"
    beacons = {r["client"] for r in rows if r["label"] == "beacon" and r["period_s"] <= 900
               and size[r["campaign"]] < 3}
    assert bots and beacons
    assert bots <= flagged["infected-client"]
    assert beacons <= flagged["beacon"]


def test_no_benign_client_flagged_as_infected() -> None:
    flagged, rows = day()
    benign = {r["client"] for r in rows if not r["malicious"]}
    assert not flagged["infected-client"] & benign


@pytest.mark.xfail(strict=True, reason="known weakness: the beacon detector flags a few "
                   "benign clients with periodic heartbeats to rare services in a population "
                   "this small (docs/detection.md)")
def test_no_benign_client_flagged_as_beacon() -> None:
    flagged, rows = day()
    benign = {r["client"] for r in rows if not r["malicious"]}
    assert not flagged["beacon"] & benign
