"""DSN bounce parsing (property-tested) and bounce handling: the notice falls back to the
next contact."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from bluelamp.act.notify import run
from bluelamp.act.notify.bounces import BounceError, apply_bounce, parse_dsn
from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import Notice
from notify.conftest import T0, SmtpHandler, notify_settings
from notify.helpers import add_org, event, write_events


def make_dsn(recipient: str, status: str = "5.1.1", action: str = "failed",
             notice_id: str | None = "7", message_id: str = "<abc@unit.example>",
             returned: str = "text/rfc822-headers", diagnostic: str = "smtp; 550 no such user"
             ) -> bytes:
    headers = f"Message-ID: {message_id}\r\nSubject: Security notice\r\n"
    if notice_id is not None:
        headers += f"X-Bluelamp-Notice: {notice_id}\r\n"
    if returned == "message/rfc822":
        headers += "\r\nbody of the notice\r\n"
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: bounces@bluelamp.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\nArrival-Date: Mon, 2 Nov 2026 12:00:00 +0000\r\n"
        f"\r\nFinal-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n"
        f"--BB\r\nContent-Type: {returned}\r\n\r\n{headers}\r\n--BB--\r\n").encode()


@pytest.mark.parametrize("returned", ["text/rfc822-headers", "message/rfc822"])
def test_parse_a_dsn(returned: str) -> None:
    bounce = parse_dsn(make_dsn("It@Hosting.example", returned=returned))
    assert bounce.notice_id == 7 and bounce.message_id == "<abc@unit.example>"
    [r] = bounce.recipients
    assert (r.recipient, r.action, r.status, r.failed) == ("it@hosting.example", "failed",
                                                           "5.1.1", True)
    assert r.diagnostic is not None and "550" in r.diagnostic


def test_delayed_is_not_a_failure() -> None:
    bounce = parse_dsn(make_dsn("a@b.example", status="4.4.7", action="delayed"))
    assert bounce.failed == ()


@pytest.mark.parametrize("data", [b"", b"Subject: hi\r\n\r\nhello",
                                  b"Content-Type: multipart/report; boundary=x\r\n\r\n--x--"])
def test_not_a_dsn_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(BounceError, match=r"in\.eml"):
        parse_dsn(data, "in.eml")


local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True)
domain = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True)


@given(local, domain, st.sampled_from(["failed", "delayed", "delivered", "relayed"]),
       st.from_regex(r"[245]\.[0-7]\.[0-9]", fullmatch=True),
       st.one_of(st.none(), st.integers(1, 10**9).map(str)),
       st.sampled_from(["text/rfc822-headers", "message/rfc822"]))
def test_dsn_round_trip(user: str, host: str, action: str, status: str,
                        notice_id: str | None, returned: str) -> None:
    bounce = parse_dsn(make_dsn(f"{user}@{host}", status, action, notice_id,
                                returned=returned))
    [r] = bounce.recipients
    assert r.recipient == f"{user}@{host}" and r.status == status and r.action == action
    assert r.failed == (action == "failed" or status.startswith("5"))
    assert bounce.notice_id == (int(notice_id) if notice_id else None)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        parse_dsn(data, "fuzz.eml")
    except BounceError as exc:
        assert "fuzz.eml" in str(exc)


@given(st.text(max_size=300))
def test_mangled_dsn_parts_never_crash(noise: str) -> None:
    dsn = make_dsn("a@b.example").decode().replace("Action: failed", f"Action: {noise}")
    try:
        parse_dsn(dsn.encode("utf-8", "surrogateescape"), "m.eml")
    except BounceError as exc:
        assert "m.eml" in str(exc)


def test_bounce_after_sending_falls_back_to_next_contact(
        db: Session, db_url: str, lake: Lake, smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db, contacts=("old@hosting.example", "it@hosting.example"))
    write_events(lake, event("e1", T0))
    settings_ = notify_settings(db_url, lake.root, port)
    report = run(db, lake, settings_, T0)
    db.commit()
    notice = db.get(Notice, report.created[0])
    assert notice is not None and notice.recipient == "old@hosting.example"
    sent = handler.received[0].message
    dsn = make_dsn("old@hosting.example", notice_id=sent["X-Bluelamp-Notice"],
                   message_id=sent["Message-ID"])
    later = T0 + dt.timedelta(hours=2)
    outcomes = apply_bounce(db, settings_, parse_dsn(dsn), later)
    db.commit()
    assert [(o.status, o.recipient) for o in outcomes] == [("sent", "it@hosting.example")]
    assert [r.recipients for r in handler.received] == [["old@hosting.example"],
                                                        ["it@hosting.example"]]
    assert notice.status == "sent" and notice.recipient == "it@hosting.example"
    assert [a.email for a in notice.attempts if a.bounced] == ["old@hosting.example"]
    # a second copy of the same bounce changes nothing; a forged one is refused
    assert apply_bounce(db, settings_, parse_dsn(dsn), later) == []
    forged = make_dsn("it@hosting.example", notice_id=str(notice.id), message_id="<x@y>")
    with pytest.raises(BounceError, match="Message-ID"):
        apply_bounce(db, settings_, parse_dsn(forged), later)
