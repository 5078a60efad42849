"""Sharing for analysts: mark findings and events as warning indicators for law enforcement
(page and API), and download a STIX 2.1 bundle of current indicators."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bluelamp.act.feeds import tlp
from bluelamp.act.share import le, stix
from bluelamp.store.models.subscriptions import LawEnforcementShare
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]


class ShareIn(BaseModel):
    kind: Literal["finding", "event"]
    id: str = Field(max_length=200, description="Finding or event id.")
    note: str = Field(max_length=le.MAX_NOTE, description="Why law enforcement should look.")


def _public(row: LawEnforcementShare) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "record_id": row.record_id, "note": row.note,
            "created_by": row.created_by, "created_at": row.created_at.isoformat()}


@router.post("/api/share/law-enforcement", tags=["sharing"], status_code=201)
def mark(request: Request, db: Db, body: ShareIn,
         principal: Principal = allow("share:le-mark")) -> dict[str, Any]:
    """Mark a finding or event as a warning indicator for law enforcement (TLP ≤ amber)."""
    try:
        row = le.mark(db, request.app.state.lake, principal.name, body.kind, body.id, body.note)
    except le.ShareError as exc:
        db.rollback()
        raise HTTPException(422, str(exc)) from None
    db.commit()
    return _public(row)


@router.get("/api/share/law-enforcement", tags=["sharing"])
def marked(db: Db, principal: Principal = allow("share:le-mark")) -> list[dict[str, Any]]:
    """Everything shared with law enforcement so far."""
    return [_public(r) for r in le.shares(db)]


@router.get("/api/share/law-enforcement/bundle", tags=["sharing"])
def law_enforcement_bundle(request: Request, db: Db,
                           principal: Principal = allow("share:le-read")) -> Response:
    """The warning indicators as one STIX 2.1 bundle, each with its note and evidence (the
    same content as the law-enforcement TAXII collection)."""
    shared = le.shared(db, request.app.state.lake)
    return Response(json.dumps(stix.bundle(shared.events, tlp.MAX_SHARED, shared.notes)),
                    media_type=stix.STIX_MEDIA_TYPE)


@router.get("/api/share/stix", tags=["sharing"])
def stix_bundle(request: Request,
                days: Annotated[int, Query(ge=1, le=365, description="Events of the last "
                                           "days.")] = 7,
                level: Annotated[Literal["clear", "green", "amber"], Query(
                    alias="tlp", description="Highest TLP level included.")] = "amber",
                principal: Principal = allow("share:export")) -> Response:
    """A STIX 2.1 bundle of current indicators (TLP-gated)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    events = request.app.state.lake.read("event", since=since)
    return Response(json.dumps(stix.bundle(events, tlp.clearance(level))),
                    media_type=stix.STIX_MEDIA_TYPE)


@router.get("/share/law-enforcement", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, db: Db, message: str = "", error: str = "", kind: str = "finding",
         record: str = "", principal: Principal = allow("share:le-mark")) -> HTMLResponse:
    return render(request, principal, "sharing/law_enforcement.html",
                  shares=[_public(r) for r in le.shares(db)], message=message, error=error,
                  kind=kind, record=record)


@router.post("/share/law-enforcement", include_in_schema=False)
def mark_form(request: Request, db: Db, kind: Annotated[str, Form(max_length=20)],
              record_id: Annotated[str, Form(max_length=200)],
              note: Annotated[str, Form(max_length=le.MAX_NOTE)],
              principal: Principal = allow("share:le-mark")) -> Response:
    try:
        le.mark(db, request.app.state.lake, principal.name, kind, record_id, note)
        db.commit()
    except le.ShareError as exc:
        db.rollback()
        return RedirectResponse(f"/share/law-enforcement?error={exc}", status_code=303)
    return RedirectResponse(f"/share/law-enforcement?message=shared {kind} {record_id}",
                            status_code=303)
