"""Limits shared by the line-oriented readers: an over-long line is one located error and
the lines around it are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bluelamp.sources.base import read_path

BIND = ("21-Nov-2026 09:00:0{i}.000 queries: info: client @0x1 192.0.2.1#53 ({q}): query: {q} "
        "IN A + (192.0.2.53)\n")
GOOD = {
    "bind": ("", lambda i, q: BIND.format(i=i, q=q)),
    "zeek-json": ("", lambda i, q: json.dumps({"ts": 1.7e9 + i, "id.orig_h": "192.0.2.1",
                                               "query": q}) + "\n"),
    "ndjson": ("", lambda i, q: json.dumps({"ts": 1.7e9 + i, "qname": q}) + "\n"),
    "csv": ("ts,qname\n", lambda i, q: f"{1.7e9 + i},{q}\n"),
}


@pytest.mark.parametrize("fmt", sorted(GOOD))
@pytest.mark.parametrize("size", [2 << 20, 9 << 20])  # inside one block, across blocks
def test_over_long_line(fmt: str, size: int, tmp_path: Path) -> None:
    head, good = GOOD[fmt]
    text = head + good(1, "a.test") + "x" * size + "\n" + good(2, "b.test")
    path = tmp_path / "input"
    path.write_text(text)
    chunks = list(read_path(path, fmt))
    names = [n for c in chunks if c.batch is not None for n in c.batch.column("qname").to_pylist()]
    errors = [e for c in chunks for e in c.errors]
    assert names == ["a.test", "b.test"]
    assert len(errors) == 1
    assert errors[0].location.line == (3 if head else 2)


def test_error_log_caps_and_summarises() -> None:
    from bluelamp.errors import Location, RecordError
    from bluelamp.sources.textblocks import ErrorLog

    log = ErrorLog("f.log", limit=3)
    errors = [RecordError(Location("f.log", line=i), "bad") for i in range(1, 6)]
    assert [e.location.line for e in log.admit(errors[:2])] == [1, 2]
    assert [e.location.line for e in log.admit(errors[2:])] == [3]
    (summary,) = log.summary()
    assert summary.location.line == 4 and "2 more bad records" in summary.message
