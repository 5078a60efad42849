from __future__ import annotations

import datetime as dt

from bluelamp.detect.engine import default_detectors

MINE = {"dns-tunnel", "water-torture", "fast-flux", "spam-bot", "lookalike",
        "newly-observed"}


def test_registered_and_window_option_honoured() -> None:
    names = {d.name for d in default_detectors()}
    assert names >= MINE
    chosen = {d.name: d.window for d in default_detectors(window=dt.timedelta(minutes=5))}
    assert all(chosen[n] == dt.timedelta(minutes=5) for n in MINE)


def test_every_detector_declares_its_contract() -> None:
    for det in default_detectors():
        if det.name in MINE:
            assert det.finding_type and det.key and det.columns and "ts" in det.columns
