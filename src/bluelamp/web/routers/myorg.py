"""A subscriber's own organisation: claim networks, ASNs and domains; prove domains by DNS;
and "threats on my systems" with advice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bluelamp.store.models.orgs import Organisation, OrgDomain
from bluelamp.web import lakeview, orgs
from bluelamp.web.advice import advice_for
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
Kind = Literal["network", "asn", "domain"]


def _org(db: Session, principal: Principal) -> Organisation:
    org = db.get(Organisation, principal.org_id) if principal.org_id else None
    if org is None:
        raise HTTPException(409, "this account belongs to no organisation")
    return org


def _org_view(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "sector": org.sector, "region": org.region,
            "networks": [{"id": n.id, "cidr": n.cidr, "status": n.status} for n in org.networks],
            "asns": [{"id": a.id, "asn": a.asn, "status": a.status} for a in org.asns],
            "domains": [{"id": d.id, "domain": d.domain, "status": d.status,
                         "txt_name": orgs.challenge_name(d.domain), "txt_value": d.challenge}
                        for d in org.domains]}


def _own_domain(db: Session, principal: Principal, domain_id: int) -> OrgDomain:
    row = db.get(OrgDomain, domain_id)
    if row is None or row.org_id != principal.org_id:  # another org's claim looks absent
        raise HTTPException(404, f"no domain claim {domain_id}")
    return row


@router.get("/my/org", response_class=HTMLResponse, include_in_schema=False)
def org_page(request: Request, db: Db, message: str = "", error: str = "",
             principal: Principal = allow("org:manage-own")) -> HTMLResponse:
    org = _org(db, principal)
    return render(request, principal, "my_org.html", org=_org_view(org), message=message,
                  error=error)


@router.post("/my/org/claims", include_in_schema=False)
def claim_form(db: Db, kind: Annotated[Kind, Form()],
               value: Annotated[str, Form(max_length=253)],
               principal: Principal = allow("org:manage-own")) -> Response:
    try:
        orgs.claim(db, principal.name, _org(db, principal), kind, value)
        db.commit()
        return RedirectResponse(f"/my/org?message=registered {kind} {value}", status_code=303)
    except orgs.ClaimError as exc:
        db.rollback()
        return RedirectResponse(f"/my/org?error={exc}", status_code=303)


@router.post("/my/org/domains/{domain_id}/check", include_in_schema=False)
def check_form(request: Request, db: Db, domain_id: int,
               principal: Principal = allow("org:manage-own")) -> Response:
    row = _own_domain(db, principal, domain_id)
    result = orgs.check_domain(db, request.app.state.settings, principal.name, row)
    db.commit()
    key = "message" if result.ok else "error"
    return RedirectResponse(f"/my/org?{key}={row.domain}: {result.reason}", status_code=303)


class ClaimIn(BaseModel):
    kind: Kind
    value: str = Field(max_length=253, description="CIDR network, AS number or domain name.")


@router.get("/api/my/org", tags=["organisation"])
def api_org(db: Db, principal: Principal = allow("org:manage-own")) -> dict[str, Any]:
    """One's organisation and its claims (with the DNS challenge of each domain)."""
    return _org_view(_org(db, principal))


@router.post("/api/my/org/claims", tags=["organisation"], status_code=201)
def api_claim(db: Db, body: ClaimIn,
              principal: Principal = allow("org:manage-own")) -> dict[str, Any]:
    """Claim a network, ASN or domain (pending until proven)."""
    try:
        row = orgs.claim(db, principal.name, _org(db, principal), body.kind, body.value)
    except orgs.ClaimError as exc:
        raise HTTPException(422, str(exc)) from None
    db.commit()
    return {"id": row.id, "kind": body.kind, "status": row.status}


@router.post("/api/my/org/domains/{domain_id}/check", tags=["organisation"])
def api_check(request: Request, db: Db, domain_id: int,
              principal: Principal = allow("org:manage-own")) -> dict[str, Any]:
    """Look up `_bluelamp-challenge.<domain>` TXT; verified when it holds the token."""
    row = _own_domain(db, principal, domain_id)
    result = orgs.check_domain(db, request.app.state.settings, principal.name, row)
    db.commit()
    return {"domain": row.domain, "verified": result.ok, "reason": result.reason}


def _threats(request: Request, db: Session, principal: Principal,
             days: int) -> list[dict[str, Any]]:
    scope = orgs.verified_scope(db, _org(db, principal).id)
    return lakeview.events_in_scope(request.app.state.lake, scope.networks, scope.asns,
                                    scope.domains, days)


@router.get("/my/threats", response_class=HTMLResponse, include_in_schema=False)
def threats_page(request: Request, db: Db, days: int = 30,
                 principal: Principal = allow("threats:own")) -> HTMLResponse:
    events = _threats(request, db, principal, max(1, min(days, 365)))
    for event in events:
        event["advice"] = advice_for(event.get("classification_type"))
    return render(request, principal, "my_threats.html", events=events, days=days,
                  org=_org(db, principal))


@router.get("/api/my/events", tags=["organisation"])
def api_threats(request: Request, db: Db, days: int = 30,
                principal: Principal = allow("threats:own")) -> list[dict[str, Any]]:
    """Events on one's own verified networks, ASNs and domains (TLP permitting)."""
    events = _threats(request, db, principal, max(1, min(days, 365)))
    for event in events:
        advice = advice_for(event.get("classification_type"))
        event["advice"] = {"title": advice.title, "steps": list(advice.steps)}
    return events
