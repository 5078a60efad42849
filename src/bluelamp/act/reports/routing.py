"""Routing a checked report to whoever can act, and recording outcomes.

- the category's body (`[reports] routes` → `[reports] bodies`) gets a referral;
- a domain in the registry's own zone (`[suspensions] zones`) becomes a proposed suspension
  for an agency to adopt (one open proposal per domain, shared by its reports);
- the abuse contact of the hosting network (attribution of the resolved addresses) and of
  the registrar (`[reports] registrar_contacts`) get an X-ARF report.

Every message is written to the outbox as an .eml file, and sent when an SMTP server is
set. Every routing and outcome decision goes to the audit log."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.reports import rules, xarf
from bluelamp.act.reports.triage import checks_of
from bluelamp.attribute import Attributor
from bluelamp.errors import BluelampError
from bluelamp.registry.base import zone_of
from bluelamp.settings import ReportSettings, Settings
from bluelamp.store import audit
from bluelamp.store.lake import Lake
from bluelamp.store.models.reports import (
    Outcome,
    ProposalStatus,
    PublicReport,
    ReportAction,
    ReportStatus,
    SuspensionProposal,
)
from bluelamp.store.models.suspensions import ItemStatus, SuspensionItem, SuspensionRequest


class RoutingError(BluelampError):
    """A routing or outcome step refused (wrong state, unknown outcome)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_registrar_contacts(path: Path | None) -> dict[str, str]:
    """`domain,registrar,abuse_email` rows → domain (or `*.tld`) → abuse address."""
    if path is None:
        return {}
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.reader(fh), 1):
            if not row or row[0].startswith("#") or (line == 1 and row[0] == "domain"):
                continue
            if len(row) < 3 or "@" not in row[2]:
                raise BluelampError(f"{path}:{line}: expected domain,registrar,abuse_email")
            out[row[0].strip().lower()] = row[2].strip()
    return out


def registrar_contact(contacts: dict[str, str], domain: str | None) -> str | None:
    if not domain:
        return None
    if domain in contacts:
        return contacts[domain]
    labels = domain.split(".")
    for i in range(1, len(labels)):
        wildcard = "*." + ".".join(labels[i:])
        if wildcard in contacts:
            return contacts[wildcard]
    return None


def own_domain(host: str, zones: Sequence[str]) -> str | None:
    """The name registered directly under one of the registry's zones that `host` is in
    (the registry's zones are public suffixes to it), or None."""
    zone = zone_of(host, zones)
    if zone is None:
        return None
    label = host[: -len(zone) - 1].rsplit(".", 1)[-1]
    return f"{label}.{zone}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", text)[:80]


@dataclass
class Router:
    db: Session
    settings: Settings
    attributor: Attributor | None = None
    actor: str = "system"
    registrars: dict[str, str] = field(default_factory=dict)

    @property
    def conf(self) -> ReportSettings:
        return self.settings.reports

    def route(self, report: PublicReport) -> list[ReportAction]:
        """Send `report` where it can be acted on; returns the actions taken."""
        if report.status not in (ReportStatus.checked.value, ReportStatus.routed.value):
            raise RoutingError(f"report {report.code} is {report.status}: check it first")
        actions: list[ReportAction] = []
        body = rules.body_for(report.category, self.conf.routes)
        if body:
            actions.append(self._referral(report, body))
        domain = own_domain(report.host, self.settings.suspensions.zones)
        if domain:
            actions.append(self._propose(report, domain))
        actions += self._xarf(report)
        report.status = ReportStatus.routed.value
        report.routed_at = report.routed_at or _now()
        report.routed_to = ", ".join(sorted({a.recipient or a.kind for a in actions}))[:100] or None
        if report.verified_at is None:
            report.verified_at = report.routed_at  # routing is a person's confirmation
        audit.record(self.db, self.actor, "report.routed", report.code,
                     {"category": report.category, "actions": [a.kind for a in actions]})
        return actions

    def _action(self, report: PublicReport, kind: str, recipient: str | None, detail: str,
                msg: EmailMessage | None = None) -> ReportAction:
        action = ReportAction(report_id=report.id, kind=kind, recipient=recipient, detail=detail)
        if msg is not None:
            action.path = str(self._write(report, kind, recipient or "unknown", msg))
            action.sent_at = self._send(msg)
        self.db.add(action)
        self.db.flush()
        return action

    def _referral(self, report: PublicReport, body: str) -> ReportAction:
        to = self.conf.bodies.get(body)
        msg = EmailMessage()
        msg["From"] = self.conf.reporter_email
        msg["To"] = to or "undisclosed-recipients:;"
        msg["Subject"] = f"[{report.code}] public report: {report.category} at {report.host}"
        msg.set_content(_summary(report))
        return self._action(report, "referral", to or body, f"referred to {body}", msg)

    def _propose(self, report: PublicReport, domain: str) -> ReportAction:
        proposal = self.db.scalars(select(SuspensionProposal).where(
            SuspensionProposal.domain == domain,
            SuspensionProposal.status == ProposalStatus.proposed.value)).first()
        if proposal is None:
            proposal = SuspensionProposal(domain=domain, category=report.category or "other",
                                          summary=f"public reports about {domain}: {report.url}")
            self.db.add(proposal)
            self.db.flush()
            audit.record(self.db, self.actor, "proposal.created", domain,
                         {"proposal": proposal.id, "report": report.code})
        return self._action(report, "proposal", None,
                            f"proposed suspension #{proposal.id} of {domain} "
                            "(in the registry's zone), for an agency to adopt")

    def _xarf(self, report: PublicReport) -> list[ReportAction]:
        out = []
        evidence = json.dumps(checks_of(report), indent=2, default=str)
        for role, to in (("hosting", self._hosting_contact(report)),
                         ("registrar", registrar_contact(self.registrars,
                                                         report.registered_domain))):
            if to:
                msg = xarf.message(report, to, role, self.conf, evidence)
                out.append(self._action(report, f"xarf-{role}", to, f"X-ARF to {role}", msg))
        return out

    def _hosting_contact(self, report: PublicReport) -> str | None:
        addresses = checks_of(report).get("dns", {}).get("addresses", [])
        if not addresses or self.attributor is None:
            return None
        table = self.attributor.lookup(addresses)
        contacts = [c for c in table.column("source_abuse_contact").to_pylist() if c]
        return str(contacts[0]) if contacts else None

    def _write(self, report: PublicReport, kind: str, to: str, msg: EmailMessage) -> Path:
        return write_outbox(self.conf, f"{report.code}-{kind}-{_safe(to)}.eml", msg)

    def _send(self, msg: EmailMessage) -> dt.datetime | None:
        return send(self.conf, msg)


def write_outbox(conf: ReportSettings, name: str, msg: EmailMessage) -> Path:
    """Write `msg` to the outbox folder atomically (a half-written .eml is never seen)."""
    conf.outbox.mkdir(parents=True, exist_ok=True)
    final = conf.outbox / name
    tmp = final.with_name("." + final.name + ".tmp")
    tmp.write_bytes(msg.as_bytes())
    os.replace(tmp, final)
    return final


def send(conf: ReportSettings, msg: EmailMessage) -> dt.datetime | None:
    """Send through `[reports] smtp_host` when set; the time it was handed over, or None."""
    if not conf.smtp_host or "@" not in str(msg["To"]):
        return None
    with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)
    return _now()


def _summary(report: PublicReport) -> str:
    checks = checks_of(report)
    dns = checks.get("dns", {})
    look = checks.get("lookalike")
    lines = [f"Tracking code: {report.code}", f"URL: {report.url}",
             f"Reported: {report.created_at:%Y-%m-%d %H:%M} UTC via {report.channel}",
             f"Category: {report.category}",
             f"Resolves: {dns.get('resolves')} {', '.join(dns.get('addresses', []))}",
             f"Known to Bluelamp: {len(checks.get('lake', []))} event(s)/finding(s)",
             f"Lookalike: {look['kind'] + ' of ' + look['brand'] if look else 'no'}",
             "", "Reporter's description:", report.description or "(none)"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ outcomes

def verify(db: Session, report: PublicReport, actor: str) -> None:
    if report.verified_at is None:
        report.verified_at = _now()
        audit.record(db, actor, "report.verified", report.code, {})


def close(db: Session, report: PublicReport, outcome: str, reason: str, actor: str,
          conf: ReportSettings | None = None, public_url: str = "") -> None:
    """Record what became of a report (the public sees the outcome and the reason); with
    `conf`, a reporter who left an address is told (written to the outbox, sent by SMTP
    when set)."""
    if outcome not in {o.value for o in Outcome}:
        raise RoutingError(f"unknown outcome {outcome!r}: one of "
                           + ", ".join(o.value for o in Outcome))
    reason = reason.strip()
    if outcome == Outcome.no_action.value and not reason:
        raise RoutingError("say why no action is taken: the reporter sees the reason")
    report.status = ReportStatus.closed.value
    report.outcome = outcome
    report.outcome_reason = reason[:2000] or None
    report.closed_at = _now()
    audit.record(db, actor, "report.closed", report.code, {"outcome": outcome,
                                                           "reason": reason[:500]})
    if conf is not None and report.reporter_email:
        _tell_reporter(conf, report, public_url)


OUTCOME_WORDS = {"taken-down": "the site was taken down",
                 "suspended": "the domain name was suspended by the registry",
                 "no-action": "no action was taken"}


def _tell_reporter(conf: ReportSettings, report: PublicReport, public_url: str) -> None:
    """The update a reporter asked for. A failure to send is not a failure to close: the
    message stays in the outbox and the status page says the same."""
    msg = EmailMessage()
    msg["From"] = conf.reporter_email
    msg["To"] = str(report.reporter_email)
    msg["Subject"] = f"Your report {report.code}: {OUTCOME_WORDS.get(report.outcome or '')}"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"Thank you for reporting {report.host}.\n\nOutcome: "
        f"{OUTCOME_WORDS.get(report.outcome or '', report.outcome)}.\n"
        + (f"Why: {report.outcome_reason}\n" if report.outcome_reason else "")
        + f"\nFollow it at {public_url.rstrip('/')}/report/status?code={report.code}\n")
    write_outbox(conf, f"{report.code}-reporter-update.eml", msg)
    with contextlib.suppress(OSError, smtplib.SMTPException):
        send(conf, msg)


def sync_suspensions(db: Session, actor: str = "system", conf: ReportSettings | None = None,
                     public_url: str = "") -> int:
    """Follow the suspension desk: a proposal is adopted once an agency files a request
    naming its domain; an open report whose domain the registry suspended is closed as
    suspended. Returns the number of reports closed."""
    for proposal in db.scalars(select(SuspensionProposal).where(
            SuspensionProposal.status == ProposalStatus.proposed.value)):
        request_id = db.scalars(
            select(SuspensionItem.request_id).join(SuspensionRequest).where(
                SuspensionItem.domain == proposal.domain,
                SuspensionRequest.created_at >= proposal.created_at)).first()
        if request_id is not None:
            proposal.status = ProposalStatus.adopted.value
            proposal.request_id = request_id
            proposal.decided_at = _now()
            audit.record(db, actor, "proposal.adopted", proposal.domain,
                         {"proposal": proposal.id, "request": request_id})
    closed = 0
    for report, item in _suspended_reports(db):
        close(db, report, Outcome.suspended.value,
              f"the registry suspended {item.domain} (suspension request #{item.request_id})",
              actor, conf, public_url)
        closed += 1
    return closed


def _suspended_reports(db: Session) -> Sequence[tuple[PublicReport, SuspensionItem]]:
    """Open reports whose host is a suspended name or under one."""
    items = {i.domain: i for i in db.scalars(select(SuspensionItem).where(
        SuspensionItem.status == ItemStatus.suspended.value))}
    if not items:
        return []
    out = []
    for report in db.scalars(select(PublicReport).where(
            PublicReport.status != ReportStatus.closed.value)):
        labels = report.host.split(".")
        hit = next((items[d] for d in (".".join(labels[i:]) for i in range(len(labels)))
                    if d in items), None)
        if hit is not None:
            out.append((report, hit))
    return out


# ------------------------------------------------------------------ adoption by an agency

def adopt(db: Session, settings: Settings, lake: Lake | None, officer: str,
          user_id: int | None, proposal_id: int, legal_basis: str,
          urgency: str = "normal", action: str = "hold") -> SuspensionRequest:
    """An officer adopts a proposal: the suspension desk files a request for the domain on
    behalf of the officer's agency, with the reports as description and URLs; the proposal
    then names the request. The desk's own checks apply (zone, duplicates, legal basis)."""
    from bluelamp.act.cases.desk import CaseError, NewRequest, build_desk

    proposal = db.get(SuspensionProposal, proposal_id)
    if proposal is None:
        raise RoutingError(f"no proposal {proposal_id}")
    if proposal.status != ProposalStatus.proposed.value:
        raise RoutingError(f"proposal {proposal_id} is already {proposal.status}")
    desk = build_desk(db, settings, lake)
    agency = desk.agency_of(user_id)
    if agency is None:
        raise RoutingError("this account acts for no agency: an administrator links officers "
                           "to their agency")
    reports = reports_about(db, proposal.domain)
    try:
        request = desk.file(officer, agency, NewRequest(
            names=[proposal.domain], category=proposal.category, legal_basis=legal_basis,
            urgency=urgency, action=action, urls=[r.url for r in reports][:50],
            description=f"Adopted from proposal #{proposal.id}: {len(reports)} public "
            "report(s), " + ", ".join(r.code for r in reports[:20])))
    except CaseError as exc:
        raise RoutingError(str(exc)) from None
    proposal.status = ProposalStatus.adopted.value
    proposal.request_id = request.id
    proposal.decided_at = _now()
    proposal.decided_by = officer
    audit.record(db, officer, "proposal.adopted", proposal.domain,
                 {"proposal": proposal.id, "request": request.id, "agency": agency.name})
    return request


def reports_about(db: Session, domain: str) -> list[PublicReport]:
    """Reports whose host is `domain` or a name under it, oldest first."""
    return list(db.scalars(select(PublicReport).where(
        (PublicReport.host == domain) | PublicReport.host.like(f"%.{domain}"))
        .order_by(PublicReport.id)))


def recheck(db: Session, conf: ReportSettings, actor: str = "system",
            limit: int = 500, public_url: str = "") -> int:
    """Look up the hosts of routed reports again: a name that no longer exists (NXDOMAIN,
    not a timeout) closes its reports as taken down. Returns the number closed."""
    from bluelamp.act.reports.triage import resolves
    from bluelamp.domains import is_ip

    routed = list(db.scalars(select(PublicReport).where(
        PublicReport.status == ReportStatus.routed.value).order_by(PublicReport.routed_at)
        .limit(limit)))
    answers: dict[str, dict[str, object]] = {}
    closed = 0
    for report in routed:
        if is_ip(report.host):
            continue
        if report.host not in answers:
            answers[report.host] = resolves(report.host, conf)
        if answers[report.host].get("resolves") is False:
            close(db, report, Outcome.taken_down.value,
                  f"{report.host} no longer exists in the DNS (checked "
                  f"{_now():%Y-%m-%d %H:%M} UTC)", actor, conf, public_url)
            closed += 1
    return closed
