"""Fixtures for the live tests (the harness itself is in unbound_harness.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from unbound_harness import Unbound, free_port, require_binary


@pytest.fixture(params=["unix", "tcp"])
def unbound(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Unbound]:
    """A not yet started Unbound whose dnstap goes to a Unix socket or to TCP."""
    binary = require_binary("/usr/sbin/unbound", "unbound")
    # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer
    short = Path(tempfile.mkdtemp(prefix="bl-dnstap-")) if len(str(tmp_path)) > 90 else None
    server = Unbound(binary, tmp_path, (short or tmp_path) / "dnstap.sock",
                     dnstap_tcp_port=free_port() if request.param == "tcp" else None)
    yield server
    server.stop()
    if short is not None:
        shutil.rmtree(short, ignore_errors=True)


