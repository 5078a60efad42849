"""The suspension desk's workflow: file a request, review it (four-eyes for bulk), execute it
through a registry adapter, notify the registrant, take complaints, run the complaint clock
and reinstate. Every step is appended to the hash-chained audit log in the same transaction.

The desk holds no global state: a `Desk` is built per unit of work around a database
session, the settings, a registry adapter (or None: decisions are recorded, the zone is not
touched) and, optionally, the lake and a clock (tests inject one)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bluelamp.act.cases import context as ctx
from bluelamp.act.cases import notices
from bluelamp.act.cases.clock import add_working_days
from bluelamp.detect.brands import Brands
from bluelamp.errors import BluelampError
from bluelamp.registry import build_adapter
from bluelamp.registry.base import RegistryAdapter, RegistryError, zone_of
from bluelamp.settings import Settings, SuspensionSettings
from bluelamp.store import audit
from bluelamp.store.lake import Lake
from bluelamp.store.models.suspensions import (
    Action,
    Agency,
    AgencyOfficer,
    Category,
    Complaint,
    ComplaintStatus,
    ItemStatus,
    RequestStatus,
    SuspensionItem,
    SuspensionRequest,
    Urgency,
)

OPEN_REQUEST = (RequestStatus.pending.value, RequestStatus.second_review.value)


class CaseError(BluelampError):
    """A step the desk refuses; `status` is the HTTP status the web layer answers."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class NewRequest:
    names: Sequence[str]
    category: str
    legal_basis: str
    urgency: str = Urgency.normal.value
    action: str = Action.hold.value
    description: str = ""
    urls: Sequence[str] = ()
    bulk: bool = False
    lines: Sequence[int] | None = None  # CSV line of each name (bulk)
    merged: dict[str, int] = field(default_factory=dict)
    registrant_emails: dict[str, str] = field(default_factory=dict)  # name -> address


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Desk:
    db: Session
    settings: SuspensionSettings
    adapter: RegistryAdapter | None = None
    lake: Lake | None = None
    now: Callable[[], dt.datetime] = _utcnow
    public_url: str = "http://127.0.0.1:8000"
    adapter_error: str = "no registry adapter configured (suspensions.adapter)"
    brands: Brands | None = None  # the lookalike check of the context (None: default brands)

    # ------------------------------------------------------------------ agencies

    def create_agency(self, actor: str, name: str, contact_email: str | None) -> Agency:
        if self.db.scalar(select(Agency).where(Agency.name == name)) is not None:
            raise CaseError(f"agency {name!r} exists")
        agency = Agency(name=name, contact_email=contact_email, created_at=self.now())
        self.db.add(agency)
        self.db.flush()
        audit.record(self.db, actor, "agency.created", f"agency:{agency.id}", {"name": name})
        return agency

    def add_officer(self, actor: str, agency: Agency, user_id: int, email: str) -> None:
        link = self.db.get(AgencyOfficer, user_id)
        if link is None:
            self.db.add(AgencyOfficer(user_id=user_id, agency_id=agency.id))
        else:
            link.agency_id = agency.id
        audit.record(self.db, actor, "agency.officer-added", f"agency:{agency.id}",
                     {"officer": email})

    def agency_of(self, user_id: int | None) -> Agency | None:
        link = self.db.get(AgencyOfficer, user_id) if user_id is not None else None
        return self.db.get(Agency, link.agency_id) if link else None

    # ------------------------------------------------------------------ filing

    def file(self, actor: str, agency: Agency, new: NewRequest) -> SuspensionRequest:
        _check_choice("category", new.category, Category)
        _check_choice("urgency", new.urgency, Urgency)
        _check_choice("action", new.action, Action)
        if not new.legal_basis.strip():
            raise CaseError("legal_basis is required", 422)
        if not new.names:
            raise CaseError("no domain names given", 422)
        now = self.now()
        hours = self.settings.sla_hours.get(new.urgency, 72)
        request = SuspensionRequest(
            agency_id=agency.id, officer=actor, created_at=now, category=new.category,
            legal_basis=new.legal_basis.strip(), urgency=new.urgency, action=new.action,
            description=new.description, urls=json.dumps(list(new.urls)), bulk=new.bulk,
            status=RequestStatus.pending.value, due_at=now + dt.timedelta(hours=hours))
        self.db.add(request)
        self.db.flush()
        items = self._items(request, new)
        self.db.add_all(items)
        self.db.flush()
        audit.record(self.db, actor, "suspension.requested", f"request:{request.id}", {
            "agency": agency.name, "category": new.category, "urgency": new.urgency,
            "action": new.action, "names": len(items), "bulk": new.bulk,
            "refused": sum(i.status == ItemStatus.refused.value for i in items)})
        return request

    def _items(self, request: SuspensionRequest, new: NewRequest) -> list[SuspensionItem]:
        normalised = [n.lower().strip(".") for n in new.names]
        counts = Counter(normalised)
        names = list(dict.fromkeys(normalised))  # duplicates merged into the first
        merged_counts = {n: counts[n] - 1 + new.merged.get(n, 0) for n in names}
        blocked = self._blocked(names)
        lake_info = ctx.lake_context(self.lake, names)
        looks = ctx.lookalike_context(names, self.brands)
        refusals = {name: self._refusal(name, blocked) for name in names}
        resolved = ctx.resolve_all([n for n in names if refusals[n] is None], self.settings)
        lines = dict(zip(names, new.lines or [], strict=False))
        emails = {k.lower().strip("."): v for k, v in new.registrant_emails.items()}
        items = []
        for name in names:
            info: dict[str, Any] = dict(lake_info.get(name, {}))
            info.update(resolved.get(name, {}))
            info.update(looks[name])
            reason = refusals[name]
            items.append(SuspensionItem(
                request_id=request.id, domain=name, line=lines.get(name),
                merged=merged_counts[name],
                registrant_email=emails.get(name),
                status=ItemStatus.refused.value if reason else ItemStatus.requested.value,
                note=reason, context=json.dumps(info, default=str)))
        return items

    def _blocked(self, names: list[str]) -> dict[str, str]:
        """Names already suspended or already in an open request, with the reason."""
        out: dict[str, str] = {}
        for start in range(0, len(names), 500):  # bounded IN lists
            chunk = names[start:start + 500]
            rows = self.db.execute(
                select(SuspensionItem.domain, SuspensionItem.status, SuspensionRequest.id,
                       SuspensionRequest.status).join(SuspensionRequest)
                .where(SuspensionItem.domain.in_(chunk))).all()
            for domain, item_status, req_id, req_status in rows:
                if item_status == ItemStatus.suspended.value:
                    out[domain] = f"already suspended (request {req_id})"
                elif (item_status == ItemStatus.requested.value and req_status in OPEN_REQUEST
                      and domain not in out):
                    out[domain] = f"already requested (request {req_id}, merged there)"
        return out

    def _refusal(self, name: str, blocked: dict[str, str]) -> str | None:
        if zone_of(name, self.settings.zones) is None:
            return "not in a zone this registry runs"
        return blocked.get(name)

    # ------------------------------------------------------------------ review

    def approve(self, reviewer: str, request: SuspensionRequest) -> SuspensionRequest:
        if request.status not in OPEN_REQUEST:
            raise CaseError(f"request {request.id} is {request.status}, not open for review")
        if request.officer == reviewer:
            raise CaseError("the requesting officer cannot review their own request", 403)
        if request.bulk and request.status == RequestStatus.pending.value:
            request.first_reviewer = reviewer
            self._move(request, RequestStatus.second_review)
            audit.record(self.db, reviewer, "suspension.first-approval",
                         f"request:{request.id}", {"needs": "a second, different reviewer"})
            return request
        if request.bulk:
            if reviewer == request.first_reviewer:
                raise CaseError("four-eyes: a bulk request needs a second reviewer who is not "
                                f"the first ({reviewer})", 403)
            request.second_reviewer = reviewer
        else:
            request.first_reviewer = reviewer
        self._move(request, RequestStatus.approved)
        request.decided_at = self.now()
        audit.record(self.db, reviewer, "suspension.approved", f"request:{request.id}",
                     {"first": request.first_reviewer, "second": request.second_reviewer})
        waiting = sum(i.status == ItemStatus.requested.value for i in request.items)
        if waiting <= self.settings.execute_inline_max:
            self.execute(reviewer, request)
        else:  # a big bulk request: the scheduler's tick executes it, not the web request
            audit.record(self.db, reviewer, "suspension.queued", f"request:{request.id}",
                         {"names": waiting, "by": "bluelamp suspensions tick"})
        return request

    def _move(self, request: SuspensionRequest, to: RequestStatus) -> None:
        """Change the status only if no one else changed it since we read it (two reviewers
        clicking at once must not execute a request twice): a conditional UPDATE whose row
        count says who won, on SQLite and PostgreSQL alike."""
        changed = self.db.execute(
            update(SuspensionRequest)
            .where(SuspensionRequest.id == request.id,
                   SuspensionRequest.status == request.status)
            .values(status=to.value)
            .execution_options(synchronize_session=False))
        if getattr(changed, "rowcount", 1) != 1:
            raise CaseError(f"request {request.id} was changed by someone else meanwhile; "
                            "reload it")
        set_committed_value(request, "status", to.value)  # written already: not dirty

    def reject(self, reviewer: str, request: SuspensionRequest, reason: str) -> None:
        if request.status not in OPEN_REQUEST:
            raise CaseError(f"request {request.id} is {request.status}, not open for review")
        if not reason.strip():
            raise CaseError("a rejection needs a reason", 422)
        self._move(request, RequestStatus.rejected)
        request.reason = reason.strip()
        request.decided_at = self.now()
        for item in request.items:
            if item.status == ItemStatus.requested.value:
                item.status = ItemStatus.rejected.value
        audit.record(self.db, reviewer, "suspension.rejected", f"request:{request.id}",
                     {"reason": request.reason})

    # ------------------------------------------------------------------ execution

    def execute(self, actor: str, request: SuspensionRequest) -> None:
        """Change the zone for every requested name: one snapshot (undo records) for all,
        then one verified change per name. A name that fails is marked failed with the
        registry's reason; the others go ahead."""
        todo = [i for i in request.items if i.status == ItemStatus.requested.value]
        if not todo:
            return
        if self.adapter is None:
            self._fail(actor, todo, self.adapter_error)
            return
        try:
            undo = self.adapter.snapshot([i.domain for i in todo])
        except RegistryError as exc:
            self._fail(actor, todo, str(exc))
            return
        for item in todo:
            try:
                seen = self.adapter.suspend(item.domain, request.action, undo[item.domain])
            except RegistryError as exc:
                self._fail(actor, [item], str(exc))
                continue
            item.undo = json.dumps(undo[item.domain])
            item.status = ItemStatus.suspended.value
            item.suspended_at = self.now()
            item.note = seen
            item.notice = notices.registrant_notice(item, request, self.public_url)
            item.notice_sent_at = notices.deliver(self.settings, item.notice,
                                                  item.registrant_email)
            audit.record(self.db, actor, "suspension.executed", f"domain:{item.domain}", {
                "request": request.id, "action": request.action,
                "adapter": self.adapter.name, "verified": seen, "undo": undo[item.domain]})

    def _fail(self, actor: str, items: list[SuspensionItem], reason: str) -> None:
        for item in items:
            item.status = ItemStatus.failed.value
            item.note = reason
            audit.record(self.db, actor, "suspension.failed", f"domain:{item.domain}",
                         {"request": item.request_id, "reason": reason})

    def reinstate(self, actor: str, item: SuspensionItem, reason: str) -> str:
        if item.status != ItemStatus.suspended.value:
            raise CaseError(f"{item.domain} is {item.status}, not suspended")
        if not reason.strip():
            raise CaseError("a reinstatement needs a reason", 422)
        seen = "recorded only (no adapter)"
        if item.undo is not None:
            if self.adapter is None:
                raise CaseError("no registry adapter configured: cannot restore the zone", 503)
            try:
                seen = self.adapter.reinstate(item.domain, json.loads(item.undo))
            except RegistryError as exc:
                raise CaseError(f"{item.domain}: reinstatement failed: {exc}", 502) from None
        item.status = ItemStatus.reinstated.value
        item.reinstated_at = self.now()
        for complaint in item.complaints:
            if complaint.status == ComplaintStatus.open.value:
                complaint.status = ComplaintStatus.closed.value
        audit.record(self.db, actor, "suspension.reinstated", f"domain:{item.domain}",
                     {"request": item.request_id, "reason": reason, "verified": seen})
        return seen

    # ------------------------------------------------------------------ complaints

    def complain(self, complainant: str, domain: str, text: str) -> Complaint:
        domain = domain.lower().strip(".")
        item = self.db.scalar(select(SuspensionItem).where(
            SuspensionItem.domain == domain,
            SuspensionItem.status == ItemStatus.suspended.value))
        if item is None:
            raise CaseError(f"{domain} is not suspended", 404)
        if not text.strip():
            raise CaseError("the complaint is empty", 422)
        for earlier in item.complaints:
            if earlier.status == ComplaintStatus.open.value:  # one clock at a time
                raise CaseError(f"a complaint about {domain} is already open; the agency "
                                f"must answer by {earlier.deadline:%Y-%m-%d %H:%M} UTC")
        now = self.now()
        deadline = add_working_days(now, self.settings.complaint_working_days,
                                    self.settings.public_holidays)
        complaint = Complaint(item_id=item.id, received_at=now, complainant=complainant,
                              text=text.strip(), status=ComplaintStatus.open.value,
                              deadline=deadline)
        self.db.add(complaint)
        self.db.flush()
        agency = item.request.agency
        notices.deliver(self.settings, notices.agency_message(complaint, item, agency),
                        agency.contact_email)
        audit.record(self.db, complainant, "complaint.received", f"domain:{domain}", {
            "complaint": complaint.id, "routed_to": agency.name,
            "deadline": deadline.isoformat()})
        return complaint

    def answer(self, officer: str, complaint: Complaint, decision: str, text: str) -> None:
        """The requesting agency answers: maintain the suspension, or withdraw it."""
        if complaint.status != ComplaintStatus.open.value:
            raise CaseError(f"complaint {complaint.id} is {complaint.status}")
        if decision not in ("maintain", "withdraw"):
            raise CaseError("decision must be maintain or withdraw", 422)
        complaint.answered_at = self.now()
        complaint.answered_by = officer
        complaint.answer = text
        audit.record(self.db, officer, f"complaint.{decision}", f"complaint:{complaint.id}",
                     {"domain": complaint.item.domain, "answer": text})
        if decision == "withdraw":
            self.reinstate(officer, complaint.item, f"agency withdrew after complaint "
                           f"{complaint.id}")
            complaint.status = ComplaintStatus.withdrawn.value
        else:
            complaint.status = ComplaintStatus.maintained.value

    def execute_queued(self) -> list[tuple[str, str]]:
        """Execute approved requests whose names are still waiting (big bulk requests)."""
        waiting = self.db.scalars(
            select(SuspensionRequest).where(
                SuspensionRequest.status == RequestStatus.approved.value,
                SuspensionRequest.id.in_(select(SuspensionItem.request_id).where(
                    SuspensionItem.status == ItemStatus.requested.value)))
            .order_by(SuspensionRequest.id)).all()
        done: list[tuple[str, str]] = []
        for request in waiting:
            todo = [i for i in request.items if i.status == ItemStatus.requested.value]
            self.execute("system", request)
            done += [(i.domain, f"executed: {i.status}") for i in todo]
        return done

    def tick(self) -> list[tuple[str, str]]:
        """The scheduler's step: execute queued bulk requests, then lift suspensions whose
        complaint the agency left unanswered past the clock. Returns (domain, outcome) for
        each name executed or reinstated."""
        done = self.execute_queued()
        now = self.now()
        due = self.db.scalars(select(Complaint).where(
            Complaint.status == ComplaintStatus.open.value, Complaint.deadline <= now)
            .order_by(Complaint.id)).all()
        for complaint in due:
            item = complaint.item
            audit.record(self.db, "system", "complaint.lapsed", f"complaint:{complaint.id}",
                         {"domain": item.domain, "deadline": complaint.deadline.isoformat()})
            try:
                seen = self.reinstate("system", item, f"agency did not answer complaint "
                                      f"{complaint.id} within "
                                      f"{self.settings.complaint_working_days} working days")
            except CaseError as exc:
                done.append((item.domain, f"error: {exc}"))
                continue
            complaint.status = ComplaintStatus.lapsed.value
            done.append((item.domain, f"reinstated: {seen}"))
        return done


def build_desk(db: Session, settings: Settings, lake: Lake | None = None,
               now: Callable[[], dt.datetime] | None = None) -> Desk:
    """A desk with the adapter the settings name; a misconfigured adapter is kept as the
    reason why execution fails, so that filing and reviewing still work."""
    adapter: RegistryAdapter | None = None
    error = "suspensions.adapter is none: decisions are recorded, the zone is not changed"
    try:
        adapter = build_adapter(settings.suspensions)
    except RegistryError as exc:
        error = f"registry adapter not usable: {exc}"
    return Desk(db, settings.suspensions, adapter, lake, now or _utcnow,
                settings.web.public_url, error, ctx.protected_brands(settings))


def _check_choice(name: str, value: str, choices: type[Category | Urgency | Action]) -> None:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise CaseError(f"{name} {value!r}: one of {', '.join(allowed)}", 422)
