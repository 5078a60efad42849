"""One notification round, as `bluelamp notify run` and the tests drive it: build notices
from new events, send what the rules or notifiers approved, count silent notices as
delivered, and re-check the hosts of notices that are due. `now` is injected (the clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bluelamp.act.notify.collect import collect, interval_end
from bluelamp.act.notify.deliver import Outcome, deliver_approved
from bluelamp.act.notify.store import store_draft
from bluelamp.act.notify.track import RecheckResult, mark_delivered, recheck
from bluelamp.settings import Settings
from bluelamp.store.lake import Lake


@dataclass
class RunReport:
    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    unroutable: int = 0
    skipped_tlp: int = 0
    already_notified: int = 0
    would_notify: list[dict[str, Any]] = field(default_factory=list)  # dry run
    outcomes: list[Outcome] = field(default_factory=list)
    delivered: int = 0
    recheck: RecheckResult = field(default_factory=RecheckResult)

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created, "duplicates": self.duplicates,
                "unroutable_events": self.unroutable, "skipped_tlp_red": self.skipped_tlp,
                "already_notified_events": self.already_notified,
                "would_notify": self.would_notify,
                "deliveries": [vars(o) for o in self.outcomes],
                "marked_delivered": self.delivered, "recheck": self.recheck.to_json()}


def run(db: Session, lake: Lake, settings: Settings, now: dt.datetime, *,
        dry_run: bool = False) -> RunReport:
    """One round; with `dry_run`, only report which notices would be built (nothing is
    stored or sent)."""
    cfg = settings.notify
    until = interval_end(now, cfg.interval_hours)
    found = collect(db, lake, since=now - dt.timedelta(days=cfg.lookback_days),
                    until=until if cfg.interval_hours > 0 else None,
                    min_confidence=cfg.min_confidence)
    report = RunReport(unroutable=found.unroutable, skipped_tlp=found.skipped_tlp,
                       already_notified=found.already_notified)
    if dry_run:
        report.would_notify = [{"owner": d.owner, "organisation": d.org_name,
                                "region": d.region, "events": len(d.items),
                                "hosts": sorted({i.host for i in d.items})}
                               for d in found.drafts]
        return report
    for draft in found.drafts:
        notice = store_draft(db, cfg, draft, now, until)
        if notice is None:
            report.duplicates += 1
        else:
            report.created.append(notice.id)
    db.flush()
    report.outcomes = deliver_approved(db, settings, now)
    report.delivered = mark_delivered(db, cfg, now)
    report.recheck = recheck(db, lake, cfg, now)
    return report
