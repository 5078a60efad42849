"""Who is asking: resolve the principal (API token, session cookie or anonymous), check a
permission, check CSRF, and open and close sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Depends, Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bluelamp.store.models.accounts import ApiToken, Role, User, WebSession
from bluelamp.web import security

if TYPE_CHECKING:
    from bluelamp.web.policy import Permission

SESSION_COOKIE = "bl_session"
CSRF_COOKIE = "bl_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid credentials: the API answers 401, pages redirect to the login form."""


class Forbidden(Exception):
    """Signed in, but the role may not do this (or the CSRF token is wrong)."""

    def __init__(self, reason: str = "forbidden") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    role: Role
    user: User | None = None
    via: str = "anonymous"  # "session" | "token" | "anonymous"
    session: WebSession | None = None

    @property
    def name(self) -> str:
        return self.user.email if self.user else "anonymous"

    @property
    def org_id(self) -> int | None:
        return self.user.org_id if self.user else None


ANONYMOUS = Principal(Role.public)


def get_db(request: Request) -> Iterator[Session]:
    """A database session per request; handlers commit what they change."""
    with request.app.state.sessions() as session:
        yield session


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def current_principal(request: Request, db: Session = Depends(get_db)) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        return _from_token(db, header)
    session = session_from_cookie(request, db)
    if session is not None and (session.mfa_ok or not session.user.needs_totp):
        return Principal(Role(session.user.role), session.user, "session", session)
    return ANONYMOUS


def _from_token(db: Session, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotSignedIn("Authorization must be 'Bearer <token>'")
    row = db.scalars(select(ApiToken).where(ApiToken.token_hash == security.digest(token.strip()),
                                            ApiToken.revoked.is_(False))).first()
    if row is None or not row.user.active:
        raise NotSignedIn("unknown or revoked API token")
    row.last_used = _now()
    db.commit()
    return Principal(Role(row.user.role), row.user, "token")


def session_from_cookie(request: Request, db: Session) -> WebSession | None:
    """The live session named by the cookie (password step done), or None."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    row = db.scalars(select(WebSession).where(WebSession.id_hash == security.digest(raw))).first()
    if row is None or row.expires_at < _now() or not row.user.active:
        return None
    return row


async def authorise(request: Request, principal: Principal, permission: Permission) -> None:
    if principal.role not in permission.roles:
        if principal.role is Role.public:
            raise NotSignedIn("sign in first")
        raise Forbidden(f"role {principal.role.value} may not {permission.name}")
    if request.method not in SAFE_METHODS and principal.via != "token":
        await check_csrf(request, principal)


async def check_csrf(request: Request, principal: Principal) -> None:
    """Synchroniser token for sessions, double-submit cookie before sign-in. A bearer token
    is not sent by browsers on their own, so token requests need no CSRF token."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = (principal.session.csrf_token if principal.session is not None
                else request.cookies.get(CSRF_COOKIE))
    if not security.same(sent, expected):
        raise Forbidden("missing or wrong CSRF token")


def csrf_token_for(request: Request, principal: Principal) -> str:
    """The token a page must put in its forms."""
    if principal.session is not None:
        return principal.session.csrf_token
    return str(request.state.anon_csrf)


def open_session(db: Session, user: User, hours: int) -> tuple[str, WebSession]:
    """A new session for `user` (TOTP still to do for privileged roles); returns the cookie
    value, which is stored only as a digest."""
    # Sign-in is a good moment to forget this user's expired sessions.
    db.execute(delete(WebSession).where(WebSession.user_id == user.id,
                                        WebSession.expires_at < _now()))
    raw = security.new_token()
    row = WebSession(id_hash=security.digest(raw), user_id=user.id,
                     csrf_token=security.new_token(), mfa_ok=False,
                     expires_at=_now() + dt.timedelta(hours=hours))
    db.add(row)
    db.flush()
    return raw, row
