"""Small `dns` tables for golden tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from bluelamp.detect.base import Detector, Finding
from bluelamp.detect.engine import Engine
from bluelamp.schema import DNS

T0 = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)


def row(seconds: float, client: str, qname: str, rcode: int | None = 0) -> dict[str, Any]:
    return {"ts": T0 + dt.timedelta(seconds=seconds), "client": client, "qname": qname,
            "qtype": 1, "rcode": rcode, "sensor": "s1"}


def table(rows: list[dict[str, Any]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: r["ts"])
    return DNS.conform(pa.Table.from_pylist(rows))


def run(detector: Detector[Any], rows: list[dict[str, Any]]) -> list[Finding]:
    engine = Engine([detector], write_observations=False)
    found = []
    for batch in table(rows).to_batches(max_chunksize=500):
        found += engine.process(batch)
    return found + engine.flush()
