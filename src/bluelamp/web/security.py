"""Secrets and protections: password hashing, random tokens, TOTP, rate limits, security
headers and the request body cap. Small pure pieces, used by the routers and the CLI."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bluelamp.textutil import is_decimal

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash, verified against when the account does not exist, so that a login for an
    unknown e-mail costs as much time as one for a known e-mail (no account enumeration)."""
    return _HASHER.hash(secrets.token_urlsafe(16))

TOKEN_PREFIX = "bl_"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str = "") -> str:
    """A random secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """SHA-256 of a long random token: enough for lookup, useless to a thief of the table."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and secrets.compare_digest(a, b)


# ------------------------------------------------------------------------------ TOTP

def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Bluelamp")


def totp_step(secret: str, code: str, last_step: int | None,
              now: dt.datetime | None = None) -> int | None:
    """The time step `code` is valid for (this one or one either side, for clock drift), or
    None if it is wrong or was already used (step not after `last_step`)."""
    code = code.strip().replace(" ", "")
    if not (is_decimal(code) and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = now or dt.datetime.now(dt.UTC)
    for drift in (0, -1, 1):
        when = now + dt.timedelta(seconds=drift * totp.interval)
        step = int(totp.timecode(when))
        if secrets.compare_digest(totp.at(when), code):
            return step if last_step is None or step > last_step else None
    return None


# ------------------------------------------------------------------------------ rate limits

@dataclass
class TokenBucket:
    """Per-key token buckets: `capacity` tries, refilled evenly over `period` seconds."""

    capacity: float
    period: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> bool:
        """Spend one token for `key`; False when the bucket is empty."""
        rate = self.capacity / self.period
        with self._lock:
            now = self.clock()
            tokens, last = self._state.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * rate)
            if tokens < 1:
                self._state[key] = (tokens, now)
                return False
            self._state[key] = (tokens - 1, now)
            if len(self._state) > 100_000:  # keep memory bounded under a spray of keys
                self._state.clear()
            return True


# ------------------------------------------------------------------------------ ASGI layers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Adds the security headers to every HTTP response (and HSTS over https)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = dict(HEADERS)
                if https:
                    extra["strict-transport-security"] = "max-age=31536000"
                headers += [(k.encode(), v.encode()) for k, v in extra.items()
                            if k.encode() not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, whether or not the client sent a
    Content-Length (a chunked body is counted as it arrives)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await _too_large(send)
                return
        seen = 0
        refused = False

        async def counted() -> Message:
            # Past the limit: answer 413 ourselves and tell the app the client went away
            # (raising would be turned into a 400 by the framework's body parser).
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not refused:
                refused = True
                await _too_large(send)
            return {"type": "http.disconnect"} if refused else message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded_send)


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large"}'
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
