"""From events in the lake to notice drafts: one per owner (a registered organisation, or the
abuse contact attribution found for an unregistered one), holding every event of the interval
that no earlier notice to that owner named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import NoticeItem
from bluelamp.store.models.orgs import Organisation

#: TLP:RED is for named recipients only; it never goes into a notice
NOT_NOTIFIABLE_TLP = frozenset({"red"})
COLUMNS = ("id", "classification_type", "classification_identifier", "source_ip",
           "source_fqdn", "source_url", "source_org", "source_region", "source_abuse_contact",
           "time_source", "time_last_seen", "time_observed", "count", "extra", "feed_name",
           "confidence", "tlp")


@dataclass(frozen=True)
class Item:
    """One event as a notice names it."""

    event_id: str
    event_type: str
    identifier: str | None
    host: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    observed: dt.datetime
    evidence: str
    feed: str | None
    confidence: float | None


@dataclass
class Draft:
    """Events for one owner, not yet stored as a notice."""

    owner: str  # "org:<id>" or the abuse contact address
    org_id: int | None
    org_name: str | None
    region: str | None
    items: list[Item] = field(default_factory=list)

    @property
    def start(self) -> dt.datetime:
        return min(i.observed for i in self.items)

    def key(self, end: dt.datetime) -> str:
        """Owner + interval + the set of events: a notice with the same key exists once."""
        ids = sorted({i.event_id for i in self.items})
        text = json.dumps([self.owner, self.start.isoformat(), end.isoformat(), ids])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Collected:
    drafts: list[Draft]
    unroutable: int = 0  # events with neither a registered owner nor an abuse contact
    skipped_tlp: int = 0
    already_notified: int = 0


def host_of(row: Mapping[str, Any]) -> str | None:
    return row.get("source_ip") or row.get("source_fqdn") or row.get("source_url")


def evidence_of(row: Mapping[str, Any]) -> str:
    """A short readable line: the explanation of a finding, else what the feed reported."""
    parts: list[str] = []
    raw = row.get("extra") or ""
    extra: Any = {}
    if '"explanation"' in raw:  # parse only what can hold one (most feed rows do not)
        try:
            extra = json.loads(raw)
        except json.JSONDecodeError:
            extra = {}
    if isinstance(extra, dict) and extra.get("explanation"):
        parts.append(str(extra["explanation"]))
    else:
        if row.get("classification_identifier"):
            parts.append(f"identified as {row['classification_identifier']}")
        if row.get("source_url") and row.get("source_url") != host_of(row):
            parts.append(f"URL {row['source_url']}")
    if (row.get("count") or 1) > 1:
        parts.append(f"seen {row['count']} times")
    if row.get("feed_name"):
        parts.append(f"source: {row['feed_name']}")
    return "; ".join(parts)[:2000]


def read_events(lake: Lake, since: dt.datetime) -> list[dict[str, Any]]:
    if not lake.files("event"):
        return []
    table: pa.Table = lake.read("event", since=since).select(list(COLUMNS))
    # column by column: much faster than Table.to_pylist's dict per row
    columns = [table.column(c).to_pylist() for c in COLUMNS]
    return [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]


def _orgs_by_name(db: Session) -> dict[str, Organisation]:
    return {o.name.casefold(): o for o in db.scalars(select(Organisation))}


def _notified(db: Session, event_ids: list[str]) -> set[tuple[str, str]]:
    """(owner, event id) pairs already in a notice, for these events (in chunks: the
    databases cap the number of bound parameters)."""
    out: set[tuple[str, str]] = set()
    unique = sorted(set(event_ids))
    for i in range(0, len(unique), 2000):
        query = select(NoticeItem.owner, NoticeItem.event_id).where(
            NoticeItem.event_id.in_(unique[i:i + 2000]))
        out.update((o, e) for o, e in db.execute(query))
    return out


def interval_end(now: dt.datetime, hours: int) -> dt.datetime:
    """The end of the last interval that has ended by `now` (intervals of `hours` hours from
    midnight UTC); `now` itself when `hours` is 0."""
    if hours <= 0:
        return now
    day = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + dt.timedelta(hours=hours * ((now - day) // dt.timedelta(hours=hours)))


def collect(db: Session, lake: Lake, *, since: dt.datetime, until: dt.datetime | None = None,
            min_confidence: float = 0.0,
            rows: Iterable[Mapping[str, Any]] | None = None) -> Collected:
    """Group the events observed in [since, until) (no upper bound when `until` is None) by
    owner, leaving out events already named in a notice to the same owner."""
    orgs = _orgs_by_name(db)
    drafts: dict[str, Draft] = {}
    regions: dict[str, Counter[str]] = {}
    out = Collected([])
    events = list(rows if rows is not None else read_events(lake, since))
    seen = _notified(db, [r["id"] for r in events])
    for row in events:
        if until is not None and row["time_observed"] >= until:
            continue  # its interval has not ended yet
        host = host_of(row)
        if host is None or (row.get("confidence") is not None
                            and row["confidence"] < min_confidence):
            continue
        if (row.get("tlp") or "").lower() in NOT_NOTIFIABLE_TLP:
            out.skipped_tlp += 1
            continue
        org = orgs.get((row.get("source_org") or "").casefold())
        contact = (row.get("source_abuse_contact") or "").strip().lower()
        if org is None and "@" not in contact:
            out.unroutable += 1
            continue
        owner = f"org:{org.id}" if org is not None else contact
        if (owner, row["id"]) in seen:
            out.already_notified += 1
            continue
        seen.add((owner, row["id"]))
        draft = drafts.setdefault(owner, Draft(owner, org.id if org else None,
                                               org.name if org else None,
                                               org.region if org else None))
        draft.items.append(_item(row, host))
        if row.get("source_region"):
            regions.setdefault(owner, Counter())[row["source_region"]] += 1
    for owner, draft in drafts.items():
        if draft.region is None and owner in regions:
            draft.region = regions[owner].most_common(1)[0][0]
    out.drafts = sorted(drafts.values(), key=lambda d: d.owner)
    return out


def _item(row: Mapping[str, Any], host: str) -> Item:
    first = row.get("time_source") or row.get("time_observed")
    return Item(event_id=row["id"], event_type=row.get("classification_type") or "unknown",
                identifier=row.get("classification_identifier"), host=host,
                first_seen=first, last_seen=row.get("time_last_seen") or first,
                observed=row["time_observed"], evidence=evidence_of(row),
                feed=row.get("feed_name"), confidence=row.get("confidence"))
