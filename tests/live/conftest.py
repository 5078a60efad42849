"""Fixtures for the live tests (the harness itself is in unbound_harness.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from unbound_harness import Unbound, require_binary


@pytest.fixture
def unbound(tmp_path: Path) -> Iterator[Unbound]:
    binary = require_binary("/usr/sbin/unbound", "unbound")
    # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer
    short = Path(tempfile.mkdtemp(prefix="bl-dnstap-")) if len(str(tmp_path)) > 90 else None
    server = Unbound(binary, tmp_path, (short or tmp_path) / "dnstap.sock")
    yield server
    server.stop()
    if short is not None:
        shutil.rmtree(short, ignore_errors=True)


