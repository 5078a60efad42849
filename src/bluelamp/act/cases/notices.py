"""Messages of the desk: the notice to the registrant of a suspended name, and the message
that routes a complaint to the requesting agency. Each is stored on the case; it is also
sent by e-mail when `suspensions.smtp_host` is set and a recipient address is known."""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage

from bluelamp.settings import SuspensionSettings
from bluelamp.store.models.suspensions import Agency, Complaint, SuspensionItem, SuspensionRequest


def registrant_notice(item: SuspensionItem, request: SuspensionRequest, public_url: str) -> str:
    when = item.suspended_at or dt.datetime.now(dt.UTC)
    what = ("no longer resolves" if request.action == "hold"
            else "now points to a suspension notice")
    return (
        f"Subject: {item.domain} has been suspended\n\n"
        f"The domain {item.domain} {what}. The registry suspended it on "
        f"{when:%Y-%m-%d} at the request of {request.agency.name}, "
        f"which reported it for {request.category.replace('-', ' ')} "
        f"(legal basis: {request.legal_basis}).\n\n"
        f"If you believe this is wrong, you can complain at "
        f"{public_url.rstrip('/')}/suspended/{item.domain}. Your complaint is sent to "
        f"{request.agency.name}; if the agency does not answer within the time the registry's "
        f"policy sets, the suspension is lifted.\n")


def agency_message(complaint: Complaint, item: SuspensionItem, agency: Agency) -> str:
    return (
        f"Subject: complaint about the suspension of {item.domain}\n\n"
        f"{agency.name}: the registrant of {item.domain} (suspended at your request, "
        f"request {item.request_id}) complained on {complaint.received_at:%Y-%m-%d}:\n\n"
        f"{complaint.text}\n\n"
        f"Please maintain or withdraw the suspension by {complaint.deadline:%Y-%m-%d %H:%M} "
        f"UTC; without an answer it is lifted then.\n")


def deliver(settings: SuspensionSettings, message: str, to: str | None) -> dt.datetime | None:
    """Send `message` (first line "Subject: ...") when SMTP is configured and `to` is known;
    returns when it was sent, or None when it is only stored."""
    if not settings.smtp_host or not to:
        return None
    subject, _, body = message.partition("\n\n")
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Subject"] = subject.removeprefix("Subject: ")
    mail.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException):
        return None  # kept on the case; a failed delivery must not undo the decision
    return dt.datetime.now(dt.UTC)
