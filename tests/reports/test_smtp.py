"""E-mail both ways through a real SMTP server (aiosmtpd on loopback): reported messages
delivered to the reporting address become reports (what an SMTP handler does with
`ingest_email`), and routing sends its referral and X-ARF messages over SMTP."""

from __future__ import annotations

import asyncio
import email
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bluelamp.act.reports import routing, triage
from bluelamp.act.reports.intake import ingest_email
from bluelamp.settings import Settings
from bluelamp.store.db import session_factory
from bluelamp.store.models.reports import PublicReport
from conftest import free_port

from .conftest import report_settings

pytestmark = pytest.mark.system
HERE = Path(__file__).parent / "fixtures"


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # mail is what is tested here; one back-end is enough
    return f"sqlite:///{tmp_path / 'smtp.db'}"


@dataclass
class Handler:
    """Mail to report@ is taken in as reports; anything else is kept for inspection."""

    sessions: sessionmaker[Session]
    settings: Settings
    other: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == ["report@bluelamp.example"]:
            await asyncio.to_thread(self._ingest, envelope.content)
        else:
            self.other.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def _ingest(self, data: bytes) -> None:
        with self.sessions() as db:
            ingest_email(db, self.settings.reports, data, "smtp")
            db.commit()


@pytest.fixture
def smtp(engine: Engine, lake_path: Path, tmp_path: Path, db_url: str
         ) -> Iterator[tuple[Handler, int, Settings]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port = free_port()
    settings = report_settings(db_url, lake_path, tmp_path, smtp_host="127.0.0.1",
                               smtp_port=port)
    handler = Handler(session_factory(engine), settings)
    controller = controller_mod.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port, settings
    controller.stop()


def test_reported_mail_in_and_reports_out(smtp: tuple[Handler, int, Settings],
                                          engine: Engine) -> None:
    handler, port, settings = smtp
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("alice@citizen.example", ["report@bluelamp.example"],
                        (HERE / "forwarded-phish.eml").read_bytes().replace(b"\n", b"\r\n"))
    with session_factory(engine)() as db:
        reports = list(db.scalars(select(PublicReport).order_by(PublicReport.id)))
        assert {r.host for r in reports} == {"paypa1-secure.example",
                                             "cdn.paypa1-secure.example"}
        assert all(r.channel == "email" and r.reporter_email == "alice@citizen.example"
                   for r in reports)
        triage.Triage(settings.reports).check(reports)
        triage.assign_campaigns(reports)
        assert len({r.campaign for r in reports}) == 1  # one e-mail, one campaign
        router = routing.Router(db, settings, None, "test",
                                {"*.example": "abuse@registrar.example"})
        actions = router.route(reports[0])
        routing.close(db, reports[0], "taken-down", "the host removed it", "test",
                      settings.reports, "https://bluelamp.example")
        db.commit()
    assert all(a.sent_at is not None for a in actions)
    sent = {tuple(rcpt): email.message_from_bytes(data) for rcpt, data in handler.other}
    assert set(sent) == {("takedown@localhost",), ("abuse@registrar.example",),
                         ("alice@citizen.example",)}  # the reporter hears the outcome
    update = sent[("alice@citizen.example",)].get_payload()
    assert "taken down" in update and "the host removed it" in update
    xarf = sent[("abuse@registrar.example",)]
    assert xarf["X-XARF"] == "PLAIN" and xarf["Auto-Submitted"] == "auto-generated"
    assert [p.get_filename() for p in xarf.walk() if p.get_filename()] == [
        "report.txt", "evidence.txt"]
