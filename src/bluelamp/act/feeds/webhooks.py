"""Webhooks: HMAC-SHA256-signed POSTs, retried with exponential back-off, and a dead-letter
queue for deliveries that keep failing.

Signature header (the scheme Stripe and GitHub users know): ``X-Bluelamp-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. Signing the timestamp with
the body lets a receiver refuse replays older than a few minutes (`verify`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.schema import dumps
from bluelamp.store.models.subscriptions import DeliveryStatus, Subscription, WebhookDelivery

SIGNATURE_HEADER = "X-Bluelamp-Signature"
DELIVERY_HEADER = "X-Bluelamp-Delivery"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    allow_private: bool = False

    def delay(self, attempts: int) -> float:
        """Wait before attempt number `attempts + 1` (attempts already made ≥ 1)."""
        return min(self.max_seconds, self.base_seconds * 2 ** (attempts - 1))


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def url_problem(url: str, allow_private: bool = False, resolve: bool = True) -> str | None:
    """Why a webhook URL may not be called, or None. Without `allow_private` the host must
    be public: an IP literal is checked as is, a name through its addresses (`resolve`; at
    creation only the literal and `localhost` are checked, at delivery every address)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "webhook_url: an http(s) URL with a host"
    host = parts.hostname
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"webhook_url: {host} is not a public host"
    try:
        return None if _public(host) else f"webhook_url: {host} is not a public address"
    except ValueError:
        pass  # a name
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    bad = sorted({str(info[4][0]) for info in infos if not _public(str(info[4][0]))})
    return f"{host} resolves to non-public {', '.join(bad)}" if bad else None


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300,
           now: float | None = None) -> bool:
    """What a receiver runs: the signature matches and is recent (replay protection)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


#: Content-Type of a webhook body per subscription format
CONTENT_TYPES = {"json": "application/json", "ndjson": "application/x-ndjson",
                 "csv": "text/csv", "stix": "application/stix+json;version=2.1"}


def body(sub: Subscription, events: pa.Table) -> str:
    """The POST body in the subscription's format: JSON `{"subscription", "events"}`,
    NDJSON or CSV lines, or a STIX 2.1 bundle (gated again at the subscription's TLP)."""
    from bluelamp.act.feeds import pull
    from bluelamp.act.share import stix

    if sub.format == "ndjson":
        return pull.to_ndjson(events)
    if sub.format == "csv":
        return pull.to_csv(events)
    if sub.format == "stix":
        return json.dumps(stix.bundle(events, sub.tlp_clearance))
    return dumps({"subscription": sub.id, "events": pull.as_json_rows(events)})


def enqueue(db: Session, sub: Subscription, body: str, events: int) -> WebhookDelivery:
    row = WebhookDelivery(subscription_id=sub.id, body=body, events=events,
                          next_attempt_at=dt.datetime.now(dt.UTC))
    db.add(row)
    db.flush()
    return row


def due(db: Session, now: dt.datetime, limit: int = 100) -> list[WebhookDelivery]:
    return list(db.scalars(select(WebhookDelivery).where(
        WebhookDelivery.status == DeliveryStatus.pending.value,
        WebhookDelivery.next_attempt_at <= now).order_by(WebhookDelivery.id).limit(limit)))


def attempt(db: Session, row: WebhookDelivery, client: httpx.Client,
            policy: RetryPolicy) -> bool:
    """One try of one delivery; records the outcome on the row. True when delivered."""
    sub = db.get(Subscription, row.subscription_id)
    now = dt.datetime.now(dt.UTC)
    row.attempts += 1
    error = _post(client, sub, row, policy) if sub is not None else "subscription gone"
    if error is None:
        row.status = DeliveryStatus.delivered.value
        row.delivered_at = now
        row.last_error = None
        return True
    row.last_error = error[:500]
    if row.attempts >= policy.max_attempts or sub is None or not sub.active:
        row.status = DeliveryStatus.dead.value
    else:
        row.next_attempt_at = now + dt.timedelta(seconds=policy.delay(row.attempts))
    return False


def _post(client: httpx.Client, sub: Subscription, row: WebhookDelivery,
          policy: RetryPolicy) -> str | None:
    if not sub.webhook_url or not sub.webhook_secret:
        return "no webhook URL or secret"
    # checked again at every attempt: a name may have been re-pointed since creation
    problem = url_problem(sub.webhook_url, policy.allow_private)
    if problem:
        return f"refused: {problem}"
    body = row.body.encode()
    headers = {"Content-Type": CONTENT_TYPES.get(sub.format, "application/json"),
               SIGNATURE_HEADER: sign(sub.webhook_secret, body), DELIVERY_HEADER: str(row.id)}
    try:
        response = client.post(sub.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def deliver_due(db: Session, policy: RetryPolicy, client: httpx.Client | None = None) -> int:
    """Try every delivery that is due; returns how many were delivered. Commits each."""
    own = client is None
    client = client or httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False)
    delivered = 0
    try:
        for row in due(db, dt.datetime.now(dt.UTC)):
            delivered += attempt(db, row, client, policy)
            db.commit()
    finally:
        if own:
            client.close()
    return delivered


def dead_letters(db: Session, subscription_id: int) -> list[WebhookDelivery]:
    return list(db.scalars(select(WebhookDelivery).where(
        WebhookDelivery.subscription_id == subscription_id,
        WebhookDelivery.status == DeliveryStatus.dead.value).order_by(WebhookDelivery.id)))


def replay(row: WebhookDelivery) -> None:
    """Put a dead delivery back in the queue (after the receiver is fixed)."""
    row.status = DeliveryStatus.pending.value
    row.attempts = 0
    row.next_attempt_at = dt.datetime.now(dt.UTC)
