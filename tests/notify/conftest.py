"""Fixtures of the notification tests: the web fixtures (databases on SQLite and PostgreSQL,
accounts of every role) re-exported, a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps
what it receives and refuses chosen recipients, a per-test lake and settings."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bluelamp.settings import Settings
from bluelamp.store.db import session_factory
from bluelamp.store.lake import Lake
from conftest import free_port  # tests/conftest.py
from web.conftest import (  # noqa: F401  (fixtures are found by name)
    _fast_password_hashing,
    accounts_by_role,
    db_url,
    engine,
    lake_path,
    postgres_server,
)

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    """Keeps every accepted message; answers 550 (permanent) or 451 (temporary) for the
    recipients listed."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address.lower() in self.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpHandler, int]]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


UNITS = [
    {"id": "london-unit", "name": "London Regional Cyber Crime Unit", "regions": ["London"],
     "email": "cyber@london-unit.example", "phone": "+44 20 7946 0000",
     "signature": "Detective Sergeant A. Example\nLondon Regional Cyber Crime Unit"},
    {"id": "nw-unit", "name": "North West Regional Cyber Crime Unit",
     "regions": ["North West", "Greater Manchester"], "email": "cyber@nw-unit.example",
     "signature": "North West Regional Cyber Crime Unit"},
]


def notify_settings(url: str, lake: Path, smtp_port: int | None, **notify: Any) -> Settings:
    return Settings.model_validate({
        "database": {"url": url}, "lake": {"path": str(lake)},
        "web": {"login_per_minute": 1000, "public_url": "https://bluelamp.example"},
        "notify": {"smtp_host": "127.0.0.1" if smtp_port else None,
                   "smtp_port": smtp_port or 25, "mail_from": "bounces@bluelamp.example",
                   "units": UNITS, "link_secret": "test-link-secret",
                   "auto_send_types": ["*"], "auto_send_min_confidence": 0.0,
                   "smtp_timeout": 10, "interval_hours": 0, **notify},
    })


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:  # noqa: F811
    with session_factory(engine)() as session:
        yield session
