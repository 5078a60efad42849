"""Owner notices: notifiers review and send them, recipients acknowledge them through the
signed link or in their portal, and notifiers and analysts follow the clean-up."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify import compose, store, track
from bluelamp.act.notify.deliver import Outcome, deliver
from bluelamp.act.notify.stats import Stats, compute
from bluelamp.act.notify.units import unit_by_id
from bluelamp.errors import ConfigError
from bluelamp.settings import Settings
from bluelamp.store.models.notifications import Notice, NoticeStatus
from bluelamp.store.models.orgs import Organisation
from bluelamp.web import charts
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
STATUSES = [s.value for s in NoticeStatus]
PAGE = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _notice(db: Session, notice_id: int) -> Notice:
    notice = db.get(Notice, notice_id)
    if notice is None:
        raise HTTPException(404, f"no notice {notice_id}")
    return notice


def _own_notice(db: Session, principal: Principal, notice_id: int) -> Notice:
    notice = db.get(Notice, notice_id)
    # another organisation's notice, or one not sent yet, looks absent
    if (notice is None or notice.org_id is None or notice.org_id != principal.org_id
            or notice.status not in track.SENT_STATES):
        raise HTTPException(404, f"no notice {notice_id}")
    return notice


def _org_name(db: Session, notice: Notice) -> str:
    org = db.get(Organisation, notice.org_id) if notice.org_id else None
    return store.owner_name(notice, org.name if org else None)


def summary(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "owner": notice.owner, "org_id": notice.org_id,
            "region": notice.region, "unit": notice.unit_id, "status": notice.status,
            "subject": notice.subject, "recipient": notice.recipient,
            "events": len(notice.items), "hosts": len({i.host for i in notice.items}),
            "created_at": notice.created_at, "sent_at": notice.sent_at,
            "delivered_at": notice.delivered_at, "bounced_at": notice.bounced_at,
            "acknowledged_at": notice.acknowledged_at, "reviewed_by": notice.reviewed_by,
            "last_error": notice.last_error}


def detail(notice: Notice) -> dict[str, Any]:
    return {**summary(notice),
            "items": [{"event_id": i.event_id, "type": i.event_type, "host": i.host,
                       "first_seen": i.first_seen, "last_seen": i.last_seen,
                       "evidence": i.evidence, "feed": i.feed, "cleanup": i.cleanup,
                       "remediated_at": i.remediated_at} for i in notice.items],
            "attempts": [{"email": a.email, "at": a.at, "accepted": a.accepted,
                          "bounced": a.bounced, "code": a.code, "detail": a.detail}
                         for a in notice.attempts]}


def _list(db: Session, status: str | None, org_id: int | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id.desc()).limit(PAGE)
    if status:
        query = query.where(Notice.status == status)
    if org_id is not None:
        query = query.where(Notice.org_id == org_id, Notice.status.in_(track.SENT_STATES))
    return list(db.scalars(query))


def _send(db: Session, settings: Settings, notice: Notice, actor: str) -> Outcome:
    if notice.status == NoticeStatus.draft:
        store.approve(db, notice, actor)
    elif notice.status != NoticeStatus.approved:
        raise HTTPException(409, f"notice {notice.id} is {notice.status}")
    try:
        outcome = deliver(db, settings, notice, _now())
    except ConfigError as exc:
        db.rollback()
        raise HTTPException(409, str(exc)) from None
    db.commit()
    return outcome


# ---------------------------------------------------------------------- notifier pages

@router.get("/notices", response_class=HTMLResponse, include_in_schema=False)
def list_page(request: Request, db: Db, status: str = "", message: str = "",
              principal: Principal = allow("notices:manage")) -> HTMLResponse:
    notices = [summary(n) for n in _list(db, status or None)]
    return render(request, principal, "notify/list.html", notices=notices, current=status,
                  statuses=STATUSES, message=message)


@router.get("/notices/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_page(request: Request, db: Db,
               principal: Principal = allow("notices:stats")) -> HTMLResponse:
    stats = compute(db)
    return render(request, principal, "notify/stats.html", stats=stats.to_json(),
                  plots=_plots(stats))


def _plots(stats: Stats) -> list[tuple[str, Any]]:
    def rates(groups: dict[str, Any]) -> list[tuple[str, float]]:
        return sorted(((k, 100 * g.rate) for k, g in groups.items() if g.rate is not None),
                      key=lambda p: -p[1])

    def medians(groups: dict[str, Any]) -> list[tuple[str, float]]:
        return sorted(((k, g.median_days) for k, g in groups.items()
                       if g.median_days is not None), key=lambda p: -p[1])

    return [("Clean-up rate by region (%)", charts.bar_chart(rates(stats.by_region))),
            ("Clean-up rate by event type (%)", charts.bar_chart(rates(stats.by_type))),
            ("Median days to clean-up by region", charts.bar_chart(medians(stats.by_region))),
            ("Median days to clean-up by event type", charts.bar_chart(medians(stats.by_type))),
            ("Notices by status", charts.bar_chart(
                [(k, float(v)) for k, v in stats.funnel.items() if v]))]


@router.get("/notices/ack", response_class=HTMLResponse, include_in_schema=False)
def ack_page(request: Request, db: Db, n: Annotated[int, Query()],
             sig: Annotated[str, Query(max_length=128)],
             principal: Principal = allow("notices:ack")) -> HTMLResponse:
    """Shows a button, and changes nothing: mail scanners follow links in messages."""
    notice = _signed(request, db, n, sig)
    return render(request, principal, "notify/ack.html", notice=summary(notice), n=n,
                  sig=sig, done=notice.acknowledged_at is not None)


@router.post("/notices/ack", response_class=HTMLResponse, include_in_schema=False)
def ack_form(request: Request, db: Db, n: Annotated[int, Form()],
             sig: Annotated[str, Form(max_length=128)],
             principal: Principal = allow("notices:ack")) -> HTMLResponse:
    notice = _signed(request, db, n, sig)
    if notice.status not in track.SENT_STATES:
        raise HTTPException(409, "this notice has not been sent")
    track.acknowledge(db, notice, _now(), "link")
    db.commit()
    return render(request, principal, "notify/ack.html", notice=summary(notice), n=n,
                  sig=sig, done=True)


def _signed(request: Request, db: Session, notice_id: int, sig: str) -> Notice:
    notice = db.get(Notice, notice_id)
    try:
        key = compose.link_key(request.app.state.settings)
    except ConfigError:
        raise HTTPException(404, "acknowledgement links are not configured") from None
    if notice is None or not compose.check_ack(key, notice, sig):
        raise HTTPException(404, "this acknowledgement link is not valid")
    return notice


@router.get("/notices/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
def notice_page(request: Request, db: Db, notice_id: int, message: str = "",
                error: str = "",
                principal: Principal = allow("notices:manage")) -> HTMLResponse:
    notice = _notice(db, notice_id)
    return _notice_view(request, db, principal, notice, manage=True, message=message,
                        error=error)


def _notice_view(request: Request, db: Session, principal: Principal, notice: Notice, *,
                 manage: bool, message: str = "", error: str = "") -> HTMLResponse:
    settings: Settings = request.app.state.settings
    unit = unit_by_id(settings.notify, notice.unit_id)
    return render(request, principal, "notify/notice.html", notice=detail(notice),
                  sections=compose.sections(notice), unit=unit, manage=manage,
                  owner_name=_org_name(db, notice), message=message, error=error)


@router.post("/notices/{notice_id}/send", include_in_schema=False)
def send_form(request: Request, db: Db, notice_id: int,
              principal: Principal = allow("notices:manage")) -> Response:
    notice = _notice(db, notice_id)
    try:
        outcome = _send(db, request.app.state.settings, notice, principal.name)
    except (HTTPException, ValueError) as exc:
        reason = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return RedirectResponse(f"/notices/{notice_id}?error={reason}", status_code=303)
    text = f"{outcome.status} {outcome.recipient or ''} {outcome.detail}".strip()
    return RedirectResponse(f"/notices/{notice_id}?message={text}", status_code=303)


@router.post("/notices/{notice_id}/discard", include_in_schema=False)
def discard_form(db: Db, notice_id: int,
                 principal: Principal = allow("notices:manage")) -> Response:
    notice = _notice(db, notice_id)
    try:
        store.discard(db, notice, principal.name)
    except ValueError as exc:
        return RedirectResponse(f"/notices/{notice_id}?error={exc}", status_code=303)
    db.commit()
    return RedirectResponse(f"/notices?message=discarded notice {notice_id}", status_code=303)


# ---------------------------------------------------------------------- recipients

@router.get("/my/notices", response_class=HTMLResponse, include_in_schema=False)
def my_list_page(request: Request, db: Db,
                 principal: Principal = allow("notices:own")) -> HTMLResponse:
    notices = [summary(n) for n in _list(db, None, principal.org_id or -1)]
    return render(request, principal, "notify/my_list.html", notices=notices)


@router.get("/my/notices/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
def my_notice_page(request: Request, db: Db, notice_id: int, message: str = "",
                   principal: Principal = allow("notices:own")) -> HTMLResponse:
    notice = _own_notice(db, principal, notice_id)
    return _notice_view(request, db, principal, notice, manage=False, message=message)


@router.post("/my/notices/{notice_id}/ack", include_in_schema=False)
def my_ack_form(db: Db, notice_id: int,
                principal: Principal = allow("notices:own")) -> Response:
    notice = _own_notice(db, principal, notice_id)
    track.acknowledge(db, notice, _now(), principal.name)
    db.commit()
    return RedirectResponse(f"/my/notices/{notice_id}?message=thank you, acknowledged",
                            status_code=303)


# ---------------------------------------------------------------------- JSON API

@router.get("/api/notices", tags=["notices"])
def api_list(db: Db, status: str | None = None,
             principal: Principal = allow("notices:manage")) -> list[dict[str, Any]]:
    """The newest notices (200), optionally of one status."""
    return [summary(n) for n in _list(db, status)]


@router.get("/api/notices/stats", tags=["notices"])
def api_stats(db: Db, principal: Principal = allow("notices:stats")) -> dict[str, Any]:
    """Clean-up rate and median days to clean-up per region and event type; the funnel."""
    return compute(db).to_json()


@router.get("/api/notices/{notice_id}", tags=["notices"])
def api_notice(db: Db, notice_id: int,
               principal: Principal = allow("notices:manage")) -> dict[str, Any]:
    """One notice with its hosts, clean-up outcome and delivery attempts."""
    return detail(_notice(db, notice_id))


@router.post("/api/notices/{notice_id}/send", tags=["notices"])
def api_send(request: Request, db: Db, notice_id: int,
             principal: Principal = allow("notices:manage")) -> dict[str, Any]:
    """Approve a draft (or retry an approved notice) and send it now."""
    notice = _notice(db, notice_id)
    return vars(_send(db, request.app.state.settings, notice, principal.name))


@router.get("/api/my/notices", tags=["organisation"])
def api_my_notices(db: Db, principal: Principal = allow("notices:own")) -> list[dict[str, Any]]:
    """Notices sent to one's organisation, with their hosts and clean-up outcome."""
    return [detail(n) for n in _list(db, None, principal.org_id or -1)]
