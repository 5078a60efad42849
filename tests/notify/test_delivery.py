"""Notices built from lake events, sent to a real SMTP server: content and MIME structure,
regional units, deduplication, throttling, bounces with fallback, review, acknowledgement."""

from __future__ import annotations

import csv
import datetime as dt
import io
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify import run
from bluelamp.act.notify.compose import ack_signature, check_ack, link_key
from bluelamp.act.notify.store import approve
from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import Notice, NotifyContact
from bluelamp.web.advice import ADVICE
from conftest import free_port
from notify.conftest import T0, SmtpHandler, notify_settings
from notify.helpers import add_org, event, parts, write_events


def test_notice_content_and_mime_structure(db: Session, db_url: str, lake: Lake,
                                           smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    write_events(lake,
                 event("e1", T0 - dt.timedelta(hours=3)),
                 event("e2", T0 - dt.timedelta(hours=2), classification_taxonomy="fraud",
                       classification_type="phishing", source_ip=None,
                       source_fqdn="login.hosting.example",
                       classification_identifier="=HYPERLINK(\"x\")",
                       extra='{"explanation": "<script>alert(1)</script> fake bank login"}'))
    settings = notify_settings(db_url, lake.root, port)
    report = run(db, lake, settings, T0)
    db.commit()
    assert len(report.created) == 1 and [o.status for o in report.outcomes] == ["sent"]
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got.sender == "bounces@bluelamp.example"
    assert got.recipients == ["it@hosting.example"]
    msg = got.message
    assert msg.get_content_type() == "multipart/mixed"
    inner = msg.get_payload()
    assert isinstance(inner, list) and isinstance(inner[0], EmailMessage)
    assert inner[0].get_content_type() == "multipart/alternative"
    assert "London Regional Cyber Crime Unit" in msg["From"]
    assert "cyber@london-unit.example" in msg["From"]
    assert msg["X-Bluelamp-Notice"] == str(report.created[0])
    p = parts(msg)
    for text in (p["text"], p["html"]):
        assert "198.51.100.7" in text and "login.hosting.example" in text
        assert ADVICE["phishing"].steps[0] in text and ADVICE["infected-system"].steps[1] in text
        assert ADVICE["phishing"].why.split(",")[0] in text
        assert "https://bluelamp.example/notices/ack?n=" in text
        assert "https://bluelamp.example/my/threats" in text
        assert "Detective Sergeant A. Example" in text
    assert "<script>" not in p["html"] and "&lt;script&gt;" in p["html"]
    assert p["csv_type"] == "text/csv" and p["csv_name"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(p["csv"])))
    assert {r["host"] for r in rows} == {"198.51.100.7", "login.hosting.example"}
    assert {r["event_type"] for r in rows} == {"infected-system", "phishing"}
    evidence = next(r["evidence"] for r in rows if r["event_type"] == "phishing")
    assert "fake bank login" in evidence
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.status == "sent" and notice.unit_id == "london-unit"
    assert notice.message_id == msg["Message-ID"]


def test_no_duplicates_and_only_new_events(db: Session, db_url: str, lake: Lake,
                                           smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    write_events(lake, event("e1", T0 - dt.timedelta(hours=3)))
    settings = notify_settings(db_url, lake.root, port, min_hours_between=0)
    assert len(run(db, lake, settings, T0).created) == 1
    db.commit()
    again = run(db, lake, settings, T0 + dt.timedelta(hours=1))
    assert again.created == [] and again.already_notified == 1
    write_events(lake, event("e1", T0 - dt.timedelta(hours=3)),  # the same event re-ingested
                 event("e3", T0 + dt.timedelta(hours=2), source_ip="198.51.100.8"))
    third = run(db, lake, settings, T0 + dt.timedelta(hours=3))
    db.commit()
    assert len(third.created) == 1
    notice = db.get(Notice, third.created[0])
    assert notice is not None and [i.event_id for i in notice.items] == ["e3"]
    assert len(handler.received) == 2


def test_throttling_per_recipient(db: Session, db_url: str, lake: Lake,
                                  smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    settings = notify_settings(db_url, lake.root, port, min_hours_between=24)
    write_events(lake, event("e1", T0 - dt.timedelta(hours=1)))
    run(db, lake, settings, T0)
    write_events(lake, event("e2", T0 + dt.timedelta(hours=1), source_ip="198.51.100.9"))
    second = run(db, lake, settings, T0 + dt.timedelta(hours=2))
    db.commit()
    assert [o.status for o in second.outcomes] == ["throttled"]
    assert len(handler.received) == 1
    later = run(db, lake, settings, T0 + dt.timedelta(hours=25))
    db.commit()
    assert [o.status for o in later.outcomes] == ["sent"] and len(handler.received) == 2


def test_refused_contact_falls_back_to_the_next(db: Session, db_url: str, lake: Lake,
                                                smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    handler.refuse.add("gone@hosting.example")
    org = add_org(db, contacts=("gone@hosting.example", "it@hosting.example"))
    write_events(lake, event("e1", T0))
    report = run(db, lake, notify_settings(db_url, lake.root, port), T0)
    db.commit()
    assert report.outcomes[0].status == "sent"
    assert report.outcomes[0].recipient == "it@hosting.example"
    assert [r.recipients for r in handler.received] == [["it@hosting.example"]]
    gone = db.scalar(select(NotifyContact).where(NotifyContact.org_id == org.id,
                                                 NotifyContact.email == "gone@hosting.example"))
    assert gone is not None and gone.bounced_at is not None and "550" in (gone.bounce_reason or "")
    notice = db.get(Notice, report.created[0])
    assert notice is not None
    assert [(a.email, a.bounced, a.accepted) for a in notice.attempts] == [
        ("gone@hosting.example", True, False), ("it@hosting.example", False, True)]


def test_every_contact_refused_is_a_bounced_notice(db: Session, db_url: str, lake: Lake,
                                                   smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    handler.refuse.add("it@hosting.example")
    add_org(db)
    write_events(lake, event("e1", T0))
    report = run(db, lake, notify_settings(db_url, lake.root, port), T0)
    db.commit()
    assert report.outcomes[0].status == "bounced"
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.status == "bounced" and handler.received == []


def test_temporary_refusal_defers(db: Session, db_url: str, lake: Lake,
                                  smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    handler.defer.add("it@hosting.example")
    add_org(db)
    write_events(lake, event("e1", T0))
    settings = notify_settings(db_url, lake.root, port)
    report = run(db, lake, settings, T0)
    db.commit()
    assert report.outcomes[0].status == "deferred"
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.status == "approved" and "451" in (notice.last_error
                                                                             or "")
    handler.defer.clear()
    retry = run(db, lake, settings, T0 + dt.timedelta(minutes=10))
    db.commit()
    assert [o.status for o in retry.outcomes] == ["sent"] and len(handler.received) == 1


def test_notifier_reviews_when_no_rule_applies(db: Session, db_url: str, lake: Lake,
                                               smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    write_events(lake, event("e1", T0, confidence=0.5))
    settings = notify_settings(db_url, lake.root, port, auto_send_types=["infected-system"],
                               auto_send_min_confidence=0.8)
    report = run(db, lake, settings, T0)
    db.commit()
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.status == "draft" and handler.received == []
    approve(db, notice, "notifier@test.example")
    run(db, lake, settings, T0 + dt.timedelta(minutes=5))
    db.commit()
    assert notice.status == "sent" and len(handler.received) == 1


def test_unregistered_owner_gets_it_at_the_abuse_contact(
        db: Session, db_url: str, lake: Lake, smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    write_events(lake,
                 event("e1", T0, source_org="Unknown Hosting Ltd", source_region="Manchester",
                       source_abuse_contact="Abuse@Unknown-Hosting.example",
                       source_ip="203.0.113.5"),
                 event("e2", T0, source_org=None, source_abuse_contact=None,
                       source_ip="203.0.113.6"),
                 event("e3", T0, tlp="red", source_ip="203.0.113.7",
                       source_abuse_contact="abuse@unknown-hosting.example"))
    report = run(db, lake, notify_settings(db_url, lake.root, port), T0)
    db.commit()
    assert report.unroutable == 1 and report.skipped_tlp == 1
    assert [r.recipients for r in handler.received] == [["abuse@unknown-hosting.example"]]
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.unit_id == "national"  # no unit covers Manchester
    assert "203.0.113.5" in parts(handler.received[0].message)["text"]
    assert "203.0.113.7" not in parts(handler.received[0].message)["csv"]


def test_region_picks_the_unit(db: Session, db_url: str, lake: Lake,
                               smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db, "Mill Ltd", region="greater manchester", contacts=("it@mill.example",))
    write_events(lake, event("e1", T0, source_org="Mill Ltd"))
    run(db, lake, notify_settings(db_url, lake.root, port), T0)
    assert "North West Regional Cyber Crime Unit" in handler.received[0].message["From"]


def test_acknowledgement_signature(db: Session, db_url: str, lake: Lake) -> None:
    add_org(db)
    write_events(lake, event("e1", T0))
    settings = notify_settings(db_url, lake.root, None)  # portal only
    report = run(db, lake, settings, T0)
    db.commit()
    assert [o.status for o in report.outcomes] == ["portal"]
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.status == "sent"
    key = link_key(settings)
    good = ack_signature(key, notice)
    assert check_ack(key, notice, good)
    assert not check_ack(key, notice, good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not check_ack(b"another key", notice, good)


def test_dry_run_stores_and_sends_nothing(db: Session, db_url: str, lake: Lake, tmp_path: Path,
                                          smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    write_events(lake, event("e1", T0))
    report = run(db, lake, notify_settings(db_url, lake.root, port), T0, dry_run=True)
    assert report.would_notify[0]["hosts"] == ["198.51.100.7"]
    assert db.scalar(select(Notice.id)) is None and handler.received == []


def test_one_notice_per_owner_per_ended_interval(db: Session, db_url: str, lake: Lake,
                                                 smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db)
    settings = notify_settings(db_url, lake.root, port, interval_hours=24, min_hours_between=0)
    write_events(lake, event("e1", T0 - dt.timedelta(hours=3)),
                 event("e2", T0 - dt.timedelta(hours=1), source_ip="198.51.100.8"))
    assert run(db, lake, settings, T0).created == []  # the day has not ended
    next_day = T0.replace(hour=0) + dt.timedelta(days=1, minutes=30)
    write_events(lake, event("e3", next_day - dt.timedelta(minutes=10),
                             source_ip="198.51.100.9"))
    report = run(db, lake, settings, next_day)
    db.commit()
    notice = db.get(Notice, report.created[0])
    assert len(report.created) == 1 and notice is not None
    assert sorted(i.event_id for i in notice.items) == ["e1", "e2"]
    assert notice.interval_end == T0.replace(hour=0) + dt.timedelta(days=1)
    assert len(handler.received) == 1


def _auth_server(handler: SmtpHandler) -> tuple[Controller, int]:
    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      auth_data: object) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"unit"
              and auth_data.password == b"s3cret")
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    return controller, port


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_and_a_wrong_password_defers(db: Session, db_url: str, lake: Lake) -> None:
    handler = SmtpHandler()
    controller, port = _auth_server(handler)
    try:
        add_org(db)
        write_events(lake, event("e1", T0))
        wrong = notify_settings(db_url, lake.root, port, smtp_user="unit",
                                smtp_password="nope")
        report = run(db, lake, wrong, T0)
        db.commit()
        # a refused login is our configuration, not a bounce of the recipient's address
        assert [o.status for o in report.outcomes] == ["deferred"]
        assert "535" in report.outcomes[0].detail
        assert db.scalar(select(NotifyContact.bounced_at)) is None
        right = notify_settings(db_url, lake.root, port, smtp_user="unit",
                                smtp_password="s3cret")
        again = run(db, lake, right, T0 + dt.timedelta(minutes=5))
        db.commit()
        assert [o.status for o in again.outcomes] == ["sent"] and len(handler.received) == 1
    finally:
        controller.stop()
