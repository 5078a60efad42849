"""Reported e-mails: forwarded phishing (.eml, the phish inline or attached as
message/rfc822) and ARF abuse reports (RFC 5965: multipart/report with a
message/feedback-report part and the original message or its headers).

`parse_eml(data)` never raises on bad input: what it cannot read becomes an entry of
`errors` and the rest of the message is still used."""

from __future__ import annotations

import email
import email.header
import email.utils
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from bluelamp.act.reports.urls import find_urls, find_urls_in_html

MAX_PART_CHARS = 1_000_000  # text scanned per part: enough for any real e-mail


@dataclass
class ParsedEmail:
    reporter: str | None = None  # address of whoever sent us the report
    subject: str = ""
    message_id: str | None = None
    urls: list[str] = field(default_factory=list)  # as found (not normalised), no repeats
    is_arf: bool = False
    feedback: dict[str, list[str]] = field(default_factory=dict)  # ARF fields, lower-case keys
    original_from: str | None = None  # sender of the reported message
    original_subject: str | None = None
    source_ip: str | None = None  # ARF Source-IP
    errors: list[str] = field(default_factory=list)


def _header(msg: Message, name: str) -> str | None:
    raw = msg.get(name)
    if raw is None:
        return None
    try:
        text = str(email.header.make_header(email.header.decode_header(str(raw))))
    except (ValueError, LookupError, UnicodeError, TypeError):
        text = str(raw)
    return " ".join(text.split())[:500] or None


def _address(msg: Message, name: str) -> str | None:
    value = _header(msg, name)
    if not value:
        return None
    addr = email.utils.parseaddr(value)[1].strip().lower()
    return addr if "@" in addr and len(addr) <= 254 else None


def _text(part: Message, errors: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError) as exc:
        errors.append(f"part {part.get_content_type()}: cannot decode ({exc})")
        return ""
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[:MAX_PART_CHARS].decode(charset, errors="replace")
    except LookupError:
        errors.append(f"part {part.get_content_type()}: unknown charset {charset[:40]!r}")
        return payload[:MAX_PART_CHARS].decode("utf-8", errors="replace")


def _feedback_fields(part: Message) -> dict[str, list[str]]:
    """The fields of a message/feedback-report part (parsed by the email package as a
    message of headers, or left as text by some producers)."""
    fields: dict[str, list[str]] = {}
    payload = part.get_payload()
    blocks: list[Message] = []
    if isinstance(payload, list):
        blocks = [p for p in payload if isinstance(p, Message)]
    elif isinstance(payload, str):
        blocks = [email.message_from_string(payload.strip() + "\n\n", policy=policy.compat32)]
    for block in blocks:
        for key, value in block.items():
            fields.setdefault(key.lower(), []).append(" ".join(str(value).split())[:2000])
    return fields


def _add(found: list[str], urls: list[str], limit: int) -> None:
    for url in urls:
        if url not in found and len(found) < limit:
            found.append(url)


def parse_eml(data: bytes, max_urls: int = 50) -> ParsedEmail:
    """What a reported e-mail says: who reports, the reported message and its URLs."""
    out = ParsedEmail()
    try:
        msg = email.message_from_bytes(data, policy=policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is the last resort
        out.errors.append(f"not an e-mail message: {type(exc).__name__}")
        return out
    out.reporter = _address(msg, "From")
    out.subject = _header(msg, "Subject") or ""
    out.message_id = _header(msg, "Message-ID")
    out.is_arf = (msg.get_content_type() == "multipart/report"
                  and (msg.get_param("report-type") or "") == "feedback-report")
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            out.is_arf = True
            out.feedback = _feedback_fields(part)
            _add(out.urls, out.feedback.get("reported-uri", []), max_urls)
            out.source_ip = next(iter(out.feedback.get("source-ip", [])), None)
        elif ctype == "message/rfc822" and out.original_from is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                out.original_from = _address(inner[0], "From")
                out.original_subject = _header(inner[0], "Subject")
        elif ctype == "text/rfc822-headers":
            headers = email.message_from_string(_text(part, out.errors) + "\n\n",
                                                policy=policy.compat32)
            out.original_from = out.original_from or _address(headers, "From")
            out.original_subject = out.original_subject or _header(headers, "Subject")
        elif ctype == "text/html" and not part.is_multipart():
            _add(out.urls, find_urls_in_html(_text(part, out.errors), max_urls), max_urls)
        elif ctype == "text/plain" and not part.is_multipart():
            _add(out.urls, find_urls(_text(part, out.errors), max_urls), max_urls)
    if not out.urls:
        out.errors.append("no http or https URL found in the message")
    return out
