"""Shared helpers for the feed tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bluelamp.errors import RecordError
from bluelamp.sources.base import Chunk

SAMPLES = Path(__file__).parent / "samples"
GOLDEN = Path(__file__).parent / "golden"
OBSERVED = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


@pytest.fixture()
def samples() -> Path:
    return SAMPLES


def collect(chunks: Iterable[Chunk]) -> tuple[pa.Table | None, list[RecordError]]:
    batches, errors = [], []
    for chunk in chunks:
        errors += chunk.errors
        if chunk.batch is not None:
            batches.append(chunk.batch)
    return (pa.Table.from_batches(batches) if batches else None), errors


def comparable(table: pa.Table | None, samples: Path = SAMPLES) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts, with the sample folder made relative and `extra` parsed,
    so golden files do not depend on where the checkout is."""
    if table is None:
        return []
    from bluelamp.schema import EVENT

    rows = EVENT.to_json_rows(table)
    for row in rows:
        if row.get("raw_ref"):
            row["raw_ref"] = row["raw_ref"].replace(str(samples) + "/", "")
        if row.get("extra"):
            row["extra"] = json.loads(row["extra"])
    return rows
