"""Clean-up tracking: sent → delivered (no bounce within the grace period) → acknowledged
(the signed link); and after N days, every host of a notice is re-checked against the events
that arrived since: `affected` while it is still seen within the last N days, `remediated`
once it is not. The time of clean-up is the last sighting after the notice (or the sending
time when there was none after it): the best the data can say."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.settings import NotifySettings
from bluelamp.store import audit
from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import Cleanup, Notice, NoticeItem, NoticeStatus

SENT_STATES = (NoticeStatus.sent.value, NoticeStatus.delivered.value,
               NoticeStatus.acknowledged.value, NoticeStatus.bounced.value)
# the host of an event, and when it was last seen, as collect.host_of / Item define them
_HOST = "coalesce(source_ip, source_fqdn, source_url)"
_SEEN = "coalesce(time_last_seen, time_source, time_observed)"


def mark_delivered(db: Session, settings: NotifySettings, now: dt.datetime) -> int:
    """Sent notices without a bounce for `delivered_after_hours` count as delivered."""
    cutoff = now - dt.timedelta(hours=settings.delivered_after_hours)
    rows = list(db.scalars(select(Notice).where(Notice.status == NoticeStatus.sent.value,
                                                Notice.sent_at <= cutoff)))
    for notice in rows:
        notice.status, notice.delivered_at = NoticeStatus.delivered.value, now
    return len(rows)


def acknowledge(db: Session, notice: Notice, now: dt.datetime, actor: str) -> bool:
    """Record the recipient's acknowledgement; False if it was already recorded."""
    if notice.acknowledged_at is not None:
        return False
    if notice.status not in SENT_STATES:
        raise ValueError(f"notice {notice.id} has not been sent")
    notice.acknowledged_at = now
    notice.status = NoticeStatus.acknowledged.value
    audit.record(db, actor, "notice.acknowledged", f"notice:{notice.id}", {})
    return True


def sightings(lake: Lake, since: dt.datetime) -> dict[tuple[str, str], dt.datetime]:
    """(event type, host) → last time seen, over events seen after `since`."""
    if not lake.files("event"):
        return {}
    table = lake.query(
        f"SELECT classification_type AS t, {_HOST} AS h, max({_SEEN}) AS seen FROM event "
        f"WHERE {_HOST} IS NOT NULL AND {_SEEN} > ? GROUP BY 1, 2", [since])
    return {(r["t"] or "unknown", r["h"]): r["seen"] for r in table.to_pylist()}


@dataclass
class RecheckResult:
    checked: int = 0
    remediated: int = 0
    affected: int = 0

    def to_json(self) -> dict[str, Any]:
        return vars(self)


def recheck(db: Session, lake: Lake, settings: NotifySettings,
            now: dt.datetime) -> RecheckResult:
    """Re-check the hosts of notices sent at least `recheck_days` ago."""
    wait = dt.timedelta(days=settings.recheck_days)
    query = (select(NoticeItem).join(Notice).where(
        Notice.status.in_(SENT_STATES), Notice.sent_at <= now - wait,
        NoticeItem.cleanup != Cleanup.remediated.value))
    items = list(db.scalars(query))
    result = RecheckResult()
    if not items:
        return result
    seen = sightings(lake, min(i.notice.sent_at for i in items if i.notice.sent_at))
    for item in items:
        sent = item.notice.sent_at
        assert sent is not None
        last = seen.get((item.event_type, item.host))
        if last is not None and last > sent:
            item.seen_after = max(item.seen_after or last, last)
        result.checked += 1
        if item.seen_after is not None and item.seen_after > now - wait:
            item.cleanup = Cleanup.affected.value
            result.affected += 1
        else:
            item.cleanup = Cleanup.remediated.value
            item.remediated_at = item.seen_after or sent
            result.remediated += 1
    for notice in {i.notice for i in items}:
        notice.checked_at = now
    db.flush()
    return result
