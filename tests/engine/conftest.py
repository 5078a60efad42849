"""A tiny CSV-ish reader registered only for these tests, so that the CLI tests do not
depend on the real readers (tested in their own folders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS
from bluelamp.sources import base
from bluelamp.sources.base import Chunk


class LinesReader:
    """`ts_iso,client,qname,rcode` per line; anything else is a located error."""

    name = "engine-test"
    description = "test-only reader"

    def sniff(self, head: bytes) -> bool:
        return False

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        rows, errors = [], []
        for number, raw in enumerate(stream.read().decode().splitlines(), start=1):
            try:
                ts, client, qname, rcode = raw.split(",")
                rows.append({"ts": dt.datetime.fromisoformat(ts), "client": client,
                             "qname": qname, "rcode": int(rcode)})
            except ValueError as exc:
                errors.append(RecordError(Location(source, line=number), str(exc), raw))
        table = DNS.from_rows(rows)
        yield Chunk(table.to_batches()[0] if table.num_rows else None, errors)


@pytest.fixture
def lines_reader(monkeypatch: pytest.MonkeyPatch) -> str:
    base.readers()  # load the real registry first
    monkeypatch.setitem(base._REGISTRY, LinesReader.name, LinesReader())
    return LinesReader.name
