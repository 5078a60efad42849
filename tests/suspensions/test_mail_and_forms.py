"""The registrant notice and complaints to the requesting agency go by e-mail through a real
SMTP server (aiosmtpd on 127.0.0.1), and the landing page's complaint form works with its
CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from bluelamp.settings import Settings
from bluelamp.web.app import create_app
from conftest import free_port

from .conftest import People
from .knot import ZONE, Knot


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def body(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_complaint_is_mailed_to_the_agency_and_form_works(
        desk_settings: Settings, people: People, knot: Knot,
        inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    desk_settings.suspensions.smtp_host = "127.0.0.1"
    desk_settings.suspensions.smtp_port = port
    domain = f"fake-bank.{ZONE}"
    with TestClient(create_app(desk_settings)) as client:
        r = client.post("/api/suspensions", headers=people.officer, json={
            "domains": [domain], "category": "phishing", "legal_basis": "Fraud Act 2006",
            "action": "redirect", "registrant_emails": {domain: "owner@bank.example"}})
        r = client.post(f"/api/suspensions/{r.json()['id']}/approve", headers=people.reviewer)
        assert r.json()["items"][0]["status"] == "suspended"
        page = client.get(f"/suspended/{domain}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = client.post(f"/suspended/{domain}/complaint", data={
            "csrf_token": token.group(1), "contact": "owner@bank.example",
            "text": "This is our real bank."}, follow_redirects=True)
        assert "complaint received" in r.text
        # without the CSRF token the form is refused
        r = client.post(f"/suspended/{domain}/complaint", data={
            "contact": "x@y.example", "text": "spam"}, follow_redirects=False)
        assert r.status_code == 403
    assert len(box.messages) == 2
    rcpt, notice = box.messages[0]  # the registrant's suspension notice
    assert rcpt == ["owner@bank.example"]
    assert "National Crime Agency" in body(notice)
    assert f"/suspended/{domain}" in body(notice)
    rcpt, mail = box.messages[1]  # the complaint, routed to the agency
    assert rcpt == ["nca@test.example"]
    assert domain in mail["Subject"]
    assert "This is our real bank." in body(mail)
