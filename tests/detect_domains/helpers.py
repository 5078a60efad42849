"""Builders shared by the domain-behaviour detector tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from bluelamp.detect.base import Finding
from bluelamp.detect.engine import Engine
from bluelamp.schema import DNS

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def dns(rows: list[dict[str, Any]]) -> pa.Table:
    return DNS.from_rows(rows)


def run(detector: Any, *tables: pa.Table, batch_rows: int | None = None) -> list[Finding]:
    """Every finding of `detector` over the tables (optionally cut into small batches, so
    that state merging across batches is exercised)."""
    engine = Engine([detector])
    found: list[Finding] = []
    for table in tables:
        parts = ([table.slice(i, batch_rows) for i in range(0, table.num_rows, batch_rows)]
                 if batch_rows else [table])
        for part in parts:
            found += engine.process(part)
    return found + engine.flush()
