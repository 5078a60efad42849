"""Checkpoints: a small JSON file written atomically (temporary file, fsync, rename).

It records, per window length, the end of the last window the engine closed, plus the
metric counters. It deliberately holds no detector state: loading it never runs code, and
it stays a few hundred bytes however busy the input is. See docs/engine.md for what a
resumed run does with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bluelamp.errors import BluelampError

VERSION = 1


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: Path, closed_until: dict[int, int], metrics: dict[str, Any]) -> None:
    """`closed_until` maps a window length (µs) to the end (µs since epoch) of the last
    window closed for that length."""
    doc = {
        "version": VERSION,
        "closed_until_us": {str(k): v for k, v in closed_until.items()},
        "metrics": metrics,
    }
    write_atomic(path, json.dumps(doc, sort_keys=True, indent=1).encode())


def load(path: Path) -> tuple[dict[int, int], dict[str, Any]]:
    """Read a checkpoint; a missing file is an empty checkpoint (first run)."""
    if not path.exists():
        return {}, {}
    try:
        doc = json.loads(path.read_text())
        if doc.get("version") != VERSION:
            raise ValueError(f"unsupported checkpoint version {doc.get('version')!r}")
        closed = {int(k): int(v) for k, v in doc["closed_until_us"].items()}
        return closed, dict(doc.get("metrics") or {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BluelampError(f"{path}: unreadable checkpoint: {exc}") from None
