"""Administration: organisations and claim approval, users and roles, the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.errors import BluelampError
from bluelamp.store import audit
from bluelamp.store.models.accounts import Role, User
from bluelamp.store.models.orgs import Organisation, OrgAsn, OrgNetwork, Status
from bluelamp.web import accounts, orgs
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]


def _pending(db: Session) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in db.scalars(select(OrgNetwork).where(OrgNetwork.status == Status.pending.value)):
        out.append({"kind": "network", "id": n.id, "value": n.cidr, "org": n.org.name})
    for a in db.scalars(select(OrgAsn).where(OrgAsn.status == Status.pending.value)):
        out.append({"kind": "asn", "id": a.id, "value": f"AS{a.asn}", "org": a.org.name})
    return out


@router.get("/admin/orgs", response_class=HTMLResponse, include_in_schema=False)
def orgs_page(request: Request, db: Db, message: str = "", error: str = "",
              principal: Principal = allow("orgs:admin")) -> HTMLResponse:
    all_orgs = list(db.scalars(select(Organisation).order_by(Organisation.name)))
    return render(request, principal, "admin_orgs.html", orgs=all_orgs, pending=_pending(db),
                  message=message, error=error)


@router.post("/admin/orgs", include_in_schema=False)
def create_org(db: Db, name: Annotated[str, Form(max_length=200)],
               sector: Annotated[str, Form(max_length=100)] = "",
               region: Annotated[str, Form(max_length=100)] = "",
               principal: Principal = allow("orgs:admin")) -> Response:
    try:
        orgs.create_org(db, principal.name, name, sector, region)
        db.commit()
        return RedirectResponse(f"/admin/orgs?message=created {name}", status_code=303)
    except orgs.ClaimError as exc:
        db.rollback()
        return RedirectResponse(f"/admin/orgs?error={exc}", status_code=303)


@router.post("/admin/claims/{kind}/{claim_id}", include_in_schema=False)
def decide_form(db: Db, kind: Literal["network", "asn"], claim_id: int,
                decision: Annotated[Literal["approve", "reject"], Form()],
                principal: Principal = allow("orgs:admin")) -> Response:
    try:
        orgs.decide(db, principal.name, kind, claim_id, decision == "approve")
    except orgs.ClaimError as exc:
        raise HTTPException(404, str(exc)) from None
    db.commit()
    return RedirectResponse(f"/admin/orgs?message={decision}d {kind} {claim_id}",
                            status_code=303)


@router.post("/api/admin/claims/{kind}/{claim_id}", tags=["admin"])
def api_decide(db: Db, kind: Literal["network", "asn"], claim_id: int, approve: bool = True,
               principal: Principal = allow("orgs:admin")) -> dict[str, Any]:
    """Approve (or, with approve=false, reject) a network or ASN claim."""
    try:
        orgs.decide(db, principal.name, kind, claim_id, approve)
    except orgs.ClaimError as exc:
        raise HTTPException(404, str(exc)) from None
    db.commit()
    return {"kind": kind, "id": claim_id, "approved": approve}


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, db: Db, message: str = "", error: str = "",
               principal: Principal = allow("users:admin")) -> HTMLResponse:
    users = list(db.scalars(select(User).order_by(User.email)))
    return render(request, principal, "admin_users.html", users=users,
                  roles=[r.value for r in Role if r is not Role.public], message=message,
                  error=error)


@router.post("/admin/users/{user_id}", include_in_schema=False)
def change_user(db: Db, user_id: int, role: Annotated[str, Form(max_length=20)],
                active: Annotated[bool, Form()] = False,
                principal: Principal = allow("users:admin")) -> Response:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    if user.id == (principal.user.id if principal.user else None):
        return RedirectResponse("/admin/users?error=change your own account from the CLI",
                                status_code=303)
    try:
        if role != user.role:
            accounts.set_role(db, principal.name, user, Role(role))
        if active != user.active:
            accounts.set_active(db, principal.name, user, active)
    except (ValueError, BluelampError) as exc:
        db.rollback()
        return RedirectResponse(f"/admin/users?error={exc}", status_code=303)
    db.commit()
    return RedirectResponse(f"/admin/users?message=updated {user.email}", status_code=303)


def _entries(db: Session, limit: int) -> list[dict[str, Any]]:
    return [{"id": e.id, "ts": e.ts.isoformat(), "actor": e.actor, "action": e.action,
             "subject": e.subject, "details": e.details, "hash": e.hash}
            for e in audit.entries(db, limit)]


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, db: Db, principal: Principal = allow("audit:read")
               ) -> HTMLResponse:
    problems = audit.verify(db)
    return render(request, principal, "admin_audit.html", entries=_entries(db, 200),
                  problems=[str(p) for p in problems])


@router.get("/api/admin/audit", tags=["admin"])
def api_audit(db: Db, limit: int = 100,
              principal: Principal = allow("audit:read")) -> dict[str, Any]:
    """The newest audit entries and the result of verifying the whole chain."""
    return {"entries": _entries(db, max(1, min(limit, 1000))),
            "problems": [str(p) for p in audit.verify(db)]}
