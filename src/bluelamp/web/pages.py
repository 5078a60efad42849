"""Rendering helpers shared by the page routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from bluelamp.web.auth import Principal, csrf_token_for


def render(request: Request, principal: Principal, name: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context.update(principal=principal, csrf=csrf_token_for(request, principal))
    response: HTMLResponse = templates.TemplateResponse(request, name, context,
                                                        status_code=status)
    return response
