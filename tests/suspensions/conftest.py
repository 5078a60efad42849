"""Fixtures of the suspension-desk tests: the web fixtures (databases on SQLite and
PostgreSQL, accounts of every role, sign-in helpers) re-exported, plus a real Knot DNS
server for the registry zone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_binary  # tests/conftest.py
from suspensions.knot import Knot
from web.conftest import (  # noqa: F401  (fixtures are found by name)
    _fast_password_hashing,
    accounts_by_role,
    db_url,
    engine,
    lake_path,
    postgres_server,
)


@pytest.fixture
def knot(tmp_path: Path) -> Iterator[Knot]:
    """A fresh Knot server and zone per test."""
    binary = require_binary("/usr/sbin/knotd", "knot")
    server = Knot(binary, tmp_path)
    server.start()
    yield server
    server.stop()
