"""A notice as people read it: plain text, HTML (Jinja2, autoescaped) and a CSV of the hosts,
put together as one MIME message (multipart/mixed: multipart/alternative + text/csv).

Everything is rendered from the stored notice and its items, so the portal shows exactly
what the e-mail said."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import jinja2

from bluelamp.errors import ConfigError
from bluelamp.settings import RegionalUnit, Settings
from bluelamp.store.models.notifications import Notice, NoticeItem
from bluelamp.web.advice import Advice, advice_for

TEMPLATES = Path(__file__).parents[2] / "web" / "templates" / "notify" / "email"
CSV_COLUMNS = ("event_type", "host", "first_seen", "last_seen", "evidence", "feed",
               "confidence", "event_id")
NOTICE_HEADER = "X-Bluelamp-Notice"
# Spreadsheet programs run cells that start with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Section:
    """One event type in a notice: its advice and the hosts affected."""

    event_type: str
    advice: Advice
    items: list[NoticeItem]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


_ENV = _environment()


def link_key(settings: Settings) -> bytes:
    key = settings.notify.link_secret or settings.web.secret_key
    if not key:
        raise ConfigError("set notify.link_secret (or web.secret_key) to sign "
                          "acknowledgement links")
    return key.encode()


def ack_signature(key: bytes, notice: Notice) -> str:
    """HMAC-SHA256 over the notice id and key: only the recipient of the notice can
    acknowledge it, and a link does not open any other notice."""
    return hmac.new(key, f"ack:{notice.id}:{notice.key}".encode(), hashlib.sha256).hexdigest()


def check_ack(key: bytes, notice: Notice, signature: str) -> bool:
    return hmac.compare_digest(ack_signature(key, notice), signature)


def ack_url(settings: Settings, notice: Notice) -> str:
    base = settings.web.public_url.rstrip("/")
    return f"{base}/notices/ack?n={notice.id}&sig={ack_signature(link_key(settings), notice)}"


def sections(notice: Notice) -> list[Section]:
    by_type: dict[str, list[NoticeItem]] = {}
    for item in notice.items:
        by_type.setdefault(item.event_type, []).append(item)
    return [Section(t, advice_for(t, items[0].identifier), items)
            for t, items in sorted(by_type.items())]


def context(settings: Settings, notice: Notice, unit: RegionalUnit,
            owner_name: str) -> dict[str, Any]:
    base = settings.web.public_url.rstrip("/")
    return {"notice": notice, "unit": unit, "owner_name": owner_name,
            "sections": sections(notice), "hosts": len({i.host for i in notice.items}),
            "ack_url": ack_url(settings, notice),
            "portal_url": f"{base}/my/notices",
            "subscribe_url": base + settings.notify.subscribe_path,
            "register_url": f"{base}/login",
            "recheck_days": settings.notify.recheck_days}


def render(settings: Settings, notice: Notice, unit: RegionalUnit,
           owner_name: str) -> tuple[str, str]:
    """(plain text, HTML) of a notice."""
    ctx = context(settings, notice, unit, owner_name)
    return (_ENV.get_template("notice.txt").render(ctx),
            _ENV.get_template("notice.html").render(ctx))


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(notice: Notice) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for i in notice.items:
        writer.writerow([_cell(v) for v in (
            i.event_type, i.host, i.first_seen.isoformat() if i.first_seen else "",
            i.last_seen.isoformat() if i.last_seen else "", i.evidence, i.feed,
            "" if i.confidence is None else f"{i.confidence:.2f}", i.event_id)])
    return out.getvalue()


def subject_of(owner_name: str, count: int, unit: RegionalUnit) -> str:
    hosts = "1 system" if count == 1 else f"{count} systems"
    return f"[{unit.name}] Security notice for {owner_name}: {hosts} need attention"[:300]


def build_message(settings: Settings, notice: Notice, unit: RegionalUnit, owner_name: str,
                  to: str) -> EmailMessage:
    text, html = render(settings, notice, unit, owner_name)
    msg = EmailMessage()
    msg["Subject"] = notice.subject
    msg["From"] = formataddr((unit.name, unit.email))
    msg["Reply-To"] = unit.email
    msg["To"] = to
    msg["Date"] = format_datetime(notice.sent_at or notice.created_at)
    msg["Message-ID"] = notice.message_id or make_msgid(domain=_domain(unit.email))
    msg[NOTICE_HEADER] = str(notice.id)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(csv_text(notice).encode(), maintype="text", subtype="csv",
                       filename=f"notice-{notice.id}-hosts.csv")
    return msg


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"
