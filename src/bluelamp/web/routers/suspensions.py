"""The suspension desk's JSON API: file requests (single names or a bulk CSV) with evidence,
the review queue, approve (four-eyes for bulk) / reject, reinstate, complaints and their
answers, and the yearly statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bluelamp.act.cases import evidence, stats
from bluelamp.act.cases.bulk import parse_names
from bluelamp.act.cases.desk import NewRequest
from bluelamp.errors import InputError
from bluelamp.store import audit
from bluelamp.store.models.suspensions import (
    Action,
    Category,
    Evidence,
    Urgency,
)
from bluelamp.web import security
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.policy import allow
from bluelamp.web.routers import suspension_common as common

router = APIRouter(tags=["suspensions"])
Db = Annotated[Session, Depends(get_db)]


class RequestIn(BaseModel):
    domains: list[str] = Field(min_length=1, max_length=1000,
                               description="Names to suspend (bulk: upload a CSV instead).")
    category: Category
    legal_basis: str = Field(min_length=1, max_length=500,
                             description="The law or order the request relies on.")
    urgency: Urgency = Urgency.normal
    action: Action = Field(Action.hold, description="hold: the name stops resolving; "
                               "redirect: it points at the suspension landing page.")
    description: str = Field("", max_length=5000)
    urls: list[str] = Field(default_factory=list, max_length=100,
                            description="URLs showing the crime (kept as evidence).")
    registrant_emails: dict[str, str] = Field(
        default_factory=dict, max_length=1000,
        description="Registrant e-mail per name, where known: the suspension notice is "
        "e-mailed there (when SMTP is configured) as well as stored.")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    decision: Literal["maintain", "withdraw"]
    text: str = Field("", max_length=5000)


class ComplaintIn(BaseModel):
    domain: str = Field(min_length=1, max_length=253)
    contact: str = Field(min_length=3, max_length=254, description="How to reach you.")
    text: str = Field(min_length=1, max_length=5000)


@router.post("/api/suspensions", status_code=201)
def api_file(request: Request, db: Db, body: RequestIn,
             principal: Principal = allow("suspensions:request")) -> dict[str, Any]:
    """File a suspension request for one or a few names; validated and enriched at once."""
    d = common.desk(request, db)
    with common.http_errors(db):
        row = d.file(principal.name, common.own_agency(d, principal), NewRequest(
            body.domains, body.category.value, body.legal_basis, body.urgency.value,
            body.action.value,
            body.description, body.urls, bulk=len(body.domains) > 1,
            registrant_emails=body.registrant_emails))
        db.commit()
    return common.request_view(row, d.now())


@router.post("/api/suspensions/bulk", status_code=201)
def api_file_bulk(request: Request, db: Db, file: Annotated[UploadFile, File()],
                  category: Annotated[Category, Form()],
                  legal_basis: Annotated[str, Form(min_length=1, max_length=500)],
                  urgency: Annotated[Urgency, Form()] = Urgency.normal,
                  action: Annotated[Action, Form()] = Action.hold,
                  description: Annotated[str, Form(max_length=5000)] = "",
                  principal: Principal = allow("suspensions:request")) -> dict[str, Any]:
    """File a bulk request from a CSV (one name per line, or a `domain` column). Bad lines
    are reported with their line number; the good names are filed. Needs two reviewers."""
    d = common.desk(request, db)
    source = file.filename or "upload.csv"
    try:
        parsed = parse_names(iter(file.file), source, d.settings.max_bulk_names)
    except InputError as exc:
        raise HTTPException(413, str(exc)) from None
    if not parsed.names:
        raise HTTPException(422, {"message": "no valid names in the file",
                                  "errors": [e.to_json() for e in parsed.errors[:1000]]})
    with common.http_errors(db):
        row = d.file(principal.name, common.own_agency(d, principal), NewRequest(
            parsed.names, category.value, legal_basis, urgency.value, action.value,
            description, (), True,
            parsed.lines, parsed.merged))
        db.commit()
    view = common.request_view(row, d.now(), items=False)
    view["errors"] = [e.to_json() for e in parsed.errors[:1000]]
    view["error_count"] = len(parsed.errors)
    return view


@router.post("/api/suspensions/{request_id}/evidence", status_code=201)
def api_evidence(request: Request, db: Db, request_id: int,
                 file: Annotated[UploadFile, File()],
                 kind: Annotated[Literal["file", "screenshot"], Form()] = "file",
                 principal: Principal = allow("suspensions:request")) -> dict[str, Any]:
    """Attach an evidence file (stored once by SHA-256; size and type checked)."""
    d = common.desk(request, db)
    row = common.visible_request(d, principal, request_id)  # officers: their agency's
    name = (file.filename or "evidence")[:255]
    with common.http_errors(db):
        stored = evidence.store(d.settings.evidence_dir, _chunks(file), name,
                                d.settings.evidence_max_bytes, d.settings.evidence_types)
        if not any(e.sha256 == stored.sha256 for e in row.evidence):
            db.add(Evidence(request_id=row.id, sha256=stored.sha256, filename=name,
                            media_type=stored.media_type, size=stored.size, kind=kind,
                            added_by=principal.name))
        audit.record(db, principal.name, "suspension.evidence-added", f"request:{row.id}",
                     {"sha256": stored.sha256, "filename": name, "size": stored.size})
        db.commit()
    return {"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}


def _chunks(file: UploadFile) -> Iterator[bytes]:
    while chunk := file.file.read(65536):
        yield chunk


@router.get("/api/suspensions/{request_id}/evidence/{sha256}", response_class=FileResponse)
def api_evidence_file(request: Request, db: Db, request_id: int, sha256: str,
                      principal: Principal = allow("suspensions:read")) -> FileResponse:
    """Download one evidence file of a case one may see."""
    d = common.desk(request, db)
    row = common.visible_request(d, principal, request_id)
    found = next((e for e in row.evidence if e.sha256 == sha256), None)
    if found is None:
        raise HTTPException(404, "no such evidence in this request")
    return FileResponse(evidence.path_of(d.settings.evidence_dir, sha256),
                        media_type=found.media_type, filename=found.filename)


@router.get("/api/suspensions")
def api_queue(request: Request, db: Db, status: str | None = None,
              sort: Literal["due", "created", "urgency"] = "due",
              principal: Principal = allow("suspensions:read")) -> list[dict[str, Any]]:
    """Requests one may see (officers: their agency's), with SLA timers; sortable."""
    d = common.desk(request, db)
    now = d.now()
    return [common.request_view(r, now, items=False)
            for r in common.queue(d, principal, status, sort)]


@router.get("/api/suspensions/complaints")
def api_complaints(request: Request, db: Db, status: str | None = None,
                   principal: Principal = allow("suspensions:read")) -> list[dict[str, Any]]:
    """Complaints (officers: about their agency's suspensions), earliest deadline first."""
    d = common.desk(request, db)
    return [common.complaint_view(c) for c in common.complaints(d, principal, status)]


@router.get("/api/suspensions/stats")
def api_stats(db: Db, year: int | None = None,
              principal: Principal = allow("suspensions:public")) -> dict[str, Any]:
    """Yearly statistics: by agency and category, refused and reversed, time to suspension."""
    chosen = year or (stats.years(db) or [dt.datetime.now(dt.UTC).year])[0]
    return stats.yearly(db, chosen)


@router.get("/api/suspensions/{request_id}")
def api_case(request: Request, db: Db, request_id: int,
             principal: Principal = allow("suspensions:read")) -> dict[str, Any]:
    """One request with every name: status, context, undo record, notice, complaints."""
    d = common.desk(request, db)
    return common.request_view(common.visible_request(d, principal, request_id), d.now())


@router.post("/api/suspensions/{request_id}/approve")
def api_approve(request: Request, db: Db, request_id: int,
                principal: Principal = allow("suspensions:review")) -> dict[str, Any]:
    """Approve: a single request executes now; a bulk one after a second reviewer approves."""
    d = common.desk(request, db)
    row = common.visible_request(d, principal, request_id)
    with common.http_errors(db):
        d.approve(principal.name, row)
        db.commit()
    return common.request_view(row, d.now())


@router.post("/api/suspensions/{request_id}/reject")
def api_reject(request: Request, db: Db, request_id: int, body: ReasonIn,
               principal: Principal = allow("suspensions:review")) -> dict[str, Any]:
    """Reject with a reason (shown to the agency)."""
    d = common.desk(request, db)
    row = common.visible_request(d, principal, request_id)
    with common.http_errors(db):
        d.reject(principal.name, row, body.reason)
        db.commit()
    return common.request_view(row, d.now(), items=False)


@router.post("/api/suspensions/items/{item_id}/reinstate")
def api_reinstate(request: Request, db: Db, item_id: int, body: ReasonIn,
                  principal: Principal = allow("suspensions:review")) -> dict[str, Any]:
    """Lift a suspension: the zone gets back exactly the RRsets of the undo record."""
    d = common.desk(request, db)
    item = common.visible_item(d, principal, item_id)
    with common.http_errors(db):
        seen = d.reinstate(principal.name, item, body.reason)
        db.commit()
    return {**common.item_view(item), "verified": seen}


@router.post("/api/suspensions/complaints/{complaint_id}/answer")
def api_answer(request: Request, db: Db, complaint_id: int, body: AnswerIn,
               principal: Principal = allow("suspensions:answer")) -> dict[str, Any]:
    """The requesting agency maintains or withdraws the suspension."""
    d = common.desk(request, db)
    complaint = common.visible_complaint(d, principal, complaint_id)
    with common.http_errors(db):
        d.answer(principal.name, complaint, body.decision, body.text)
        db.commit()
    return common.complaint_view(complaint)


@router.post("/api/complaints", status_code=201)
def api_complain(request: Request, db: Db, body: ComplaintIn,
                 principal: Principal = allow("suspensions:public")) -> dict[str, Any]:
    """Complain about a suspension (anyone; routed to the requesting agency)."""
    rate_limit(request)
    d = common.desk(request, db)
    with common.http_errors(db):
        complaint = d.complain(body.contact, body.domain, body.text)
        db.commit()
    return {"id": complaint.id, "domain": complaint.item.domain,
            "deadline": complaint.deadline.isoformat(), "status": complaint.status}


def rate_limit(request: Request) -> None:
    """Complaints are open to anyone: a token bucket per client address."""
    bucket = getattr(request.app.state, "complaints_by_ip", None)
    if bucket is None:
        bucket = request.app.state.complaints_by_ip = security.TokenBucket(
            request.app.state.settings.web.login_per_minute)
    if not bucket.take(request.client.host if request.client else "?"):
        raise HTTPException(429, "too many complaints from this address; try again later")

