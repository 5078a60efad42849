"""The FastAPI application factory: `create_app(settings)`. No import-time singletons: the
engine, session factory, lake, rate limiters and templates hang off `app.state`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint
from starlette.templating import Jinja2Templates

from bluelamp import __version__
from bluelamp.act.feeds.live import install as install_feeds
from bluelamp.settings import Settings, load_settings
from bluelamp.store.db import make_engine, session_factory
from bluelamp.store.lake import Lake
from bluelamp.web import security
from bluelamp.web.auth import ANONYMOUS, CSRF_COOKIE, Forbidden, NotSignedIn
from bluelamp.web.policy import check_routes
from bluelamp.web.routers import ROUTERS
from bluelamp.web.routers import share as share_router
from bluelamp.web.routers import subscriptions as subscriptions_router
from bluelamp.web.routers import taxii as taxii_router

HERE = Path(__file__).parent
SHARING_ROUTERS = [subscriptions_router.router, share_router.router, taxii_router.router]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(title="Bluelamp", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None,  # served by a route that the policy covers
                  description="Bluelamp control plane: analyst, subscriber and admin APIs. "
                  "Authenticate with `Authorization: Bearer <token>`.")
    engine = make_engine(settings.database.url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.lake = Lake(settings.lake.path)
    app.state.login_by_ip = security.TokenBucket(settings.web.login_per_minute)
    app.state.login_by_account = security.TokenBucket(settings.web.login_per_minute)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    for router in ROUTERS:
        app.include_router(router)
    for router in SHARING_ROUTERS:
        app.include_router(router)
    install_feeds(app, app.state.lake, app.state.sessions, settings.sharing)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _handlers(app)
    app.middleware("http")(_anonymous_csrf_cookie)
    app.add_middleware(security.BodyLimit, limit=settings.web.max_body_bytes)
    app.add_middleware(security.SecurityHeaders)
    check_routes(app)
    return app


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", "")


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if wants_json(request) or request.method != "GET":
            return JSONResponse({"detail": str(exc) or "sign in first"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.reason}, status_code=403)
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html", {"principal": ANONYMOUS, "title": "Forbidden",
                                    "message": exc.reason, "csrf": ""}, status_code=403)


async def _anonymous_csrf_cookie(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Give every visitor a random CSRF cookie; forms shown before sign-in echo it back."""
    token = request.cookies.get(CSRF_COOKIE)
    fresh = token is None or len(token) < 32
    if fresh:
        token = security.new_token()
    request.state.anon_csrf = token
    response = await call_next(request)
    if fresh:
        response.set_cookie(CSRF_COOKIE, str(token), httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
    return response
