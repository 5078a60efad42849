"""Taking reports in: one stored report per URL, with a tracking code, from the web form, the
JSON API or a reported e-mail. Intake is cheap on purpose (normalise, suggest a category from
the words and the lookalike check); the slower checks (DNS, lake) run in triage."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.reports import rules
from bluelamp.act.reports.eml import parse_eml
from bluelamp.act.reports.lookalike import LookalikeChecker
from bluelamp.act.reports.urls import UrlError, normalise
from bluelamp.errors import BluelampError
from bluelamp.settings import ReportSettings
from bluelamp.store.models.reports import PublicReport, ReportStatus

# Crockford base32: no I, L, O, U, so a code read aloud or retyped survives
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,252}\.[^@\s<>]{2,}$")


class ReportError(BluelampError):
    """A report refused at intake; `status` is the HTTP status the web layer answers."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def new_code() -> str:
    """A tracking code: 80 random bits, e.g. BL-7QX2-9M4K-A0ZT-3VNC. It is the only key to a
    report's status page, so it must not be guessable."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "BL-" + "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def canonical_code(text: str) -> str | None:
    """A code as typed (any case, spaces, I/L for 1, O for 0) in its stored spelling."""
    raw = re.sub(r"[\s-]", "", text.upper()).removeprefix("BL")
    raw = raw.translate(str.maketrans("ILO", "110"))
    if len(raw) != 16 or any(c not in ALPHABET for c in raw):
        return None
    return "BL-" + "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def clean_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ReportError("that e-mail address does not look right (leave it empty if you "
                          "do not want updates)")
    return value


@dataclass
class NewReport:
    url: str
    channel: str  # web | api | email
    category: str | None = None
    description: str = ""
    email: str | None = None
    source_ref: str | None = None


def create_report(db: Session, settings: ReportSettings, new: NewReport,
                  checker: LookalikeChecker | None = None) -> PublicReport:
    """Validate, normalise and store one report (flushed, not committed)."""
    report = build_report(settings, new, checker)
    db.add(report)
    db.flush()
    return report


def build_report(settings: ReportSettings, new: NewReport,
                 checker: LookalikeChecker | None = None) -> PublicReport:
    """Validate and normalise one report: a new row, not yet added to any session."""
    if len(new.description) > settings.max_description_chars:
        raise ReportError(f"description longer than {settings.max_description_chars} characters")
    if new.category is not None and new.category not in rules.CATEGORIES:
        raise ReportError(f"unknown category {new.category[:40]!r}; one of "
                          + ", ".join(rules.CATEGORIES))
    try:
        url = normalise(new.url, settings.max_url_chars)
    except UrlError as exc:
        raise ReportError(str(exc)) from None
    checker = checker or LookalikeChecker.for_reports(settings)
    look = None if url.is_ip else checker.check(url.host)
    guess = rules.suggest(url.url, new.description, new.category,
                          look.describe() if look else None)
    report = PublicReport(
        code=new_code(), channel=new.channel, raw_url=new.url[:4096], url=url.url,
        host=url.host, registered_domain=url.registered_domain, campaign=None,
        claimed_category=new.category, category=guess.category,
        description=new.description.strip(), reporter_email=clean_email(new.email),
        source_ref=new.source_ref[:300] if new.source_ref else None, checks="{}",
        status=ReportStatus.received.value, created_at=dt.datetime.now(dt.UTC))
    return report


def find_report(db: Session, code: str) -> PublicReport | None:
    canonical = canonical_code(code)
    if canonical is None:
        return None
    return db.scalars(select(PublicReport).where(PublicReport.code == canonical)).first()


@dataclass
class EmailIntake:
    reports: list[PublicReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def ingest_email(db: Session, settings: ReportSettings, data: bytes, source: str,
                 checker: LookalikeChecker | None = None) -> EmailIntake:
    """One report per distinct URL of a reported e-mail (what an SMTP handler calls with the
    message bytes). Bad URLs are listed in `errors`; the good ones are still stored."""
    out = EmailIntake()
    if len(data) > settings.max_eml_bytes:
        out.errors.append(f"{source}: larger than {settings.max_eml_bytes} bytes, not read")
        return out
    parsed = parse_eml(data, settings.max_urls_per_email)
    out.errors += [f"{source}: {e}" for e in parsed.errors]
    claimed = _arf_category(parsed.feedback.get("feedback-type", []))
    context = "; ".join(x for x in (
        f"reported e-mail from {parsed.original_from}" if parsed.original_from else "",
        f"subject {parsed.original_subject!r}" if parsed.original_subject else "",
        f"sent from {parsed.source_ip}" if parsed.source_ip else "") if x)
    ref = (parsed.message_id or source)[:300]
    seen: set[str] = set()
    checker = checker or LookalikeChecker.for_reports(settings)
    for raw in parsed.urls:
        try:
            url = normalise(raw, settings.max_url_chars).url
        except UrlError as exc:
            out.errors.append(f"{source}: {exc}")
            continue
        if url in seen:
            continue
        seen.add(url)
        out.reports.append(create_report(db, settings, NewReport(
            url=raw, channel="email", category=claimed, description=context,
            email=_reply_to(parsed.reporter), source_ref=ref), checker))
    return out


def _arf_category(feedback_types: list[str]) -> str | None:
    kind = (feedback_types or [""])[0].strip().lower()
    return {"fraud": "fraud", "virus": "malware"}.get(kind)


def _reply_to(address: str | None) -> str | None:
    try:
        return clean_email(address)
    except ReportError:
        return None
