"""Bounce messages (RFC 3464 delivery status notifications) that come back after a notice was
accepted by the relay: parse them, record the bounce and fall back to the next contact.

A DSN is a multipart/report (report-type=delivery-status) with a message/delivery-status part
(one block about the message, then one block per recipient: Final-Recipient, Action, Status,
Diagnostic-Code) and the returned message or its headers, where our X-Bluelamp-Notice and
Message-ID headers say which notice bounced."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

from sqlalchemy.orm import Session

from bluelamp.act.notify.compose import NOTICE_HEADER
from bluelamp.act.notify.deliver import Outcome, deliver, mark_bounced
from bluelamp.errors import BluelampError
from bluelamp.settings import Settings
from bluelamp.store.models.notifications import Notice, NoticeStatus
from bluelamp.textutil import is_decimal

MAX_DSN_BYTES = 5_000_000


class BounceError(BluelampError):
    """The file is not a delivery status notification we can use."""


@dataclass(frozen=True)
class RecipientStatus:
    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1
    diagnostic: str | None = None

    @property
    def failed(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")


@dataclass(frozen=True)
class Bounce:
    recipients: tuple[RecipientStatus, ...]
    notice_id: int | None
    message_id: str | None

    @property
    def failed(self) -> tuple[RecipientStatus, ...]:
        return tuple(r for r in self.recipients if r.failed)


def _address(value: str | None) -> str:
    """`rfc822; user@example.org` → user@example.org"""
    text = (value or "").strip()
    if ";" in text:
        text = text.split(";", 1)[1]
    return text.strip().strip("<>").strip().lower()


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _recipient_blocks(part: Message, source: str) -> list[RecipientStatus]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        raise BounceError(f"{source}: the message/delivery-status part has no status blocks")
    out = []
    for block in blocks[1:]:  # the first block is about the message, not a recipient
        if not isinstance(block, Message):
            continue
        recipient = _address(_text(block.get("Final-Recipient") or
                                   block.get("Original-Recipient")))
        action = _text(block.get("Action")).lower()
        status = _text(block.get("Status")).split(" ")[0]
        if not recipient or "@" not in recipient or not action:
            raise BounceError(f"{source}: a recipient block lacks Final-Recipient or Action")
        out.append(RecipientStatus(recipient, action, status,
                                   _text(block.get("Diagnostic-Code"))[:500] or None))
    return out


def _returned_headers(part: Message) -> Message | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else None
        return first if isinstance(first, Message) else None
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return HeaderParser(policy=policy.compat32).parsestr(
            payload.decode("utf-8", "replace"), headersonly=True)
    return None


def parse_dsn(data: bytes, source: str = "<dsn>") -> Bounce:
    """Parse a DSN; raises BounceError (naming `source`) for anything else."""
    if len(data) > MAX_DSN_BYTES:
        raise BounceError(f"{source}: larger than {MAX_DSN_BYTES} bytes")
    # compat32: header values stay strings (no exceptions from malformed headers)
    message = BytesParser(policy=policy.compat32).parsebytes(data)
    if message.get_content_type() != "multipart/report" or not message.is_multipart():
        raise BounceError(f"{source}: not a delivery status notification "
                          f"(Content-Type is {message.get_content_type()})")
    recipients: list[RecipientStatus] = []
    returned: Message | None = None
    found_status = False
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and not found_status:
            found_status = True
            recipients = _recipient_blocks(part, source)
        elif kind in ("message/rfc822", "text/rfc822-headers") and returned is None:
            returned = _returned_headers(part)
    if not found_status:
        raise BounceError(f"{source}: multipart/report without a message/delivery-status part")
    notice_id, message_id = None, None
    if returned is not None:
        raw_id = _text(returned.get(NOTICE_HEADER))
        notice_id = int(raw_id) if is_decimal(raw_id) and len(raw_id) < 12 else None
        message_id = _text(returned.get("Message-ID")) or None
    return Bounce(tuple(recipients), notice_id, message_id)


def apply_bounce(db: Session, settings: Settings, bounce: Bounce,
                 now: dt.datetime) -> list[Outcome]:
    """Record the failed recipients of a bounced notice and send it to the next contact."""
    if bounce.notice_id is None:
        raise BounceError("the bounce does not say which notice it is about (no "
                          f"{NOTICE_HEADER} header in the returned message)")
    notice = db.get(Notice, bounce.notice_id)
    if notice is None or (notice.message_id and bounce.message_id != notice.message_id):
        # the Message-ID check keeps a forged bounce from cancelling another notice
        raise BounceError(f"no sent notice {bounce.notice_id} with Message-ID "
                          f"{bounce.message_id}")
    failed = [r for r in bounce.failed if r.recipient == (notice.recipient or "").lower()]
    if not failed:
        return []
    for r in failed:
        mark_bounced(db, notice, r.recipient, r.status, r.diagnostic or r.action, now)
    if notice.status in (NoticeStatus.sent, NoticeStatus.delivered):
        notice.status = NoticeStatus.approved.value
        notice.recipient = None
        return [deliver(db, settings, notice, now)]
    return []
