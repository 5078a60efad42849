"""Account operations shared by the CLI and the web: every change is audited."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.errors import BluelampError
from bluelamp.store import audit
from bluelamp.store.models.accounts import ApiToken, Role, User
from bluelamp.store.models.orgs import Organisation
from bluelamp.web import security

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12


class AccountError(BluelampError):
    """A user or token operation was refused (bad input, unknown user)."""


def find_user(db: Session, email: str) -> User | None:
    return db.scalars(select(User).where(User.email == email.strip().lower())).first()


def find_org(db: Session, name: str) -> Organisation | None:
    return db.scalars(select(Organisation).where(Organisation.name == name)).first()


def create_user(db: Session, actor: str, email: str, role: str, password: str,
                org: str | None = None) -> User:
    """Create a user; privileged roles get a TOTP secret they must enrol (see `totp_uri`)."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    try:
        parsed = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; one of "
                           f"{', '.join(r.value for r in Role if r is not Role.public)}") from None
    if parsed is Role.public:
        raise AccountError("public is the role of anonymous visitors, not of accounts")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    if find_user(db, email) is not None:
        raise AccountError(f"user {email} already exists")
    org_row = None
    if org is not None:
        org_row = find_org(db, org)
        if org_row is None:
            raise AccountError(f"unknown organisation {org!r}")
    if parsed is Role.subscriber and org_row is None:
        raise AccountError("a subscriber belongs to an organisation: give --org")
    user = User(email=email, role=parsed.value, org_id=org_row.id if org_row else None,
                password_hash=security.hash_password(password))
    if user.needs_totp:
        user.totp_secret = security.new_totp_secret()
    db.add(user)
    db.flush()
    audit.record(db, actor, "user.created", email, {"role": parsed.value, "org": org})
    return user


def create_token(db: Session, actor: str, email: str, name: str = "api") -> str:
    """A new API token for `email`; the clear value is returned once and never stored."""
    user = find_user(db, email)
    if user is None:
        raise AccountError(f"unknown user {email}")
    token = security.new_token(security.TOKEN_PREFIX)
    db.add(ApiToken(user_id=user.id, name=name[:100], token_hash=security.digest(token)))
    db.flush()
    audit.record(db, actor, "token.created", user.email, {"name": name})
    return token


def set_role(db: Session, actor: str, user: User, role: Role) -> None:
    if role is Role.public:
        raise AccountError("public is not an account role")
    old = user.role
    user.role = role.value
    if user.needs_totp and not user.totp_secret:
        user.totp_secret = security.new_totp_secret()
    audit.record(db, actor, "user.role_changed", user.email, {"from": old, "to": role.value})


def set_active(db: Session, actor: str, user: User, active: bool) -> None:
    user.active = active
    audit.record(db, actor, "user.activated" if active else "user.deactivated", user.email)
