"""Fixtures shared by the whole suite. Area-specific fixtures live in each folder's conftest."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(path: str, package: str) -> str:
    """Return the path of a system binary, or skip saying which Debian package provides it.
    `bash scripts/test.sh` installs these packages when it runs as root on Debian."""
    found = shutil.which(path) or (path if Path(path).exists() else None)
    if not found:
        pytest.skip(f"{path} not installed (Debian package {package}; scripts/test.sh installs "
                    "it when run as root)")
    return found
