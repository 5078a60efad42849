"""Sending approved notices by SMTP: contacts in order, a permanent refusal (5xx) is a bounce
and the next contact is tried; a temporary one (4xx, no connection) leaves the notice for the
next run; a recipient already notified within the throttle period waits.

Without an SMTP server configured, notices are published in the organisation's portal only.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify.compose import build_message
from bluelamp.act.notify.store import owner_name
from bluelamp.act.notify.units import unit_by_id
from bluelamp.settings import NotifySettings, Settings
from bluelamp.store import audit
from bluelamp.store.models.accounts import Role, User
from bluelamp.store.models.notifications import (
    DeliveryAttempt,
    Notice,
    NoticeStatus,
    NotifyContact,
)
from bluelamp.store.models.orgs import Organisation


@dataclass(frozen=True)
class Outcome:
    """What happened to one notice in one delivery run."""

    notice_id: int
    status: str  # sent | bounced | throttled | deferred | portal
    recipient: str | None = None
    detail: str = ""


class Refused(Exception):
    """The SMTP server refused the message for this recipient."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


def contacts(db: Session, notice: Notice) -> list[str]:
    """Addresses to try, best first, without those that bounced: the organisation's notice
    contacts by priority, then its subscriber accounts; or the abuse contact."""
    if notice.org_id is None:
        bounced = {a.email for a in notice.attempts if a.bounced}
        return [] if notice.owner in bounced else [notice.owner]
    rows = db.scalars(select(NotifyContact).where(NotifyContact.org_id == notice.org_id)
                      .order_by(NotifyContact.priority, NotifyContact.id))
    out = [c.email for c in rows if c.bounced_at is None]
    bounced = {c.email for c in db.scalars(select(NotifyContact).where(
        NotifyContact.org_id == notice.org_id, NotifyContact.bounced_at.is_not(None)))}
    users = db.scalars(select(User).where(User.org_id == notice.org_id,
                                          User.role == Role.subscriber.value,
                                          User.active.is_(True)).order_by(User.id))
    out += [u.email for u in users if u.email not in out and u.email not in bounced]
    tried = {a.email for a in notice.attempts if a.bounced}
    return [e for e in out if e not in tried]


def throttled_until(db: Session, settings: NotifySettings, email: str,
                    now: dt.datetime) -> dt.datetime | None:
    """When `email` may get its next notice, if not now."""
    window = dt.timedelta(hours=settings.min_hours_between)
    last = db.scalar(select(DeliveryAttempt.at).where(
        DeliveryAttempt.email == email, DeliveryAttempt.accepted.is_(True))
        .order_by(DeliveryAttempt.at.desc()).limit(1))
    if last is not None and last + window > now:
        return last + window
    return None


def smtp_send(settings: NotifySettings, message: EmailMessage, to: str) -> None:
    """Hand one message to the relay; raises Refused (with the SMTP code) or OSError."""
    assert settings.smtp_host is not None
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.smtp_timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            # send_message writes CRLF line ends (policy SMTP); raw bytes would keep LF
            smtp.send_message(message, settings.mail_from, [to])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise Refused(code, text.decode(errors="replace")) from None
    except smtplib.SMTPDataError as exc:  # the message refused for this recipient
        raise Refused(exc.smtp_code, _reason(exc.smtp_error)) from None
    except smtplib.SMTPResponseException as exc:
        # login, sender or greeting refused: our configuration, not the recipient's address
        raise OSError(f"{exc.smtp_code} {_reason(exc.smtp_error)}") from None
    except smtplib.SMTPException as exc:
        raise OSError(str(exc)) from None


def _reason(error: bytes | str) -> str:
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)


def _org_name(db: Session, notice: Notice) -> str:
    org = db.get(Organisation, notice.org_id) if notice.org_id else None
    return owner_name(notice, org.name if org else None)


def mark_bounced(db: Session, notice: Notice, email: str, code: str, detail: str,
                 now: dt.datetime) -> None:
    """Record a bounce of `email` for `notice` and stop using that contact."""
    db.add(DeliveryAttempt(notice_id=notice.id, email=email, at=now, accepted=False,
                           bounced=True, code=code, detail=detail[:500]))
    if notice.org_id is not None:
        contact = db.scalar(select(NotifyContact).where(NotifyContact.org_id == notice.org_id,
                                                        NotifyContact.email == email))
        if contact is not None:
            contact.bounced_at, contact.bounce_reason = now, f"{code} {detail}"[:500]
    db.flush()
    db.refresh(notice)
    audit.record(db, "system", "notice.bounced", f"notice:{notice.id}",
                 {"email": email, "code": code})


def deliver(db: Session, settings: Settings, notice: Notice, now: dt.datetime) -> Outcome:
    """Try to send one approved notice; updates its status and records every attempt."""
    cfg = settings.notify
    unit = unit_by_id(cfg, notice.unit_id)
    if cfg.smtp_host is None:
        _sent(db, notice, None, now)
        return Outcome(notice.id, "portal", None, "no SMTP server: shown in the portal")
    for email in contacts(db, notice):
        until = throttled_until(db, cfg, email, now)
        if until is not None:
            notice.last_error = (f"throttled: {email} gets its next notice after "
                                 f"{until:%Y-%m-%d %H:%M} UTC")
            return Outcome(notice.id, "throttled", email, notice.last_error)
        notice.message_id = notice.message_id or make_msgid(
            domain=unit.email.rpartition("@")[2] or "localhost")
        notice.sent_at = now
        message = build_message(settings, notice, unit, _org_name(db, notice), email)
        try:
            smtp_send(cfg, message, email)
        except Refused as exc:
            if not exc.permanent:
                return _defer(notice, email, str(exc))
            mark_bounced(db, notice, email, str(exc.code), exc.text, now)
            continue
        except OSError as exc:
            return _defer(notice, email, f"SMTP failed: {exc}")
        _sent(db, notice, email, now)
        return Outcome(notice.id, "sent", email)
    notice.sent_at = None
    notice.status, notice.bounced_at = NoticeStatus.bounced.value, now
    notice.last_error = "every contact bounced" if notice.attempts else "no contact address"
    return Outcome(notice.id, "bounced", None, notice.last_error)


def _defer(notice: Notice, email: str, why: str) -> Outcome:
    notice.sent_at = None
    notice.last_error = why[:500]
    return Outcome(notice.id, "deferred", email, why)


def _sent(db: Session, notice: Notice, email: str | None, now: dt.datetime) -> None:
    notice.status, notice.sent_at, notice.recipient = NoticeStatus.sent.value, now, email
    notice.last_error = None
    if email is not None:
        db.add(DeliveryAttempt(notice_id=notice.id, email=email, at=now, accepted=True))
    db.flush()
    audit.record(db, "system", "notice.sent", f"notice:{notice.id}",
                 {"to": email or "portal", "unit": notice.unit_id})


def deliver_approved(db: Session, settings: Settings, now: dt.datetime) -> list[Outcome]:
    notices = db.scalars(select(Notice).where(Notice.status == NoticeStatus.approved.value)
                         .order_by(Notice.id))
    return [deliver(db, settings, n, now) for n in list(notices)]
