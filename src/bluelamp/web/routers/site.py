"""Home page, health check and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bluelamp.store.models.accounts import Role
from bluelamp.web.auth import Principal
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()

HOME = {Role.admin: "/admin/orgs", Role.analyst: "/dashboard", Role.notifier: "/dashboard",
        Role.subscriber: "/my/threats"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, principal: Principal = allow("site:public")) -> Response:
    if principal.role in HOME:
        return RedirectResponse(HOME[principal.role], status_code=303)
    return render(request, principal, "home.html")


@router.get("/healthz", tags=["site"])
def health(principal: Principal = allow("site:public")) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/openapi.json", tags=["site"], include_in_schema=False)
def openapi(request: Request, principal: Principal = allow("site:public")) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema
