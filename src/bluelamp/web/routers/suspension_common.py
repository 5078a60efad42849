"""What the suspension routers share: building the desk for a request, finding a case the
principal may see (an officer only their own agency's; anything else looks absent), and the
JSON views of cases, names and complaints."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.cases.desk import CaseError, Desk, build_desk
from bluelamp.store.models.accounts import Role
from bluelamp.store.models.suspensions import (
    Agency,
    Complaint,
    SuspensionItem,
    SuspensionRequest,
    Urgency,
)
from bluelamp.web.auth import Principal

URGENCY_ORDER = {u.value: i for i, u in enumerate(Urgency)}
SORTS = ("due", "created", "urgency")


def desk(request: Request, db: Session) -> Desk:
    return build_desk(db, request.app.state.settings, request.app.state.lake)


@contextmanager
def http_errors(db: Session) -> Iterator[None]:
    """A refused step rolls back and answers with the status the desk chose."""
    try:
        yield
    except CaseError as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from None


def own_agency(d: Desk, principal: Principal) -> Agency:
    agency = d.agency_of(principal.user.id if principal.user else None)
    if agency is None:
        raise HTTPException(409, "this account is not attached to an agency")
    return agency


def scope(d: Desk, principal: Principal) -> int | None:
    """The agency an officer is limited to (-1: none, sees nothing); None for reviewers."""
    if principal.role is not Role.officer:
        return None
    agency = d.agency_of(principal.user.id if principal.user else None)
    return agency.id if agency else -1


def visible_request(d: Desk, principal: Principal, request_id: int) -> SuspensionRequest:
    row = d.db.get(SuspensionRequest, request_id)
    limit = scope(d, principal)
    if row is None or (limit is not None and row.agency_id != limit):
        raise HTTPException(404, f"no suspension request {request_id}")
    return row


def visible_item(d: Desk, principal: Principal, item_id: int) -> SuspensionItem:
    item = d.db.get(SuspensionItem, item_id)
    if item is None:
        raise HTTPException(404, f"no suspended name {item_id}")
    visible_request(d, principal, item.request_id)
    return item


def visible_complaint(d: Desk, principal: Principal, complaint_id: int) -> Complaint:
    complaint = d.db.get(Complaint, complaint_id)
    if complaint is None:
        raise HTTPException(404, f"no complaint {complaint_id}")
    visible_request(d, principal, complaint.item.request_id)
    return complaint


def queue(d: Desk, principal: Principal, status: str | None, sort: str) -> list[SuspensionRequest]:
    query = select(SuspensionRequest)
    limit = scope(d, principal)
    if limit is not None:
        query = query.where(SuspensionRequest.agency_id == limit)
    if status:
        query = query.where(SuspensionRequest.status == status)
    rows = list(d.db.scalars(query.order_by(SuspensionRequest.id.desc()).limit(1000)))
    if sort == "due":
        rows.sort(key=lambda r: r.due_at)
    elif sort == "urgency":
        rows.sort(key=lambda r: (URGENCY_ORDER.get(r.urgency, 9), r.due_at))
    return rows


def sla(row: SuspensionRequest, now: dt.datetime) -> dict[str, Any]:
    """Hours left against the service level (negative: overdue); stops at the decision."""
    end = row.decided_at or now
    left = (row.due_at - end).total_seconds() / 3600
    return {"due_at": row.due_at.isoformat(), "hours_left": round(left, 1),
            "overdue": left < 0, "decided": row.decided_at is not None}


def request_view(row: SuspensionRequest, now: dt.datetime, items: bool = True) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for item in row.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    out: dict[str, Any] = {
        "id": row.id, "agency": row.agency.name, "officer": row.officer,
        "created_at": row.created_at.isoformat(), "category": row.category,
        "legal_basis": row.legal_basis, "urgency": row.urgency, "action": row.action,
        "description": row.description, "urls": json.loads(row.urls), "bulk": row.bulk,
        "status": row.status, "first_reviewer": row.first_reviewer,
        "second_reviewer": row.second_reviewer, "reason": row.reason,
        "sla": sla(row, now), "names": counts,
        "evidence": [{"sha256": e.sha256, "filename": e.filename, "media_type": e.media_type,
                      "size": e.size, "kind": e.kind} for e in row.evidence]}
    if items:
        out["items"] = [item_view(i) for i in row.items]
    return out


def item_view(item: SuspensionItem) -> dict[str, Any]:
    return {"id": item.id, "domain": item.domain, "status": item.status, "note": item.note,
            "line": item.line, "merged": item.merged, "context": json.loads(item.context),
            "undo": json.loads(item.undo) if item.undo else None,
            "suspended_at": item.suspended_at.isoformat() if item.suspended_at else None,
            "reinstated_at": item.reinstated_at.isoformat() if item.reinstated_at else None,
            "notice": item.notice, "registrant_email": item.registrant_email,
            "notice_sent_at": item.notice_sent_at.isoformat() if item.notice_sent_at else None,
            "complaints": [complaint_view(c) for c in item.complaints]}


def complaint_view(c: Complaint) -> dict[str, Any]:
    return {"id": c.id, "domain": c.item.domain, "request": c.item.request_id,
            "received_at": c.received_at.isoformat(), "complainant": c.complainant,
            "text": c.text, "status": c.status, "deadline": c.deadline.isoformat(),
            "answered_by": c.answered_by, "answer": c.answer}


def complaints(d: Desk, principal: Principal, status: str | None) -> list[Complaint]:
    query = select(Complaint).join(SuspensionItem).join(SuspensionRequest)
    limit = scope(d, principal)
    if limit is not None:
        query = query.where(SuspensionRequest.agency_id == limit)
    if status:
        query = query.where(Complaint.status == status)
    return list(d.db.scalars(query.order_by(Complaint.deadline).limit(1000)))
