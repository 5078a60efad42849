"""Feed subscriptions of a subscriber's organisation, and their channels: REST pull (JSON,
CSV, NDJSON, STIX), the SSE live stream, the daily CSV report and the webhook dead-letter
queue."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bluelamp.act.feeds import pull, reports, subscriptions, webhooks
from bluelamp.act.feeds.live import FeedHub, sse_stream
from bluelamp.act.share import stix
from bluelamp.schema import dumps
from bluelamp.store.models.subscriptions import Subscription, WebhookDelivery
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
PERM = "feeds:subscribe"


class SubscriptionIn(BaseModel):
    name: str = Field(max_length=100, description="A name unique within the organisation.")
    include_networks: bool = Field(True, description="Events on the org's proven networks.")
    include_asns: bool = Field(True, description="Events on the org's proven ASNs.")
    include_domains: bool = Field(True, description="Events on the org's proven domains.")
    event_types: list[str] = Field(default_factory=list, max_length=100,
                                   description="ENISA types; empty for all.")
    min_confidence: float = Field(0.0, ge=0, le=1)
    tlp_clearance: Literal["clear", "green", "amber"] = Field(
        "amber", description="Highest TLP level delivered.")
    format: Literal["json", "csv", "ndjson", "stix"] = "json"
    channel: Literal["rest", "sse", "webhook", "taxii", "report"] = "rest"
    webhook_url: str | None = Field(None, max_length=500)

    def spec(self) -> subscriptions.Spec:
        return subscriptions.Spec(**self.model_dump())


def _org_id(principal: Principal) -> int:
    if principal.org_id is None:
        raise HTTPException(409, "this account belongs to no organisation")
    return principal.org_id


def own(db: Session, principal: Principal, sub_id: int) -> Subscription:
    """One of the principal's organisation's subscriptions; any other looks absent."""
    row = db.get(Subscription, sub_id)
    if row is None or row.org_id != _org_id(principal):
        raise HTTPException(404, f"no subscription {sub_id}")
    return row


def _private(request: Request) -> bool:
    return bool(request.app.state.settings.sharing.webhook_allow_private)


def _hub(request: Request) -> FeedHub:
    hub: FeedHub = request.app.state.feed_hub
    return hub


@router.get("/api/subscriptions", tags=["feeds"])
def list_subscriptions(db: Db, principal: Principal = allow(PERM)) -> list[dict[str, Any]]:
    """The organisation's subscriptions."""
    return [subscriptions.public(r) for r in subscriptions.of_org(db, _org_id(principal))]


@router.post("/api/subscriptions", tags=["feeds"], status_code=201)
def create_subscription(request: Request, db: Db, body: SubscriptionIn,
                        principal: Principal = allow(PERM)) -> dict[str, Any]:
    """Subscribe; a webhook subscription's signing secret is returned here, once."""
    from bluelamp.store.models.orgs import Organisation

    org = db.get(Organisation, _org_id(principal))
    assert org is not None
    try:
        row = subscriptions.create(db, principal.name, org, body.spec(), _private(request))
        db.commit()
    except subscriptions.SubscriptionError as exc:
        db.rollback()
        raise HTTPException(422, str(exc)) from None
    except Exception as exc:  # unique (org, name)
        db.rollback()
        raise HTTPException(409, f"cannot create: {type(exc).__name__}") from None
    _hub(request).invalidate()
    return {**subscriptions.public(row), "webhook_secret": row.webhook_secret}


@router.put("/api/subscriptions/{sub_id}", tags=["feeds"])
def update_subscription(request: Request, db: Db, sub_id: int, body: SubscriptionIn,
                        principal: Principal = allow(PERM)) -> dict[str, Any]:
    row = own(db, principal, sub_id)
    try:
        subscriptions.update(db, principal.name, row, body.spec(), _private(request))
        db.commit()
    except subscriptions.SubscriptionError as exc:
        db.rollback()
        raise HTTPException(422, str(exc)) from None
    _hub(request).invalidate()
    return subscriptions.public(row)


@router.delete("/api/subscriptions/{sub_id}", tags=["feeds"])
def cancel_subscription(request: Request, db: Db, sub_id: int,
                        principal: Principal = allow(PERM)) -> dict[str, Any]:
    """Stop a subscription (kept, inactive, for the record)."""
    row = own(db, principal, sub_id)
    row.active = False
    db.commit()
    _hub(request).invalidate()
    return subscriptions.public(row)


def _since(request: Request, since: dt.datetime | None) -> dt.datetime:
    if since is None:
        hours = request.app.state.settings.sharing.pull_default_hours
        return dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    return since if since.tzinfo else since.replace(tzinfo=dt.UTC)


@router.get("/api/subscriptions/{sub_id}/events", tags=["feeds"])
def pull_events(
    request: Request, db: Db, sub_id: int,
    since: Annotated[dt.datetime | None, Query(description="From this time on (UTC); "
                                                "default: sharing.pull_default_hours ago.")] = None,
    format: Annotated[Literal["json", "csv", "ndjson", "stix"] | None, Query(
        description="Default: the subscription's format.")] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="`next` of the previous "
                                                                     "page.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=pull.MAX_PAGE)] = None,
    principal: Principal = allow(PERM),
) -> Response:
    """One page of the subscription's events, oldest first; `next` (JSON) or the `Link`
    header (CSV, NDJSON) gives the following page."""
    row = own(db, principal, sub_id)
    flt = subscriptions.to_filter(db, row)
    events = pull.matched(request.app.state.lake, flt, _since(request, since))
    try:
        page = pull.page(events, cursor, limit or request.app.state.settings.sharing.page_size)
    except pull.CursorError as exc:
        raise HTTPException(422, str(exc)) from None
    fmt = format or row.format
    headers = {}
    if page.next_cursor:
        url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    if fmt == "csv":
        return Response(pull.to_csv(page.events), media_type="text/csv", headers=headers)
    if fmt == "ndjson":
        return Response(pull.to_ndjson(page.events), media_type="application/x-ndjson",
                        headers=headers)
    if fmt == "stix":
        bundle = stix.bundle(page.events, row.tlp_clearance)
        return Response(json.dumps(bundle), media_type=stix.STIX_MEDIA_TYPE, headers=headers)
    body = {"events": pull.as_json_rows(page.events), "next": page.next_cursor}
    return Response(dumps(body), media_type="application/json", headers=headers)


@router.get("/api/subscriptions/{sub_id}/stream", tags=["feeds"])
async def stream(request: Request, sub_id: int,
                 principal: Principal = allow(PERM)) -> StreamingResponse:
    """Server-Sent Events: each `events` message carries the new matched events (JSON)."""
    with request.app.state.sessions() as db:
        own(db, principal, sub_id)
    return StreamingResponse(sse_stream(_hub(request), sub_id, request.is_disconnected),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/subscriptions/{sub_id}/report.csv", tags=["feeds"])
def daily_report(request: Request, db: Db, sub_id: int,
                 day: Annotated[dt.date | None, Query(description="UTC day; default "
                                                      "yesterday.")] = None,
                 principal: Principal = allow(PERM)) -> Response:
    """The daily CSV report: one line per event of that day on the organisation's systems."""
    row = own(db, principal, sub_id)
    day = day or (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date()
    text = reports.daily_csv(request.app.state.lake, subscriptions.to_filter(db, row), day)
    name = f"bluelamp-{row.id}-{day.isoformat()}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _delivery(d: WebhookDelivery) -> dict[str, Any]:
    return {"id": d.id, "status": d.status, "attempts": d.attempts, "events": d.events,
            "last_error": d.last_error, "created_at": d.created_at.isoformat(),
            "next_attempt_at": d.next_attempt_at.isoformat()}


@router.get("/api/subscriptions/{sub_id}/dead-letters", tags=["feeds"])
def dead_letters(db: Db, sub_id: int, principal: Principal = allow(PERM)) -> list[dict[str, Any]]:
    """Webhook deliveries that failed every attempt."""
    own(db, principal, sub_id)
    return [_delivery(d) for d in webhooks.dead_letters(db, sub_id)]


@router.post("/api/subscriptions/{sub_id}/dead-letters/{delivery_id}/replay", tags=["feeds"])
def replay(request: Request, db: Db, sub_id: int, delivery_id: int,
           principal: Principal = allow(PERM)) -> dict[str, Any]:
    """Queue a dead delivery again (e.g. after fixing the receiving endpoint)."""
    own(db, principal, sub_id)
    row = db.get(WebhookDelivery, delivery_id)
    if row is None or row.subscription_id != sub_id or row.status != "dead":
        raise HTTPException(404, f"no dead delivery {delivery_id}")
    webhooks.replay(row)
    db.commit()
    _hub(request).poke()
    return _delivery(row)


# ------------------------------------------------------------------------------ pages

@router.get("/my/subscriptions", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, db: Db, message: str = "", error: str = "",
         principal: Principal = allow(PERM)) -> HTMLResponse:
    from bluelamp import taxonomy

    rows = [subscriptions.public(r) for r in subscriptions.of_org(db, _org_id(principal))]
    return render(request, principal, "sharing/subscriptions.html", subscriptions=rows,
                  types=sorted(taxonomy.CLASS_OF_TYPE), message=message, error=error)


@router.post("/my/subscriptions", include_in_schema=False)
def create_form(request: Request, db: Db, name: Annotated[str, Form(max_length=100)],
                channel: Annotated[str, Form(max_length=20)] = "rest",
                format: Annotated[str, Form(max_length=20)] = "json",
                tlp_clearance: Annotated[str, Form(max_length=20)] = "amber",
                min_confidence: Annotated[float, Form(ge=0, le=1)] = 0.0,
                event_types: Annotated[list[str] | None, Form()] = None,
                webhook_url: Annotated[str | None, Form(max_length=500)] = None,
                principal: Principal = allow(PERM)) -> Response:
    from bluelamp.store.models.orgs import Organisation

    org = db.get(Organisation, _org_id(principal))
    assert org is not None
    spec = subscriptions.Spec(name=name, channel=channel, format=format,
                              tlp_clearance=tlp_clearance, min_confidence=min_confidence,
                              event_types=event_types or [], webhook_url=webhook_url or None)
    try:
        row = subscriptions.create(db, principal.name, org, spec, _private(request))
        db.commit()
    except subscriptions.SubscriptionError as exc:
        db.rollback()
        return RedirectResponse(f"/my/subscriptions?error={exc}", status_code=303)
    _hub(request).invalidate()
    note = f"subscribed: {row.name}"
    if row.webhook_secret:
        note += f" — webhook secret (shown once): {row.webhook_secret}"
    return RedirectResponse(f"/my/subscriptions?message={note}", status_code=303)
