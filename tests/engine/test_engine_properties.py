"""Property tests: whatever the batch boundaries and the (bounded) disorder, every row is
either analysed in the window its timestamp falls in, or counted as late."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.engine import Engine

from .helpers import T0, CountingDetector, dns

WINDOW_S = 600


@settings(max_examples=150, deadline=None)
@given(
    # a coarse grid of times makes exact boundaries (ts == window end + grace) common
    offsets=st.lists(st.integers(min_value=0, max_value=40).map(lambda m: 60 * m),
                     min_size=1, max_size=80),
    cuts=st.lists(st.integers(min_value=1, max_value=80), max_size=6),
    grace_s=st.integers(min_value=0, max_value=15).map(lambda m: 60 * m),
    shuffle=st.randoms(use_true_random=False),
)
def test_rows_land_in_their_window_or_are_late(offsets: list[int], cuts: list[int],
                                               grace_s: int, shuffle: object) -> None:
    order = list(offsets)
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    table = dns([{"ts": T0 + dt.timedelta(seconds=s), "client": "a"} for s in order])
    engine = Engine([CountingDetector(window=dt.timedelta(seconds=WINDOW_S))],
                    grace=dt.timedelta(seconds=grace_s))
    bounds = [*sorted({c for c in cuts if c < len(order)}), len(order)]
    found = []
    start = 0
    for cut in bounds:
        found += engine.process(table.slice(start, cut - start))
        start = cut
    found += engine.flush()

    # reference: replay row by row with the same watermark rule
    expected: Counter[int] = Counter()
    late = 0
    closed_until = -1
    watermark = -1
    start = 0
    for cut in bounds:
        part = order[start:cut]
        start = cut
        for s in part:
            if s < closed_until:
                late += 1
            else:
                expected[s // WINDOW_S] += 1
        watermark = max(watermark, *part)
        for w in sorted(expected):
            if (w + 1) * WINDOW_S <= watermark - grace_s:
                closed_until = max(closed_until, (w + 1) * WINDOW_S)
    got = Counter({int((f.first_seen - T0).total_seconds()) // WINDOW_S: f.count
                   for f in found})
    assert got == +expected
    assert engine.metrics.late_rows == late
    assert sum(got.values()) + late == len(order) == engine.metrics.rows
    assert len({f.first_seen for f in found}) == len(found)  # each window closed once
    assert isinstance(table, pa.Table)
