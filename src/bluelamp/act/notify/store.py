"""Drafts become stored notices: issued by the responsible unit, deduplicated by key, and
approved for sending by the sending rules or left for a notifier's review."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify.collect import Draft
from bluelamp.act.notify.compose import subject_of
from bluelamp.act.notify.units import unit_for
from bluelamp.settings import NotifySettings
from bluelamp.store import audit
from bluelamp.store.models.notifications import Notice, NoticeItem, NoticeStatus


def owner_name(draft_or_notice: Draft | Notice, org_name: str | None = None) -> str:
    """How the notice addresses its owner: the organisation's name, else the contact."""
    if isinstance(draft_or_notice, Draft):
        return draft_or_notice.org_name or draft_or_notice.owner
    return org_name or draft_or_notice.owner


def auto_send(settings: NotifySettings, draft: Draft) -> bool:
    """The sending rule: every event type is allowed, every event confident enough."""
    allowed = set(settings.auto_send_types)
    if not allowed:
        return False
    return all(("*" in allowed or i.event_type in allowed)
               and (i.confidence if i.confidence is not None else 1.0)
               >= settings.auto_send_min_confidence for i in draft.items)


def store_draft(db: Session, settings: NotifySettings, draft: Draft, now: dt.datetime,
                end: dt.datetime | None = None) -> Notice | None:
    """Store a draft of the interval ending at `end` (default `now`) as a notice; None when
    a notice with the same key exists."""
    end = end or now
    key = draft.key(end)
    if db.scalar(select(Notice.id).where(Notice.key == key)) is not None:
        return None
    unit = unit_for(settings, draft.region)
    hosts = len({i.host for i in draft.items})
    approved = auto_send(settings, draft)
    notice = Notice(key=key, org_id=draft.org_id, owner=draft.owner, region=draft.region,
                    unit_id=unit.id, interval_start=draft.start, interval_end=end,
                    subject=subject_of(owner_name(draft), hosts, unit), created_at=now,
                    status=(NoticeStatus.approved if approved else NoticeStatus.draft).value,
                    reviewed_by="rule" if approved else None)
    db.add(notice)
    db.flush()
    for i in draft.items:
        db.add(NoticeItem(notice_id=notice.id, owner=draft.owner, event_id=i.event_id,
                          event_type=i.event_type, identifier=i.identifier, host=i.host[:2048],
                          first_seen=i.first_seen, last_seen=i.last_seen,
                          evidence=i.evidence, feed=i.feed, confidence=i.confidence))
    db.flush()
    db.refresh(notice)
    audit.record(db, "system", "notice.created", f"notice:{notice.id}",
                 {"owner": draft.owner, "unit": unit.id, "events": len(draft.items),
                  "status": notice.status})
    return notice


def approve(db: Session, notice: Notice, actor: str) -> None:
    if notice.status != NoticeStatus.draft:
        raise ValueError(f"notice {notice.id} is {notice.status}, not a draft")
    notice.status = NoticeStatus.approved.value
    notice.reviewed_by = actor
    audit.record(db, actor, "notice.approved", f"notice:{notice.id}", {})


def discard(db: Session, notice: Notice, actor: str) -> None:
    if notice.status not in (NoticeStatus.draft, NoticeStatus.approved):
        raise ValueError(f"notice {notice.id} is {notice.status}; only unsent notices can be "
                         "discarded")
    notice.status = NoticeStatus.discarded.value
    notice.reviewed_by = actor
    audit.record(db, actor, "notice.discarded", f"notice:{notice.id}", {})
