"""Public reporting of risky sites: the form and JSON API (no account), the status page by
tracking code, and the triage team's pages (clusters, decisions, metrics, proposals).

Anti-abuse at intake, cheapest first: a per-address and a global rate limit (429), then the
honeypot field, then the proof-of-work, then size and URL checks. The request body is capped
by the app's body limit before any of this runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.reports import intake, metrics, routing, rules, triage
from bluelamp.act.reports.lookalike import LookalikeChecker
from bluelamp.act.reports.pow import ProofOfWork
from bluelamp.act.reports.writer import GroupWriter
from bluelamp.attribute import Attributor
from bluelamp.settings import Settings
from bluelamp.store import audit
from bluelamp.store.models.reports import (
    Outcome,
    ProposalStatus,
    PublicReport,
    ReportStatus,
    SuspensionProposal,
)
from bluelamp.web import charts
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow
from bluelamp.web.security import TokenBucket

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
_LOCK = threading.Lock()


@dataclass
class ReportsState:
    """Per-app state of the reporting service (created on first use: no import-time state)."""

    settings: Settings
    pow: ProofOfWork = field(init=False)
    by_ip: TokenBucket = field(init=False)
    total: TokenBucket = field(init=False)
    checks: TokenBucket = field(init=False)
    status: TokenBucket = field(init=False)
    checker: LookalikeChecker = field(init=False)
    writer: GroupWriter = field(init=False)
    sessions: Any = None
    _attributor: Attributor | None = None

    def __post_init__(self) -> None:
        conf = self.settings.reports
        secret = (self.settings.web.secret_key or secrets.token_hex(32)).encode()
        self.pow = ProofOfWork(secret, conf.pow_bits, conf.pow_ttl_seconds)
        self.by_ip = TokenBucket(conf.submit_per_minute)
        self.total = TokenBucket(conf.submit_total_per_minute)
        self.checks = TokenBucket(conf.check_per_minute)
        self.status = TokenBucket(conf.status_per_minute)
        self.checker = LookalikeChecker.from_settings(self.settings)
        self.writer = GroupWriter(self.sessions)

    def attributor(self) -> Attributor:
        if self._attributor is None:
            self._attributor = Attributor.from_settings(self.settings)
        return self._attributor


def reports_state(request: Request) -> ReportsState:
    state = getattr(request.app.state, "reports", None)
    if state is None:
        with _LOCK:
            state = getattr(request.app.state, "reports", None)
            if state is None:
                state = ReportsState(request.app.state.settings,
                                     sessions=request.app.state.sessions)
                request.app.state.reports = state
    return state


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(request: Request, bucket: TokenBucket) -> JSONResponse | None:
    if bucket.take(client_key(request)):
        return None
    return JSONResponse({"detail": "too many requests: wait a minute and try again"},
                        status_code=429, headers={"Retry-After": "60"})


# ------------------------------------------------------------------ intake

class ReportIn(BaseModel):
    url: str = Field(max_length=4096, description="The risky site's URL (defanged is fine).")
    category: str | None = Field(None, max_length=40, description="One of: "
                                 + ", ".join(rules.CATEGORIES))
    description: str = Field("", max_length=20_000, description="What happened (optional).")
    email: str | None = Field(None, max_length=254, description="For updates (optional).")
    website: str | None = Field(None, max_length=200, description="Leave empty (honeypot).")
    pow_challenge: str | None = Field(None, max_length=200)
    pow_nonce: str | None = Field(None, max_length=40)


class ReportOut(BaseModel):
    code: str
    status: str
    category: str | None
    status_url: str


def _refusal(request: Request, state: ReportsState, body: ReportIn) -> tuple[int, str] | None:
    """Why a submission is refused before it is stored (status, message), or None."""
    if not state.by_ip.take(client_key(request)) or not state.total.take("*"):
        return 429, "too many reports right now: wait a minute and try again"
    problem = _not_a_person(state, body)
    return (422, problem) if problem else None


def _not_a_person(state: ReportsState, body: ReportIn) -> str | None:
    if body.website:
        return "the form was not filled in by a person"
    return state.pow.check(body.pow_challenge, body.pow_nonce)


def _accept(request: Request, db: Session, state: ReportsState, body: ReportIn,
            channel: str, tasks: BackgroundTasks) -> PublicReport:
    report = intake.create_report(db, state.settings.reports, intake.NewReport(
        url=body.url, channel=channel, category=body.category or None,
        description=body.description, email=body.email), state.checker)
    db.commit()
    _after_accept(request, state, report, tasks)
    return report


def _after_accept(request: Request, state: ReportsState, report: PublicReport,
                  tasks: BackgroundTasks) -> None:
    if state.settings.reports.triage_on_submit:
        tasks.add_task(_triage_one, request.app.state.sessions, state, report.id,
                       request.app.state.lake)


def _triage_one(sessions: Any, state: ReportsState, report_id: int, lake: Any) -> None:
    with sessions() as db:
        report = db.get(PublicReport, report_id)
        if report is not None and report.status == ReportStatus.received.value:
            triage.Triage(state.settings.reports, lake, state.checker).check([report])
            db.commit()


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_form(request: Request, principal: Principal = allow("reports:submit")) -> HTMLResponse:
    return _form(request, principal, {})


def _form(request: Request, principal: Principal, values: dict[str, Any],
          error: str | None = None, status: int = 200) -> HTMLResponse:
    state = reports_state(request)
    return render(request, principal, "reports/form.html", status=status, values=values,
                  error=error, categories=rules.CATEGORIES, challenge=state.pow.challenge(),
                  bits=state.pow.bits)


@router.post("/report", include_in_schema=False)
def report_submit(request: Request, db: Db, tasks: BackgroundTasks,
                  url: Annotated[str, Form(max_length=4096)] = "",
                  category: Annotated[str, Form(max_length=40)] = "",
                  description: Annotated[str, Form(max_length=20_000)] = "",
                  email: Annotated[str, Form(max_length=254)] = "",
                  website: Annotated[str, Form(max_length=200)] = "",
                  pow_challenge: Annotated[str, Form(max_length=200)] = "",
                  pow_nonce: Annotated[str, Form(max_length=40)] = "",
                  principal: Principal = allow("reports:submit")) -> Response:
    state = reports_state(request)
    body = ReportIn(url=url, category=category or None, description=description,
                    email=email or None, website=website, pow_challenge=pow_challenge,
                    pow_nonce=pow_nonce)
    values = body.model_dump(exclude={"website", "pow_challenge", "pow_nonce"})
    refused = _refusal(request, state, body)
    if refused:
        return _form(request, principal, values, refused[1], refused[0])
    try:
        report = _accept(request, db, state, body, "web", tasks)
    except intake.ReportError as exc:
        db.rollback()
        return _form(request, principal, values, str(exc), exc.status)
    return RedirectResponse(f"/report/status?code={report.code}&new=1", status_code=303)


@router.get("/api/reports/challenge", tags=["public reports"])
def api_challenge(request: Request,
                  principal: Principal = allow("reports:submit")) -> dict[str, Any]:
    """A proof-of-work challenge for one submission, and the CSRF token to send with it (as
    header `X-CSRF-Token`, with the cookie this response sets). Find a nonce such that
    SHA-256("<challenge>:<nonce>") starts with `bits` zero bits."""
    state = reports_state(request)
    return {"challenge": state.pow.challenge(), "bits": state.pow.bits,
            "csrf_token": request.cookies.get("bl_csrf") or request.state.anon_csrf}


BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ReportIn.model_json_schema()}}}}


@router.post("/api/reports", tags=["public reports"], status_code=201, response_model=ReportOut,
             openapi_extra=BODY_DOC,
             responses={429: {"description": "Rate-limited: try again later."}})
async def api_submit(request: Request, tasks: BackgroundTasks,
                     principal: Principal = allow("reports:submit")) -> Any:
    """Report a risky site. No account needed; keep the returned tracking code to follow
    the report. (The body is read only after the rate limits pass, so that refusing a
    flood costs little; the 201 comes once the report is committed.)"""
    state = reports_state(request)
    if not state.by_ip.take(client_key(request)) or not state.total.take("*"):
        return JSONResponse({"detail": "too many reports right now: wait a minute and try "
                             "again"}, status_code=429, headers={"Retry-After": "60"})
    try:
        body = ReportIn.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"detail": json.loads(exc.json(include_url=False))},
                            status_code=422)
    refused = _not_a_person(state, body)
    if refused:
        return JSONResponse({"detail": refused}, status_code=422)
    try:
        report = intake.build_report(state.settings.reports, intake.NewReport(
            url=body.url, channel="api", category=body.category or None,
            description=body.description, email=body.email), state.checker)
    except intake.ReportError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    try:
        report = await asyncio.wrap_future(state.writer.submit(report))
    except Exception:  # the database refused: nothing was stored, say so
        return JSONResponse({"detail": "could not store the report: try again"},
                            status_code=503, headers={"Retry-After": "10"})
    _after_accept(request, state, report, tasks)
    out = ReportOut(code=report.code, status=report.status, category=report.category,
                    status_url=f"/report/status?code={report.code}")
    return JSONResponse(out.model_dump(), status_code=201)


# ------------------------------------------------------------------ status by tracking code

STATUS_TEXT = {
    "received": "Received: waiting for the automatic checks.",
    "checked": "Checked: our team is looking at it.",
    "routed": "Passed to those who can act on it.",
    "closed": "Closed.",
}
OUTCOME_TEXT = {"taken-down": "The site was taken down.",
                "suspended": "The domain name was suspended by the registry.",
                "no-action": "No action was taken."}


PASSED_TO = {"xarf-hosting": "the hosting provider", "xarf-registrar": "the registrar",
             "proposal": "the registry (suspension proposed)"}


def public_view(report: PublicReport) -> dict[str, Any]:
    """What anyone holding the tracking code may see (no reporter details, no checks)."""
    def t(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    bodies = sorted({PASSED_TO.get(a.kind) or a.detail.removeprefix("referred to ")
                     for a in report.actions})
    return {"code": report.code, "url": report.url, "defanged": defanged(report.url),
            "status": report.status, "status_text": STATUS_TEXT.get(report.status, ""),
            "outcome": report.outcome, "outcome_text": OUTCOME_TEXT.get(report.outcome or ""),
            "outcome_reason": report.outcome_reason, "category": report.category,
            "routed_to": bodies, "received_at": t(report.created_at),
            "checked_at": t(report.checked_at), "verified_at": t(report.verified_at),
            "routed_at": t(report.routed_at), "closed_at": t(report.closed_at)}


def defanged(url: str) -> str:
    """Shown, never linked: a URL people cannot click by accident."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.replace('tt', 'xx')}://{host.replace('.', '[.]')}{slash}{path}"


@router.get("/report/status", response_class=HTMLResponse, include_in_schema=False)
def status_page(request: Request, db: Db, code: Annotated[str, Query(max_length=40)] = "",
                new: bool = False, principal: Principal = allow("reports:status")) -> Response:
    if not code:
        return render(request, principal, "reports/status.html", report=None, code="")
    limited = too_many(request, reports_state(request).status)
    if limited:
        return limited
    report = intake.find_report(db, code)
    if report is None:
        return render(request, principal, "reports/status.html", report=None, code=code,
                      error="No report has that tracking code.", status=404)
    return render(request, principal, "reports/status.html", report=public_view(report),
                  code=report.code, new=new)


@router.get("/api/reports/status", tags=["public reports"])
def api_status(request: Request, db: Db, code: Annotated[str, Query(max_length=40)],
               principal: Principal = allow("reports:status")) -> Any:
    """Where a report stands, by its tracking code: status, outcome and the reason."""
    limited = too_many(request, reports_state(request).status)
    if limited:
        return limited
    report = intake.find_report(db, code)
    if report is None:
        raise HTTPException(404, "no report has that tracking code")
    return public_view(report)


# ------------------------------------------------------------------ triage team

def team_view(report: PublicReport) -> dict[str, Any]:
    view = public_view(report)
    view.update(id=report.id, host=report.host, registered_domain=report.registered_domain,
                campaign=report.campaign, channel=report.channel,
                claimed_category=report.claimed_category, description=report.description,
                reporter_email=report.reporter_email, checks=triage.checks_of(report),
                actions=[{"kind": a.kind, "recipient": a.recipient, "detail": a.detail,
                          "path": a.path, "sent_at": a.sent_at.isoformat() if a.sent_at
                          else None} for a in report.actions])
    return view


def clusters(reports: list[PublicReport]) -> list[dict[str, Any]]:
    """Campaign → registered domain → host → URL, biggest campaign first."""
    tree: dict[str, dict[str, dict[str, dict[str, list[PublicReport]]]]] = {}
    for r in reports:
        (tree.setdefault(r.campaign or "unclustered", {})
             .setdefault(r.registered_domain or r.host, {})
             .setdefault(r.host, {}).setdefault(r.url, []).append(r))
    out = []
    for campaign, domains in tree.items():
        items: list[dict[str, Any]] = [{"domain": d, "hosts": [{"host": h, "urls": [
            {"url": u, "reports": [team_view(r) for r in rs]} for u, rs in urls.items()]}
            for h, urls in hosts.items()]} for d, hosts in domains.items()]
        count = sum(len(u["reports"]) for d in items for h in d["hosts"] for u in h["urls"])
        out.append({"campaign": campaign, "domains": items, "count": count})
    return sorted(out, key=lambda c: -c["count"])


def _open_reports(db: Session, limit: int = 500) -> list[PublicReport]:
    return list(db.scalars(select(PublicReport).where(
        PublicReport.status != ReportStatus.closed.value).order_by(PublicReport.id.desc())
        .limit(limit)))


@router.get("/reports/triage", response_class=HTMLResponse, include_in_schema=False)
def triage_page(request: Request, db: Db, message: str | None = None, error: str | None = None,
                principal: Principal = allow("reports:triage")) -> HTMLResponse:
    return render(request, principal, "reports/triage.html",
                  clusters=clusters(_open_reports(db)), message=message, error=error,
                  categories=rules.CATEGORIES, outcomes=[o.value for o in Outcome])


def run_triage(request: Request, db: Session, actor: str) -> dict[str, int]:
    state = reports_state(request)
    checked = triage.run(db, state.settings.reports, request.app.state.lake,
                         checker=state.checker)
    closed = routing.sync_suspensions(db, actor, state.settings.reports,
                                      state.settings.web.public_url)
    db.commit()
    return {"checked": checked, "closed_by_suspension": closed}


@router.post("/reports/triage/run", include_in_schema=False)
def triage_run_form(request: Request, db: Db,
                    principal: Principal = allow("reports:triage")) -> Response:
    done = run_triage(request, db, principal.name)
    return RedirectResponse("/reports/triage?message="
                            + quote(f"checked {done['checked']} report(s)"), status_code=303)


@router.post("/api/reports/triage/run", tags=["public reports: triage"])
def api_triage_run(request: Request, db: Db,
                   principal: Principal = allow("reports:triage")) -> dict[str, int]:
    """Run the automatic checks on reports waiting for them, re-cluster campaigns, and
    close reports whose domain the registry suspended."""
    return run_triage(request, db, principal.name)


class Decision(BaseModel):
    codes: list[str] = Field(min_length=1, max_length=500)
    action: str = Field(description="verify | route | close | categorise")
    outcome: str | None = Field(None, description="For close: taken-down, suspended, no-action.")
    reason: str = Field("", max_length=2000, description="Shown to the reporter (close).")
    category: str | None = Field(None, description="For categorise: the category to set.")


def decide(request: Request, db: Session, reports: list[PublicReport], d: Decision,
           actor: str) -> None:
    state = reports_state(request)
    router_ = routing.Router(db, state.settings, None, actor, routing.load_registrar_contacts(
        state.settings.reports.registrar_contacts))
    for report in reports:
        if d.action == "verify":
            routing.verify(db, report, actor)
        elif d.action == "route":
            if router_.attributor is None:
                router_.attributor = state.attributor()
            router_.route(report)
        elif d.action == "close":
            routing.close(db, report, d.outcome or "", d.reason, actor,
                          state.settings.reports, state.settings.web.public_url)
        elif d.action == "categorise" and d.category in rules.CATEGORIES:
            audit.record(db, actor, "report.categorised", report.code,
                         {"from": report.category, "to": d.category})
            report.category = d.category
        else:
            raise routing.RoutingError(f"unknown action {d.action!r} or category {d.category!r}")


def _by_codes(db: Session, codes: list[str]) -> list[PublicReport]:
    wanted = {c for c in (intake.canonical_code(x) for x in codes) if c}
    return list(db.scalars(select(PublicReport).where(PublicReport.code.in_(wanted))))


@router.post("/api/reports/decide", tags=["public reports: triage"])
def api_decide(request: Request, db: Db, body: Decision,
               principal: Principal = allow("reports:triage")) -> list[dict[str, Any]]:
    """Verify, route, close (with outcome and reason) or re-categorise reports."""
    reports = _by_codes(db, body.codes)
    if len(reports) != len(set(body.codes)):
        raise HTTPException(404, "some tracking codes are unknown")
    try:
        decide(request, db, reports, body, principal.name)
    except routing.RoutingError as exc:
        db.rollback()
        raise HTTPException(409, str(exc)) from None
    db.commit()
    return [team_view(r) for r in reports]


@router.post("/reports/decide", include_in_schema=False)
def decide_form(request: Request, db: Db, domain: Annotated[str, Form(max_length=253)] = "",
                code: Annotated[str, Form(max_length=40)] = "",
                action: Annotated[str, Form(max_length=20)] = "",
                outcome: Annotated[str, Form(max_length=20)] = "",
                reason: Annotated[str, Form(max_length=2000)] = "",
                category: Annotated[str, Form(max_length=40)] = "",
                principal: Principal = allow("reports:triage")) -> Response:
    """A decision on one report (code) or on every open report of a domain."""
    if code:
        reports = _by_codes(db, [code])
    else:
        reports = [r for r in _open_reports(db, 5000)
                   if domain and (r.registered_domain or r.host) == domain]
    if not reports:
        return RedirectResponse("/reports/triage?error=" + quote("nothing to decide on"),
                                status_code=303)
    try:
        decide(request, db, reports, Decision(codes=[r.code for r in reports], action=action,
                                              outcome=outcome or None, reason=reason,
                                              category=category or None), principal.name)
    except (routing.RoutingError, ValueError) as exc:
        db.rollback()
        return RedirectResponse("/reports/triage?error=" + quote(str(exc)), status_code=303)
    db.commit()
    return RedirectResponse("/reports/triage?message="
                            + quote(f"{action}: {len(reports)} report(s)"), status_code=303)


@router.get("/api/reports", tags=["public reports: triage"])
def api_list(db: Db, status: Annotated[str | None, Query(max_length=20)] = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 200,
             principal: Principal = allow("reports:triage")) -> list[dict[str, Any]]:
    """Reports, newest first, with their checks and actions."""
    query = select(PublicReport).order_by(PublicReport.id.desc()).limit(limit)
    if status:
        query = query.where(PublicReport.status == status)
    return [team_view(r) for r in db.scalars(query)]


# ------------------------------------------------------------------ metrics, proposals

Days = Annotated[int, Query(ge=1, le=365)]


@router.get("/reports/metrics", response_class=HTMLResponse, include_in_schema=False)
def metrics_page(request: Request, db: Db, days: Days = 30,
                 principal: Principal = allow("reports:triage")) -> HTMLResponse:
    m = metrics.compute(db, days)
    plots = [
        ("Reports a day", charts.line_chart(m["reports_per_day"], "reports")),
        ("Share routed (by day of report)", charts.line_chart(m["share_routed_per_day"],
                                                              "share")),
        ("Hours to verification (median, by day of report)",
         charts.line_chart(m["hours_to_verification_per_day"], "hours")),
        ("Hours to takedown or suspension (median, by day of report)",
         charts.line_chart(m["hours_to_takedown_per_day"], "hours")),
        ("Reports by category", charts.bar_chart([(k, float(v)) for k, v in m["by_category"]])),
        ("Reports by channel", charts.bar_chart([(k, float(v)) for k, v in m["by_channel"]])),
    ]
    return render(request, principal, "reports/metrics.html", m=m, plots=plots, days=days)


@router.get("/api/reports/metrics", tags=["public reports: triage"])
def api_metrics(db: Db, days: Days = 30,
                principal: Principal = allow("reports:triage")) -> dict[str, Any]:
    """Reports a day, time to verification and takedown, share routed ([label, value])."""
    return metrics.compute(db, days)


def _proposals(db: Session) -> list[dict[str, Any]]:
    rows = db.scalars(select(SuspensionProposal).order_by(SuspensionProposal.id.desc())
                      .limit(500))
    out = []
    for p in rows:
        count = len(list(db.scalars(select(PublicReport.id).where(
            (PublicReport.host == p.domain) | PublicReport.host.like(f"%.{p.domain}")))))
        out.append({"id": p.id, "domain": p.domain, "category": p.category,
                    "status": p.status, "created_at": p.created_at.isoformat(),
                    "summary": p.summary, "request_id": p.request_id, "reports": count})
    return out


@router.get("/reports/proposals", response_class=HTMLResponse, include_in_schema=False)
def proposals_page(request: Request, db: Db, message: str | None = None,
                   error: str | None = None,
                   principal: Principal = allow("reports:proposals")) -> HTMLResponse:
    return render(request, principal, "reports/proposals.html", proposals=_proposals(db),
                  proposed=ProposalStatus.proposed.value, message=message, error=error,
                  can_adopt=principal.role.value in ("officer", "admin"))


@router.get("/api/reports/proposals", tags=["public reports: triage"])
def api_proposals(db: Db,
                  principal: Principal = allow("reports:proposals")) -> list[dict[str, Any]]:
    """Suspensions proposed from public reports (domains in the registry's own zone); an
    agency adopts one by filing a suspension request for the domain."""
    return _proposals(db)


class Adoption(BaseModel):
    proposal_id: int
    legal_basis: str = Field(min_length=1, max_length=500, description="The law or order "
                             "under which the agency asks for the suspension.")
    urgency: str = Field("normal", description="immediate, high, normal or low.")
    action: str = Field("hold", description="hold (stops resolving) or redirect.")


def _adopt(request: Request, db: Session, principal: Principal, a: Adoption) -> int:
    state = reports_state(request)
    filed = routing.adopt(db, state.settings, request.app.state.lake, principal.name,
                          principal.user.id if principal.user else None, a.proposal_id,
                          a.legal_basis, a.urgency, a.action)
    db.commit()
    return filed.id


@router.post("/api/reports/proposals/adopt", tags=["public reports: triage"])
def api_adopt(request: Request, db: Db, body: Adoption,
              principal: Principal = allow("suspensions:request")) -> dict[str, Any]:
    """Adopt a proposed suspension: the suspension desk files a request for the domain on
    behalf of the officer's agency (then reviewed as any other request)."""
    try:
        request_id = _adopt(request, db, principal, body)
    except routing.RoutingError as exc:
        db.rollback()
        raise HTTPException(409, str(exc)) from None
    return {"proposal_id": body.proposal_id, "request_id": request_id}


@router.post("/reports/proposals/adopt", include_in_schema=False)
def adopt_form(request: Request, db: Db, proposal_id: Annotated[int, Form()],
               legal_basis: Annotated[str, Form(max_length=500)] = "",
               urgency: Annotated[str, Form(max_length=20)] = "normal",
               principal: Principal = allow("suspensions:request")) -> Response:
    try:
        request_id = _adopt(request, db, principal, Adoption(
            proposal_id=proposal_id, legal_basis=legal_basis or " ", urgency=urgency))
    except (routing.RoutingError, ValueError) as exc:
        db.rollback()
        return RedirectResponse("/reports/proposals?error=" + quote(str(exc)),
                                status_code=303)
    return RedirectResponse("/reports/proposals?message="
                            + quote(f"filed suspension request {request_id}"), status_code=303)
