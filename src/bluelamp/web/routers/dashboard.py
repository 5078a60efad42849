"""Dashboards with server-rendered SVG plots, and the retro-hunt form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from bluelamp.sources.names import normalize_qname
from bluelamp.store import audit
from bluelamp.web import charts, lakeview
from bluelamp.web.auth import Principal, get_db
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Days = Annotated[int, Query(ge=1, le=365)]


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, days: Days = 30,
              principal: Principal = allow("dashboard:read")) -> HTMLResponse:
    s = lakeview.stats(request.app.state.lake, days)
    plots = [
        ("Findings per day", charts.line_chart(s["findings_per_day"], "findings")),
        ("Events per day", charts.line_chart(s["events_per_day"], "events")),
        ("Findings by type", charts.bar_chart(s["findings_by_type"])),
        ("Events by type", charts.bar_chart(s["events_by_type"])),
        ("Events by region", charts.bar_chart(s["events_by_region"])),
        ("Top networks", charts.bar_chart(s["top_networks"])),
    ]
    return render(request, principal, "dashboard.html", plots=plots, days=days)


@router.get("/api/stats", tags=["dashboard"])
def api_stats(request: Request, days: Days = 30,
              principal: Principal = allow("dashboard:read")) -> dict[str, list[Any]]:
    """The dashboard series as [label, value] pairs."""
    return {k: [list(p) for p in v]
            for k, v in lakeview.stats(request.app.state.lake, days).items()}


def _domain(value: str) -> str:
    try:
        name = normalize_qname(value.strip())
    except (ValueError, UnicodeError):
        name = ""
    if not lakeview.DOMAIN.match(name):
        raise HTTPException(422, f"{value!r} is not a domain name")
    return name


def _hunt(request: Request, db: Session, principal: Principal, domain: str,
          days: int) -> list[dict[str, Any]]:
    name = _domain(domain)
    # Who looked up what is personal data: every hunt is on the record.
    audit.record(db, principal.name, "hunt.run", name, {"days": days})
    db.commit()
    return lakeview.retro_hunt(request.app.state.lake, name, days)


@router.get("/hunt", response_class=HTMLResponse, include_in_schema=False)
def hunt_page(request: Request, db: Annotated[Session, Depends(get_db)],
              domain: Annotated[str, Query(max_length=253)] = "", days: Days = 90,
              principal: Principal = allow("hunt:run")) -> HTMLResponse:
    results, error = None, None
    if domain.strip():
        try:
            results = _hunt(request, db, principal, domain, days)
        except HTTPException as exc:
            error = exc.detail
    return render(request, principal, "hunt.html", domain=domain, days=days, results=results,
                  error=error)


@router.get("/api/hunt", tags=["hunt"])
def api_hunt(request: Request, db: Annotated[Session, Depends(get_db)],
             domain: Annotated[str, Query(max_length=253)], days: Days = 90,
             principal: Principal = allow("hunt:run")) -> list[dict[str, Any]]:
    """Clients that looked up `domain` (or a name under it) in the last `days` days."""
    return _hunt(request, db, principal, domain, days)


def _picture(request: Request, days: int) -> dict[str, Any]:
    """The national picture (as `bluelamp picture` computes it) for the configured country,
    or the reason there is none."""
    import datetime as dt

    from bluelamp.attribute import Attributor
    from bluelamp.errors import BluelampError

    settings = request.app.state.settings
    if not settings.attribution.country:
        return {"error": "Set [attribution] country (and the delegated/routing files) to see "
                         "the national picture."}
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    try:
        from bluelamp.attribute.picture import national_picture

        attributor = Attributor.from_settings(settings)
        events = request.app.state.lake.read("event", since=since)
        return national_picture(events, attributor, since=since).to_json()
    except BluelampError as exc:
        return {"error": str(exc)}


@router.get("/picture", response_class=HTMLResponse, include_in_schema=False)
def picture_page(request: Request, days: Days = 7,
                 principal: Principal = allow("dashboard:read")) -> HTMLResponse:
    picture = _picture(request, days)
    plots = [
        (f"Compromised hosts by {dim}",
         charts.bar_chart([(row.get("name") or row["key"], row["hosts"])
                           for row in picture["by"].get(dim, [])[:15]]))
        for dim in ("region", "type", "sector", "network", "organisation")
    ] if "by" in picture else []
    return render(request, principal, "picture.html", picture=picture, plots=plots, days=days)


@router.get("/api/picture", tags=["dashboard"])
def api_picture(request: Request, days: Days = 7,
                principal: Principal = allow("dashboard:read")) -> dict[str, Any]:
    """The national picture: compromised hosts in national address space, by region, sector,
    event type, network and organisation (the JSON of `bluelamp picture --json`)."""
    picture = _picture(request, days)
    if "error" in picture:
        raise HTTPException(409, picture["error"])
    return picture
