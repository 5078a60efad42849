"""The self-service health check: "is my IP, network or domain listed?" — public and
rate-limited, TLP:CLEAR events only, with advice per event type; a signed-in owner of the
resource (its organisation proved it owns it), or an analyst, sees up to TLP:AMBER.

(Named healthcheck, not health: /healthz is the service's own liveness probe.)"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bluelamp.act.reports import health
from bluelamp.store.models.accounts import Role
from bluelamp.web import orgs
from bluelamp.web.advice import advice_for
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow
from bluelamp.web.routers.reports import reports_state, too_many

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
SEES_ALL = frozenset({Role.admin, Role.analyst, Role.notifier})


def owns(db: Session, principal: Principal, query: health.Query) -> bool:
    """Whether the caller's organisation has proven it owns what is asked about."""
    if principal.org_id is None:
        return False
    scope = orgs.verified_scope(db, principal.org_id)
    if query.kind == "domain":
        return any(query.value == d or query.value.endswith("." + d) for d in scope.domains)
    asked = ipaddress.ip_network(query.value)
    return any(asked.version == net.version and asked.subnet_of(net)  # type: ignore[arg-type]
               for net in map(ipaddress.ip_network, scope.networks))


def answer(request: Request, db: Session, principal: Principal, text: str) -> dict[str, Any]:
    query = health.parse_query(text)
    full = principal.role in SEES_ALL or owns(db, principal, query)
    tlp = health.OWNER_TLP if full else health.PUBLIC_TLP
    settings = request.app.state.settings
    events = health.lookup(request.app.state.lake, query, tlp, settings.reports.lake_days)
    for event in events:
        advice = advice_for(event.get("classification_type"))
        event["advice"] = {"title": advice.title, "steps": list(advice.steps)}
    return {"query": query.value, "kind": query.kind, "listed": bool(events),
            "visibility": "owner (TLP:CLEAR to AMBER)" if full else "public (TLP:CLEAR)",
            "days": settings.reports.lake_days, "events": events}


@router.get("/check", response_class=HTMLResponse, include_in_schema=False)
def check_page(request: Request, db: Db, q: Annotated[str, Query(max_length=300)] = "",
               principal: Principal = allow("healthcheck:run")) -> Response:
    if not q.strip():
        return render(request, principal, "reports/check.html", result=None, q="")
    limited = too_many(request, reports_state(request).checks)
    if limited:
        return limited
    try:
        result = answer(request, db, principal, q)
    except health.QueryError as exc:
        return render(request, principal, "reports/check.html", result=None, q=q,
                      error=str(exc), status=422)
    return render(request, principal, "reports/check.html", result=result, q=q)


@router.get("/api/check", tags=["health check"])
def api_check(request: Request, db: Db, q: Annotated[str, Query(max_length=300)],
              principal: Principal = allow("healthcheck:run")) -> Any:
    """Is this IP address, network (up to /16 or IPv6 /32) or domain listed? Current events
    with advice; TLP:CLEAR only unless the caller owns the resource."""
    limited = too_many(request, reports_state(request).checks)
    if limited:
        return limited
    try:
        return answer(request, db, principal, q)
    except health.QueryError as exc:
        raise HTTPException(422, str(exc)) from None
