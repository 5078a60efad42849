"""Sign in (password, then TOTP for privileged roles), sign out, and who am I."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bluelamp.store import audit
from bluelamp.store.models.accounts import User, WebSession
from bluelamp.web import security
from bluelamp.web.accounts import find_user
from bluelamp.web.auth import SESSION_COOKIE, Principal, get_db, open_session, session_from_cookie
from bluelamp.web.pages import render
from bluelamp.web.policy import allow

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user to another site after sign-in."""
    # "//host" and "/\\host" are both read by browsers as another site
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) \
            and all(c.isprintable() for c in target):
        return target
    return "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, principal: Principal = allow("auth:login"),
               next: str = "/") -> HTMLResponse:
    return render(request, principal, "login.html", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(request: Request, db: Db, email: Annotated[str, Form(max_length=254)],
          password: Annotated[str, Form(max_length=1024)],
          next: Annotated[str, Form(max_length=500)] = "/",
          principal: Principal = allow("auth:login")) -> Response:
    email = email.strip().lower()
    app = request.app
    if not (app.state.login_by_ip.take(_client(request))
            and app.state.login_by_account.take(email)):
        audit.record(db, "anonymous", "login.throttled", email, {"ip": _client(request)})
        db.commit()
        return render(request, principal, "login.html", 429, next=_safe_next(next),
                      error="Too many attempts; wait a minute.")
    user = find_user(db, email)
    ok = security.check_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        audit.record(db, "anonymous", "login.failed", email, {"ip": _client(request)})
        db.commit()
        return render(request, principal, "login.html", 401, next=_safe_next(next),
                      error="Wrong e-mail or password.")
    raw, session = open_session(db, user, app.state.settings.web.session_hours)
    if user.needs_totp:
        audit.record(db, user.email, "login.password_ok", user.email, {"ip": _client(request)})
        target = f"/login/totp?next={quote(_safe_next(next), safe='/')}"
    else:
        session.mfa_ok = True
        audit.record(db, user.email, "login.ok", user.email, {"ip": _client(request)})
        target = _safe_next(next)
    db.commit()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/",
                        max_age=app.state.settings.web.session_hours * 3600)
    return response


def _pending(request: Request, db: Session) -> WebSession | None:
    session = session_from_cookie(request, db)
    return session if session is not None and not session.mfa_ok else None


@router.get("/login/totp", response_class=HTMLResponse, include_in_schema=False)
def totp_form(request: Request, db: Db, principal: Principal = allow("auth:login"),
              next: str = "/") -> Response:
    pending = _pending(request, db)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, principal, "totp.html", next=_safe_next(next), error=None)


@router.post("/login/totp", response_class=HTMLResponse, include_in_schema=False)
def totp(request: Request, db: Db, code: Annotated[str, Form(max_length=12)],
         next: Annotated[str, Form(max_length=500)] = "/",
         principal: Principal = allow("auth:login")) -> Response:
    pending = _pending(request, db)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    user: User = pending.user
    if not request.app.state.login_by_account.take(user.email):
        return render(request, principal, "totp.html", 429, next=_safe_next(next),
                      error="Too many attempts; wait a minute.")
    step = security.totp_step(user.totp_secret or "", code, user.totp_last_step)
    if step is None:
        audit.record(db, user.email, "login.totp_failed", user.email, {"ip": _client(request)})
        db.commit()
        return render(request, principal, "totp.html", 401, next=_safe_next(next),
                      error="Wrong or already used code.")
    user.totp_last_step = step
    pending.mfa_ok = True
    audit.record(db, user.email, "login.ok", user.email, {"ip": _client(request), "totp": True})
    db.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(db: Db, principal: Principal = allow("auth:logout")) -> Response:
    if principal.session is not None:
        db.delete(db.merge(principal.session))
        audit.record(db, principal.name, "logout", principal.name)
        db.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class Me(BaseModel):
    email: str
    role: str
    org_id: int | None
    via: str


@router.get("/api/me", tags=["account"])
def me(principal: Principal = allow("account:read")) -> Me:
    assert principal.user is not None  # the policy admits signed-in roles only
    return Me(email=principal.user.email, role=principal.role.value, org_id=principal.org_id,
              via=principal.via)
