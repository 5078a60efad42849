"""Did the notices work? Per region and per event type: hosts notified, hosts re-checked,
clean-up rate (remediated / re-checked) and median days from notice to clean-up; and the
delivery funnel (sent, delivered, bounced, acknowledged)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify.track import SENT_STATES
from bluelamp.store.models.notifications import Cleanup, Notice, NoticeItem


@dataclass
class Group:
    notified: int = 0
    remediated: int = 0
    affected: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return self.remediated + self.affected

    @property
    def rate(self) -> float | None:
        return self.remediated / self.checked if self.checked else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    def to_json(self) -> dict[str, Any]:
        return {"notified": self.notified, "checked": self.checked,
                "remediated": self.remediated, "affected": self.affected,
                "cleanup_rate": None if self.rate is None else round(self.rate, 4),
                "median_days_to_cleanup": (None if self.median_days is None
                                           else round(self.median_days, 2))}


@dataclass
class Stats:
    by_region: dict[str, Group]
    by_type: dict[str, Group]
    total: Group
    funnel: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total.to_json(), "funnel": self.funnel,
                "by_region": {k: v.to_json() for k, v in sorted(self.by_region.items())},
                "by_type": {k: v.to_json() for k, v in sorted(self.by_type.items())}}


def compute(db: Session) -> Stats:
    rows = db.execute(select(NoticeItem, Notice.region, Notice.sent_at).join(Notice)
                      .where(Notice.status.in_(SENT_STATES)))
    by_region: dict[str, Group] = {}
    by_type: dict[str, Group] = {}
    total = Group()
    for item, region, sent_at in rows:
        groups = (total, by_region.setdefault(region or "(unknown)", Group()),
                  by_type.setdefault(item.event_type, Group()))
        for g in groups:
            g.notified += 1
            if item.cleanup == Cleanup.affected.value:
                g.affected += 1
            elif item.cleanup == Cleanup.remediated.value:
                g.remediated += 1
                if item.remediated_at is not None and sent_at is not None:
                    g.days.append(max(0.0, (item.remediated_at - sent_at).total_seconds()
                                      / 86_400))
    funnel = Counter(db.scalars(select(Notice.status)))
    acknowledged = db.scalars(select(Notice.id).where(Notice.acknowledged_at.is_not(None)))
    return Stats(by_region, by_type, total,
                 {**{k: funnel.get(k, 0) for k in ("draft", "approved", "sent", "delivered",
                                                   "bounced", "acknowledged", "discarded")},
                  "ever_acknowledged": len(list(acknowledged))})
