"""Server-rendered pages of the suspension desk: the queue, the request form, a case, the
public landing page of a suspended name (with a complaint form) and the yearly report."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.cases import evidence, stats
from bluelamp.act.cases.bulk import parse_names
from bluelamp.act.cases.desk import CaseError, NewRequest
from bluelamp.errors import InputError
from bluelamp.store import audit
from bluelamp.store.models.suspensions import (
    Action,
    Category,
    Evidence,
    ItemStatus,
    SuspensionItem,
    Urgency,
)
from bluelamp.web import charts
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow
from bluelamp.web.routers import suspension_common as common
from bluelamp.web.routers.suspensions import rate_limit

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
Text = Annotated[str, Form(max_length=5000)]


def _back(path: str, key: str, text: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{key}={text[:300]}", status_code=303)


@router.get("/suspensions", response_class=HTMLResponse, include_in_schema=False)
def queue_page(request: Request, db: Db, status: str | None = None, sort: str = "due",
               message: str = "", error: str = "",
               principal: Principal = allow("suspensions:read")) -> HTMLResponse:
    d = common.desk(request, db)
    now = d.now()
    rows = [common.request_view(r, now, items=False)
            for r in common.queue(d, principal, status or None, sort)]
    open_complaints = [common.complaint_view(c) for c in common.complaints(d, principal, "open")]
    return render(request, principal, "suspensions/queue.html", rows=rows, sort=sort,
                  state=status or "", complaints=open_complaints, message=message,
                  error=error)


@router.get("/suspensions/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, error: str = "",
             principal: Principal = allow("suspensions:request")) -> HTMLResponse:
    return render(request, principal, "suspensions/new.html", error=error,
                  categories=[c.value for c in Category], urgencies=[u.value for u in Urgency],
                  actions=[a.value for a in Action])


@router.post("/suspensions/new", include_in_schema=False)
def new_form(request: Request, db: Db, category: Annotated[str, Form()],
             legal_basis: Annotated[str, Form(max_length=500)],
             urgency: Annotated[str, Form()] = "normal", action: Annotated[str, Form()] = "hold",
             domains: Annotated[str, Form(max_length=100_000)] = "", description: Text = "",
             urls: Text = "", csv: Annotated[UploadFile | None, File()] = None,
             evidence_file: Annotated[UploadFile | None, File()] = None,
             principal: Principal = allow("suspensions:request")) -> Response:
    d = common.desk(request, db)
    try:
        if csv is not None and csv.filename:
            parsed = parse_names(iter(csv.file), csv.filename, d.settings.max_bulk_names)
        else:
            parsed = parse_names(io.BytesIO(domains.encode()), "form",
                                 d.settings.max_bulk_names)
    except InputError as exc:
        return _back("/suspensions/new", "error", str(exc))
    if not parsed.names:
        return _back("/suspensions/new", "error", "no valid names: " + "; ".join(
            str(e) for e in parsed.errors[:5]))
    try:
        row = d.file(principal.name, common.own_agency(d, principal), NewRequest(
            parsed.names, category, legal_basis, urgency, action, description,
            [u.strip() for u in urls.splitlines() if u.strip()],
            bulk=len(parsed.names) > 1 or bool(csv and csv.filename), lines=parsed.lines,
            merged=parsed.merged))
        if evidence_file is not None and evidence_file.filename:
            upload = evidence_file.file
            stored = evidence.store(d.settings.evidence_dir,
                                    iter(lambda: upload.read(65536), b""),
                                    evidence_file.filename, d.settings.evidence_max_bytes,
                                    d.settings.evidence_types)
            db.add(Evidence(request_id=row.id, sha256=stored.sha256,
                            filename=evidence_file.filename[:255], media_type=stored.media_type,
                            size=stored.size, added_by=principal.name))
            audit.record(db, principal.name, "suspension.evidence-added", f"request:{row.id}",
                         {"sha256": stored.sha256, "size": stored.size})
        db.commit()
    except CaseError as exc:
        db.rollback()
        return _back("/suspensions/new", "error", str(exc))
    skipped = f"; {len(parsed.errors)} bad lines skipped" if parsed.errors else ""
    return _back(f"/suspensions/{row.id}", "message", f"request {row.id} filed{skipped}")


@router.get("/suspensions/{request_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(request: Request, db: Db, request_id: int, message: str = "", error: str = "",
              principal: Principal = allow("suspensions:read")) -> HTMLResponse:
    d = common.desk(request, db)
    case = common.request_view(common.visible_request(d, principal, request_id), d.now())
    return render(request, principal, "suspensions/case.html", case=case, message=message,
                  error=error)


@router.post("/suspensions/{request_id}/decide", include_in_schema=False)
def decide_form(request: Request, db: Db, request_id: int,
                decision: Annotated[str, Form()], reason: Text = "",
                principal: Principal = allow("suspensions:review")) -> Response:
    d = common.desk(request, db)
    row = common.visible_request(d, principal, request_id)
    try:
        if decision == "approve":
            d.approve(principal.name, row)
        else:
            d.reject(principal.name, row, reason)
        db.commit()
    except CaseError as exc:
        db.rollback()
        return _back(f"/suspensions/{request_id}", "error", str(exc))
    return _back(f"/suspensions/{request_id}", "message", f"request {row.status}")


@router.post("/suspensions/items/{item_id}/reinstate", include_in_schema=False)
def reinstate_form(request: Request, db: Db, item_id: int, reason: Text = "",
                   principal: Principal = allow("suspensions:review")) -> Response:
    d = common.desk(request, db)
    item = common.visible_item(d, principal, item_id)
    try:
        seen = d.reinstate(principal.name, item, reason)
        db.commit()
    except CaseError as exc:
        db.rollback()
        return _back(f"/suspensions/{item.request_id}", "error", str(exc))
    return _back(f"/suspensions/{item.request_id}", "message", f"{item.domain}: {seen}")


@router.post("/suspensions/complaints/{complaint_id}/answer", include_in_schema=False)
def answer_form(request: Request, db: Db, complaint_id: int,
                decision: Annotated[str, Form()], text: Text = "",
                principal: Principal = allow("suspensions:answer")) -> Response:
    d = common.desk(request, db)
    complaint = common.visible_complaint(d, principal, complaint_id)
    try:
        d.answer(principal.name, complaint, decision, text)
        db.commit()
    except CaseError as exc:
        db.rollback()
        return _back("/suspensions", "error", str(exc))
    return _back("/suspensions", "message", f"complaint {complaint.id}: {complaint.status}")


def _suspended(db: Session, domain: str) -> SuspensionItem:
    item = db.scalar(select(SuspensionItem).where(
        SuspensionItem.domain == domain.lower().strip("."),
        SuspensionItem.status == ItemStatus.suspended.value))
    if item is None:
        raise HTTPException(404, f"{domain} is not suspended")
    return item


@router.get("/suspended/{domain}", response_class=HTMLResponse, include_in_schema=False)
def landing_page(request: Request, db: Db, domain: str, message: str = "", error: str = "",
                 principal: Principal = allow("suspensions:public")) -> HTMLResponse:
    item = _suspended(db, domain)
    return render(request, principal, "suspensions/landing.html", domain=item.domain,
                  agency=item.request.agency.name,
                  category=item.request.category.replace("-", " "),
                  since=item.suspended_at, message=message, error=error)


@router.post("/suspended/{domain}/complaint", include_in_schema=False)
def complaint_form(request: Request, db: Db, domain: str,
                   contact: Annotated[str, Form(min_length=3, max_length=254)],
                   text: Annotated[str, Form(min_length=1, max_length=5000)],
                   principal: Principal = allow("suspensions:public")) -> Response:
    rate_limit(request)
    d = common.desk(request, db)
    try:
        complaint = d.complain(contact, domain, text)
        db.commit()
    except CaseError as exc:
        db.rollback()
        return _back(f"/suspended/{domain}", "error", str(exc))
    return _back(f"/suspended/{domain}", "message", "complaint received; the agency must "
                 f"answer by {complaint.deadline:%Y-%m-%d}")


@router.get("/reports/suspensions", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, db: Db, year: int | None = None,
                principal: Principal = allow("suspensions:public")) -> HTMLResponse:
    years = stats.years(db)
    chosen = year or (years or [dt.datetime.now(dt.UTC).year])[0]
    report = stats.yearly(db, chosen)
    plots = {
        "agency": charts.bar_chart([(r["name"], r["suspended"]) for r in report["by_agency"]]),
        "category": charts.bar_chart([(r["name"], r["suspended"])
                                      for r in report["by_category"]]),
        "month": charts.line_chart(list(report["suspended_by_month"].items()), "names"),
    }
    return render(request, principal, "suspensions/report.html", report=report, years=years,
                  plots=plots)
