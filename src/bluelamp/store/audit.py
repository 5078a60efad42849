"""The audit log API: `record(session, actor, action, subject, details)` and `verify(session)`.

Every security-relevant action (logins, user and role changes, token creation, ownership
verification, approvals, case decisions) is appended here. Each entry stores the hash of the
previous entry, and its own hash covers that link plus its content in canonical JSON, so
changing, inserting or deleting an entry in the middle breaks the chain at a named entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bluelamp.store.models.audit import AuditEntry

__all__ = ["AuditEntry", "Problem", "entries", "entry_hash", "record", "verify"]

GENESIS = "0" * 64
# Any constant works: it names the one advisory lock that serialises appends on PostgreSQL.
_PG_LOCK_KEY = 0x626C7565


def canonical_json(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _timestamp(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, ts: dt.datetime, actor: str, action: str, subject: str,
               details: str) -> str:
    body = canonical_json({"prev": prev_hash, "ts": _timestamp(ts), "actor": actor,
                           "action": action, "subject": subject, "details": details})
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, actor: str, action: str, subject: str,
           details: Mapping[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (it is kept only if that commits).

    `actor` is who did it (an e-mail, "cli", "system"), `action` a dotted verb such as
    "login.failed" or "case.approved", `subject` what it was done to."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers so two transactions never chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.hash if last is not None else GENESIS
    ts = dt.datetime.now(dt.UTC)
    body = canonical_json(dict(details or {}))
    entry = AuditEntry(ts=ts, actor=actor, action=action, subject=subject, details=body,
                       prev_hash=prev, hash=entry_hash(prev, ts, actor, action, subject, body))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Problem:
    entry_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit entry {self.entry_id}: {self.reason}"


def verify(session: Session) -> list[Problem]:
    """Walk the chain in order; return every entry whose link or content does not match."""
    problems: list[Problem] = []
    prev = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev:
            problems.append(Problem(entry.id, "link to the previous entry is broken "
                                    "(an entry before it was changed, inserted or deleted)"))
        expected = entry_hash(entry.prev_hash, entry.ts, entry.actor, entry.action,
                              entry.subject, entry.details)
        if entry.hash != expected:
            problems.append(Problem(entry.id, "content does not match its hash (modified)"))
        prev = entry.hash
    return problems


def entries(session: Session, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first, for the admin page."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
