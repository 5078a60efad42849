"""Small builders shared by the engine tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.schema import DNS

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def at(minutes: float = 0, seconds: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def dns(rows: list[dict[str, Any]]) -> pa.Table:
    return DNS.from_rows(rows)


class CountingDetector:
    """Counts rows per window and records which columns it was given."""

    finding_type = "count"
    key = "client"
    columns = ("ts", "client")

    def __init__(self, name: str = "count", window: dt.timedelta = dt.timedelta(hours=1)):
        self.name = name
        self.window = window
        self.seen_columns: set[tuple[str, ...]] = set()

    def init_state(self, ctx: WindowContext) -> int:
        return 0

    def update(self, state: int, batch: pa.RecordBatch, ctx: WindowContext) -> int:
        self.seen_columns.add(tuple(batch.schema.names))
        return state + batch.num_rows

    def emit(self, state: int, ctx: WindowContext) -> list[Finding]:
        return [Finding(self.name, "count", "client", "all", 1.0, ctx.start, ctx.end, state,
                        {}, f"{state} rows")]
