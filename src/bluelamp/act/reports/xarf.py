"""X-ARF abuse reports (version 0.2, "X-XARF: PLAIN"): an e-mail with three parts — a text for
people, the machine-readable report as YAML in a text/plain part named report.txt, and the
evidence — sent to the abuse contact of the hosting network or of the registrar.

The report uses the X-ARF fraud schema (fraud_0.1.4: Report-Type phishing, scam or infected,
Source-Type uri). The YAML is a flat mapping of strings, written with JSON-style double quotes
(valid YAML), so no YAML library is needed to produce it."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from email.message import EmailMessage

from bluelamp import __version__
from bluelamp.settings import ReportSettings
from bluelamp.store.models.reports import PublicReport

SCHEMA_URL = "http://www.x-arf.org/schema/fraud_0.1.4.json"
#: report category → X-ARF fraud Report-Type
REPORT_TYPE = {"phishing": "phishing", "malware": "infected", "fraud": "scam",
               "unlicensed-medicines": "scam", "counterfeit-goods": "scam"}


def yaml_mapping(fields: Mapping[str, str]) -> str:
    """A flat YAML mapping with every value double-quoted (JSON string syntax is YAML)."""
    return "".join(f"{key}: {json.dumps(str(value), ensure_ascii=False)}\n"
                   for key, value in fields.items())


def report_fields(report: PublicReport, settings: ReportSettings) -> dict[str, str]:
    return {
        "Reported-From": settings.reporter_email,
        "Category": "fraud",
        "Report-Type": REPORT_TYPE.get(report.category or "", "scam"),
        "Report-ID": f"{report.code}@bluelamp",
        "Date": email.utils.format_datetime(report.created_at),
        "Source": report.url,
        "Source-Type": "uri",
        "Domain": report.host,
        "Attachment": "text/plain",
        "Schema-URL": SCHEMA_URL,
        "User-Agent": f"bluelamp {__version__}",
    }


def message(report: PublicReport, to: str, role: str, settings: ReportSettings,
            evidence: str) -> EmailMessage:
    """The X-ARF e-mail about `report` for the abuse contact `to` (`role`: hosting or
    registrar, named in the text)."""
    fields = report_fields(report, settings)
    msg = EmailMessage()
    msg["From"] = settings.reporter_email
    msg["To"] = to
    msg["Subject"] = f"abuse report about {report.host} - {fields['Date']}"
    msg["Date"] = email.utils.format_datetime(report.created_at)
    msg["Message-ID"] = email.utils.make_msgid(idstring=report.code, domain="bluelamp.invalid")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-XARF"] = "PLAIN"
    what = {"registrar": "a domain name registered through you",
            "hosting": "an address in your network"}.get(role, "a resource you are responsible for")
    msg.set_content(
        f"Dear abuse team,\n\n{settings.reporter_name} received a report from the public about "
        f"{what}:\n\n  {report.url}\n\nIt was checked and classified as "
        f"{report.category or 'suspicious'} ({fields['Report-Type']}). Please investigate and "
        f"take the content down where it breaks your terms.\n\nThe machine-readable report "
        f"(X-ARF 0.2) is in report.txt; the evidence follows it.\n\nReference: {report.code}\n")
    msg.add_attachment(yaml_mapping(fields), subtype="plain", filename="report.txt",
                       disposition="inline")
    msg.add_attachment(evidence, subtype="plain", filename="evidence.txt",
                       disposition="inline")
    return msg
