"""Findings and events: search pages, detail pages and their JSON API (analyst roles)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from bluelamp.web import lakeview
from bluelamp.web.auth import Principal
from bluelamp.web.lakeview import Filters
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()

KINDS = {"findings": "finding", "events": "event"}


def _filters(request: Request) -> tuple[Filters, list[str]]:
    """Filters from a plain HTML form: empty fields mean "any"."""
    raw = {k: v for k, v in request.query_params.items() if v.strip()}
    try:
        return Filters.model_validate(raw), []
    except ValidationError as exc:
        return Filters(), [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _evidence(record: dict[str, Any]) -> Any:
    for key in ("evidence", "extra"):
        text = record.get(key)
        if text:
            try:
                return json.loads(text)
            except ValueError:
                return text
    return None


def _search_page(request: Request, principal: Principal, path: str) -> HTMLResponse:
    kind = KINDS[path]
    filters, errors = _filters(request)
    lake = request.app.state.lake
    results = [] if errors else lakeview.search(lake, kind, filters)
    types = lakeview.distinct(lake, kind, "type" if kind == "finding" else "classification_type")
    extra: dict[str, Any] = {}
    if kind == "event":
        extra = {"regions": lakeview.distinct(lake, kind, "source_region"),
                 "feeds": lakeview.distinct(lake, kind, "feed_name")}
    return render(request, principal, f"{kind}_search.html", results=results, errors=errors,
                  filters=filters, query=dict(request.query_params), types=types, **extra)


def _detail_page(request: Request, principal: Principal, kind: str,
                 record_id: str) -> HTMLResponse:
    record = lakeview.get(request.app.state.lake, kind, record_id)
    if record is None:
        raise HTTPException(404, f"no {kind} {record_id}")
    return render(request, principal, f"{kind}_detail.html", record=record,
                  evidence=_evidence(record))


@router.get("/findings", response_class=HTMLResponse, include_in_schema=False)
def findings_page(request: Request, principal: Principal = allow("findings:read")) -> HTMLResponse:
    return _search_page(request, principal, "findings")


@router.get("/findings/{finding_id}", response_class=HTMLResponse, include_in_schema=False)
def finding_page(request: Request, finding_id: str,
                 principal: Principal = allow("findings:read")) -> HTMLResponse:
    return _detail_page(request, principal, "finding", finding_id)


@router.get("/events", response_class=HTMLResponse, include_in_schema=False)
def events_page(request: Request, principal: Principal = allow("events:read")) -> HTMLResponse:
    return _search_page(request, principal, "events")


@router.get("/events/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def event_page(request: Request, event_id: str,
               principal: Principal = allow("events:read")) -> HTMLResponse:
    return _detail_page(request, principal, "event", event_id)


@router.get("/api/findings", tags=["findings"])
def api_findings(request: Request, filters: Annotated[Filters, Query()],
                 principal: Principal = allow("findings:read")) -> list[dict[str, Any]]:
    """Findings matching the filters, best score first (rows as in the `finding` schema)."""
    return lakeview.search(request.app.state.lake, "finding", filters)


@router.get("/api/findings/{finding_id}", tags=["findings"])
def api_finding(request: Request, finding_id: str,
                principal: Principal = allow("findings:read")) -> dict[str, Any]:
    record = lakeview.get(request.app.state.lake, "finding", finding_id)
    if record is None:
        raise HTTPException(404, f"no finding {finding_id}")
    return record


@router.get("/api/events", tags=["events"])
def api_events(request: Request, filters: Annotated[Filters, Query()],
               principal: Principal = allow("events:read")) -> list[dict[str, Any]]:
    """Events matching the filters, newest first (rows as in the `event` schema)."""
    return lakeview.search(request.app.state.lake, "event", filters)


@router.get("/api/events/{event_id}", tags=["events"])
def api_event(request: Request, event_id: str,
              principal: Principal = allow("events:read")) -> dict[str, Any]:
    record = lakeview.get(request.app.state.lake, "event", event_id)
    if record is None:
        raise HTTPException(404, f"no event {event_id}")
    return record
