"""Law-enforcement agencies and the officer accounts that act for them (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.cases.desk import CaseError
from bluelamp.store.models.accounts import Role, User
from bluelamp.store.models.suspensions import Agency, AgencyOfficer
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow
from bluelamp.web.routers import suspension_common as common

router = APIRouter(tags=["agencies"])
Db = Annotated[Session, Depends(get_db)]


class AgencyIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    contact_email: str | None = Field(None, max_length=254,
                                      description="Where complaints are routed.")


class OfficerIn(BaseModel):
    email: str = Field(max_length=254, description="An existing account with role officer.")


def _view(db: Session, agency: Agency) -> dict[str, Any]:
    officers = db.scalars(select(User.email).join(
        AgencyOfficer, AgencyOfficer.user_id == User.id).where(
        AgencyOfficer.agency_id == agency.id).order_by(User.email))
    return {"id": agency.id, "name": agency.name, "contact_email": agency.contact_email,
            "officers": list(officers)}


@router.get("/api/agencies")
def api_agencies(db: Db, principal: Principal = allow("agencies:admin")) -> list[dict[str, Any]]:
    """Every agency with its officers."""
    return [_view(db, a) for a in db.scalars(select(Agency).order_by(Agency.name))]


@router.post("/api/agencies", status_code=201)
def api_create_agency(request: Request, db: Db, body: AgencyIn,
                      principal: Principal = allow("agencies:admin")) -> dict[str, Any]:
    """Create an agency."""
    d = common.desk(request, db)
    with common.http_errors(db):
        agency = d.create_agency(principal.name, body.name, body.contact_email)
        db.commit()
    return _view(db, agency)


@router.post("/api/agencies/{agency_id}/officers")
def api_add_officer(request: Request, db: Db, agency_id: int, body: OfficerIn,
                    principal: Principal = allow("agencies:admin")) -> dict[str, Any]:
    """Attach an officer account to the agency (an officer acts for one agency)."""
    agency = db.get(Agency, agency_id)
    if agency is None:
        raise HTTPException(404, f"no agency {agency_id}")
    user = db.scalar(select(User).where(User.email == body.email.lower()))
    if user is None or user.role != Role.officer.value:
        raise HTTPException(422, f"{body.email}: no officer account with that e-mail")
    common.desk(request, db).add_officer(principal.name, agency, user.id, user.email)
    db.commit()
    return _view(db, agency)


# ----------------------------------------------------------------------------- pages

@router.get("/admin/agencies", response_class=HTMLResponse, include_in_schema=False)
def agencies_page(request: Request, db: Db, message: str = "", error: str = "",
                  principal: Principal = allow("agencies:admin")) -> HTMLResponse:
    rows = [_view(db, a) for a in db.scalars(select(Agency).order_by(Agency.name))]
    officers = list(db.scalars(select(User.email).where(User.role == Role.officer.value)
                               .order_by(User.email)))
    return render(request, principal, "suspensions/agencies.html", agencies=rows,
                  officers=officers, message=message, error=error)


@router.post("/admin/agencies", include_in_schema=False)
def create_agency_form(request: Request, db: Db,
                       name: Annotated[str, Form(min_length=2, max_length=200)],
                       contact_email: Annotated[str, Form(max_length=254)] = "",
                       principal: Principal = allow("agencies:admin")) -> Response:
    try:
        common.desk(request, db).create_agency(principal.name, name, contact_email or None)
        db.commit()
    except CaseError as exc:
        db.rollback()
        return RedirectResponse(f"/admin/agencies?error={exc}", status_code=303)
    return RedirectResponse(f"/admin/agencies?message=created {name}", status_code=303)


@router.post("/admin/agencies/{agency_id}/officers", include_in_schema=False)
def add_officer_form(request: Request, db: Db, agency_id: int,
                     email: Annotated[str, Form(max_length=254)],
                     principal: Principal = allow("agencies:admin")) -> Response:
    try:
        api_add_officer(request, db, agency_id, OfficerIn(email=email), principal)
    except HTTPException as exc:
        return RedirectResponse(f"/admin/agencies?error={exc.detail}", status_code=303)
    return RedirectResponse(f"/admin/agencies?message=attached {email}", status_code=303)
