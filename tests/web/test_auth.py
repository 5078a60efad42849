"""Sign-in, TOTP, sessions, CSRF, API tokens, rate limits, headers and body limits."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.store.db import session_factory
from bluelamp.store.models import AuditEntry, Role
from bluelamp.web.app import create_app
from bluelamp.web.security import TokenBucket, totp_step

from .conftest import Account, csrf_of, sign_in


def _actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_subscriber_signs_in_with_password_only(client: TestClient,
                                                accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.subscriber])
    me = client.get("/api/me").json()
    assert me == {"email": "subscriber@test.example", "role": "subscriber", "org_id": 1,
                  "via": "session"}


def test_privileged_role_needs_totp(client: TestClient, engine: Engine,
                                    accounts_by_role: dict[Role, Account]) -> None:
    analyst = accounts_by_role[Role.analyst]
    r = client.post("/login", data={"email": analyst.email, "password": analyst.password,
                                    "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert r.headers["location"].startswith("/login/totp")
    # password alone is not enough: still anonymous
    assert client.get("/api/findings").status_code == 401
    assert client.get("/dashboard", follow_redirects=False).headers["location"].startswith(
        "/login")
    bad = client.post("/login/totp", data={"code": "000000", "csrf_token": csrf_of(
        client, "/login/totp")}, follow_redirects=False)
    assert bad.status_code == 401
    assert analyst.totp_secret
    code = pyotp.TOTP(analyst.totp_secret).now()
    ok = client.post("/login/totp", data={"code": code, "csrf_token": csrf_of(
        client, "/login/totp")}, follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/api/findings").status_code == 200
    assert _actions(engine)[-3:] == ["login.password_ok", "login.totp_failed", "login.ok"]


def test_totp_code_cannot_be_replayed() -> None:
    secret = pyotp.random_base32()
    now = dt.datetime.now(dt.UTC)
    code = pyotp.TOTP(secret).at(now)
    step = totp_step(secret, code, None, now)
    assert step is not None
    assert totp_step(secret, code, step, now) is None
    assert totp_step(secret, "12345", None, now) is None


def test_wrong_password_is_refused_and_audited(client: TestClient, engine: Engine) -> None:
    r = client.post("/login", data={"email": "subscriber@test.example", "password": "nope",
                                    "csrf_token": csrf_of(client)})
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    r = client.post("/login", data={"email": "nobody@test.example", "password": "nope",
                                    "csrf_token": csrf_of(client)})
    assert r.status_code == 401
    assert _actions(engine)[-2:] == ["login.failed", "login.failed"]


def test_login_without_csrf_token_is_refused(client: TestClient,
                                             accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    r = client.post("/login", data={"email": sub.email, "password": sub.password})
    assert r.status_code == 403  # no CSRF token on a form post: refused, no session
    r = client.post("/login", data={"email": sub.email, "password": sub.password,
                                    "csrf_token": "forged"}, headers={"accept": "text/html"})
    assert r.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_session_forms_need_the_session_csrf_token(client: TestClient,
                                                   accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.subscriber])
    anon_token = client.cookies.get("bl_csrf")
    r = client.post("/my/org/claims", data={"kind": "asn", "value": "64496",
                                            "csrf_token": anon_token or ""},
                    follow_redirects=False)
    assert r.status_code == 403  # the pre-login token is not the session's
    good = csrf_of(client, "/my/org")
    r = client.post("/my/org/claims", data={"kind": "asn", "value": "64496",
                                            "csrf_token": good}, follow_redirects=False)
    assert r.status_code == 303 and "registered" in r.headers["location"]
    r = client.post("/api/my/org/claims", json={"kind": "asn", "value": "64497"})
    assert r.status_code == 403  # JSON from a session also needs the header
    r = client.post("/api/my/org/claims", json={"kind": "asn", "value": "64497"},
                    headers={"x-csrf-token": good})
    assert r.status_code == 201


def test_logout_ends_the_session(client: TestClient,
                                 accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.subscriber])
    token = csrf_of(client, "/my/org")
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401


def test_bearer_tokens(client: TestClient, engine: Engine,
                       accounts_by_role: dict[Role, Account]) -> None:
    analyst = accounts_by_role[Role.analyst]
    auth = {"authorization": f"Bearer {analyst.token}"}
    assert client.get("/api/me", headers=auth).json()["via"] == "token"
    assert client.get("/api/findings", headers=auth).status_code == 200
    assert client.get("/api/findings", headers={"authorization": "Bearer bl_wrong"}
                      ).status_code == 401
    assert client.get("/api/findings", headers={"authorization": "Basic eDp5"}
                      ).status_code == 401
    # tokens are stored hashed
    with engine.connect() as conn:
        from sqlalchemy import text
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert analyst.token not in stored and all(len(h) == 64 for h in stored)
    assert "token.created" in _actions(engine)


def test_login_rate_limit(make_settings: object, accounts_by_role: dict[Role, Account]) -> None:
    settings = make_settings(login_per_minute=3)  # type: ignore[operator]
    with TestClient(create_app(settings)) as c:
        codes = [c.post("/login", data={"email": "subscriber@test.example",
                                        "password": "wrong", "csrf_token": csrf_of(c)}
                        ).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(2, period=60, clock=lambda: now[0])
    assert bucket.take("a") and bucket.take("a") and not bucket.take("a")
    assert bucket.take("b")
    now[0] = 30.0  # half a period gives back one try
    assert bucket.take("a") and not bucket.take("a")


def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_session_cookie_flags(client: TestClient,
                              accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    r = client.post("/login", data={"email": sub.email, "password": sub.password,
                                    "csrf_token": csrf_of(client)}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "bl_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https sets Secure


def test_secure_cookie_over_https(settings: object,
                                  accounts_by_role: dict[Role, Account]) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as c:  # type: ignore[arg-type]
        sub = accounts_by_role[Role.subscriber]
        r = c.post("/login", data={"email": sub.email, "password": sub.password,
                                   "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert "secure" in r.headers["set-cookie"].lower()
    assert "strict-transport-security" in r.headers


@pytest.mark.parametrize("size", [70 * 1024, 200 * 1024])
def test_body_size_cap(client: TestClient, accounts_by_role: dict[Role, Account],
                       size: int) -> None:
    token = accounts_by_role[Role.subscriber].token
    r = client.post("/api/my/org/claims", content=b"x" * size,
                    headers={"authorization": f"Bearer {token}",
                             "content-type": "application/json"})
    assert r.status_code == 413


def test_chunked_body_is_capped_too(client: TestClient,
                                    accounts_by_role: dict[Role, Account]) -> None:
    token = accounts_by_role[Role.subscriber].token

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"y" * 1024

    r = client.post("/api/my/org/claims", content=chunks(),
                    headers={"authorization": f"Bearer {token}",
                             "content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("target, expected", [("/findings?x=1", "/findings?x=1"),
                                              ("//evil.example/", "/"),
                                              ("/\\evil.example", "/"),
                                              ("https://evil.example", "/"),
                                              ("/\nSet-Cookie:x", "/")])
def test_no_open_redirect_after_sign_in(target: str, expected: str) -> None:
    from bluelamp.web.routers.auth import _safe_next

    assert _safe_next(target) == expected
