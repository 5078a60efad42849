"""Checkpoints: a JSON file written atomically (temporary file, fsync, rename), plus the
state of the open windows as Arrow IPC files in a sibling folder.

The JSON records, per window length, the end of the last window the engine closed, the
metric counters (including the newest timestamp processed) and one entry per open window and
detector. Detector state is stored as Arrow tables, never pickled: loading a checkpoint never
runs code. The state folder has a fresh name per checkpoint and the JSON names it, so the
rename of the JSON is the single commit point; older folders are removed afterwards. See
docs/engine.md for what a resumed run does with it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluelamp.errors import BluelampError

VERSION = 2


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


@dataclass
class WindowState:
    """The saved state of one detector in one open window."""

    length_us: int
    start_us: int
    detector: str
    dropped: dict[str, int] = field(default_factory=dict)
    #: None when the detector's state cannot be saved (it restarts the window)
    table: pa.Table | None = None


def _state_dirs(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.state-*"))


def save(path: Path, closed_until: dict[int, int], metrics: dict[str, Any],
         windows: Sequence[WindowState] = ()) -> None:
    """`closed_until` maps a window length (µs) to the end (µs since epoch) of the last
    window closed for that length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.parent / f".{path.name}.state-{uuid.uuid4().hex[:12]}"
    folder.mkdir()
    entries = []
    for i, w in enumerate(windows):
        entry: dict[str, Any] = {"length_us": w.length_us, "start_us": w.start_us,
                                 "detector": w.detector, "dropped": w.dropped, "file": None}
        if w.table is not None:
            entry["file"] = f"{i}.arrow"
            _write_ipc(folder / entry["file"], w.table)
        entries.append(entry)
    doc = {
        "version": VERSION,
        "closed_until_us": {str(k): v for k, v in closed_until.items()},
        "metrics": metrics,
        "state_dir": folder.name,
        "windows": entries,
    }
    write_atomic(path, json.dumps(doc, sort_keys=True, indent=1).encode())
    for old in _state_dirs(path):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)


def _write_ipc(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def load(path: Path) -> tuple[dict[int, int], dict[str, Any], list[WindowState]]:
    """Read a checkpoint; a missing file is an empty checkpoint (first run)."""
    if not path.exists():
        return {}, {}, []
    try:
        doc = json.loads(path.read_text())
        if doc.get("version") != VERSION:
            raise ValueError(f"unsupported checkpoint version {doc.get('version')!r}")
        closed = {int(k): int(v) for k, v in doc["closed_until_us"].items()}
        folder = path.parent / str(doc["state_dir"])
        windows = [WindowState(int(e["length_us"]), int(e["start_us"]), str(e["detector"]),
                               {str(k): int(v) for k, v in e["dropped"].items()},
                               _read_ipc(folder / Path(e["file"]).name) if e["file"]
                               else None)
                   for e in doc["windows"]]
        return closed, dict(doc.get("metrics") or {}), windows
    except (ValueError, KeyError, TypeError, AttributeError, OSError, pa.ArrowInvalid) as exc:
        raise BluelampError(f"{path}: unreadable checkpoint: {exc}") from None


def _read_ipc(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()
