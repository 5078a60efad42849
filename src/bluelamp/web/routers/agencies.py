"""Law-enforcement agencies and the officer accounts that act for them (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.store.models.accounts import Role, User
from bluelamp.store.models.suspensions import Agency, AgencyOfficer
from bluelamp.web.auth import Principal, get_db
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
