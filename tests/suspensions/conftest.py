"""Fixtures of the suspension-desk tests: the web fixtures (databases on SQLite and
PostgreSQL, accounts of every role, sign-in helpers) re-exported, plus a real Knot DNS
server for the registry zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.act.cases.desk import build_desk
from bluelamp.settings import Settings
from bluelamp.store.db import session_factory, transaction
from bluelamp.store.models.accounts import Role, User
from bluelamp.web import accounts
from bluelamp.web.app import create_app
from conftest import require_binary  # tests/conftest.py
from suspensions.knot import KEY_NAME, ZONE, Knot
from web import conftest as web_fixtures
from web.conftest import PASSWORD, Account

# The web fixtures, re-exported by name so that pytest finds them for this folder too.
postgres_server = web_fixtures.postgres_server
db_url = web_fixtures.db_url
engine = web_fixtures.engine
lake_path = web_fixtures.lake_path
accounts_by_role = web_fixtures.accounts_by_role
_fast_password_hashing = web_fixtures._fast_password_hashing


@pytest.fixture
def knot(tmp_path: Path) -> Iterator[Knot]:
    """A fresh Knot server and zone per test."""
    binary = require_binary("/usr/sbin/knotd", "knot")
    server = Knot(binary, tmp_path)
    server.start()
    yield server
    server.stop()


# ----------------------------------------------------------------------------- the desk

@dataclass
class People:
    """Bearer-token headers of the desk's actors."""

    officer: dict[str, str]  # National Crime Agency
    other_officer: dict[str, str]  # City Police
    reviewer: dict[str, str]
    second_reviewer: dict[str, str]
    admin: dict[str, str]


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def desk_settings(db_url: str, lake_path: Path, knot: Knot, tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "database": {"url": db_url}, "lake": {"path": str(lake_path)},
        "web": {"login_per_minute": 1000, "max_body_bytes": 4_000_000},
        "suspensions": {
            "zones": [ZONE], "server": "127.0.0.1", "port": knot.port, "tsig_name": KEY_NAME,
            "tsig_secret": knot.secret, "timeout": 3, "redirect_ipv4": ["192.0.2.99"],
            "resolvers": ["127.0.0.1"], "resolver_port": knot.port,
            "evidence_dir": str(tmp_path / "evidence"), "evidence_max_bytes": 100_000,
            "public_holidays": ["2026-12-25", "2026-12-28"]},
    })


@pytest.fixture
def people(engine: Engine, accounts_by_role: dict[Role, Account],
           desk_settings: Settings) -> People:
    with transaction(session_factory(engine)) as db:
        extra = {}
        for email, role in (("officer2@test.example", "officer"),
                            ("reviewer2@test.example", "reviewer")):
            accounts.create_user(db, "test", email, role, PASSWORD)
            extra[email] = accounts.create_token(db, "test", email)
        desk = build_desk(db, desk_settings)
        nca = desk.create_agency("test", "National Crime Agency", "nca@test.example")
        city = desk.create_agency("test", "City Police", None)
        for agency, email in ((nca, "officer@test.example"), (city, "officer2@test.example")):
            user = db.scalar(select(User).where(User.email == email))
            assert user is not None
            desk.add_officer("test", agency, user.id, email)
    return People(_bearer(accounts_by_role[Role.officer].token),
                  _bearer(extra["officer2@test.example"]),
                  _bearer(accounts_by_role[Role.reviewer].token),
                  _bearer(extra["reviewer2@test.example"]),
                  _bearer(accounts_by_role[Role.admin].token))


@pytest.fixture
def desk_client(desk_settings: Settings, people: People) -> Iterator[TestClient]:
    with TestClient(create_app(desk_settings)) as c:
        yield c
