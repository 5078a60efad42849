"""Figures of the public-reporting service: reports a day, time to verification, time to
takedown and the share of reports routed to someone who can act (all per day, for plots)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.store.models.reports import Outcome, PublicReport

Series = list[tuple[str, float]]
DONE = (Outcome.taken_down.value, Outcome.suspended.value)


def _days(since: dt.date, until: dt.date) -> list[str]:
    return [(since + dt.timedelta(days=i)).isoformat() for i in range((until - since).days + 1)]


def _hours(start: dt.datetime, end: dt.datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds() / 3600)


def compute(db: Session, days: int = 30, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=days)
    rows = db.execute(select(
        PublicReport.created_at, PublicReport.verified_at, PublicReport.routed_at,
        PublicReport.closed_at, PublicReport.outcome, PublicReport.category,
        PublicReport.channel).where(PublicReport.created_at >= since)).all()
    per_day: Counter[str] = Counter()
    routed_day: Counter[str] = Counter()
    verify_h: dict[str, list[float]] = defaultdict(list)
    takedown_h: dict[str, list[float]] = defaultdict(list)
    categories: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for created, verified, routed, closed, outcome, category, channel in rows:
        day = created.date().isoformat()
        per_day[day] += 1
        routed_day[day] += routed is not None
        categories[category or "unknown"] += 1
        channels[channel] += 1
        if (h := _hours(created, verified)) is not None:
            verify_h[day].append(h)
        if outcome in DONE and (h := _hours(created, closed)) is not None:
            takedown_h[day].append(h)
    labels = _days(since.date(), now.date())
    all_verify = [h for v in verify_h.values() for h in v]
    all_takedown = [h for v in takedown_h.values() for h in v]
    total = sum(per_day.values())
    return {
        "days": days,
        "total": total,
        "routed": sum(routed_day.values()),
        "share_routed": (sum(routed_day.values()) / total) if total else None,
        "median_hours_to_verification": statistics.median(all_verify) if all_verify else None,
        "median_hours_to_takedown": statistics.median(all_takedown) if all_takedown else None,
        "reports_per_day": [(d, float(per_day[d])) for d in labels],
        "share_routed_per_day": [(d, routed_day[d] / per_day[d] if per_day[d] else 0.0)
                                 for d in labels],
        "hours_to_verification_per_day": [(d, statistics.median(verify_h[d])) for d in labels
                                          if verify_h[d]],
        "hours_to_takedown_per_day": [(d, statistics.median(takedown_h[d])) for d in labels
                                      if takedown_h[d]],
        "by_category": categories.most_common(),
        "by_channel": channels.most_common(),
    }
