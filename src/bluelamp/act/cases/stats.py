"""Yearly statistics of the desk, as registries publish them: names suspended by agency and
category, refused and reversed counts, complaints, and the time from request to suspension
(median and 90th percentile). A name counts in the year its request was filed."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from bluelamp.store.models.suspensions import (
    Agency,
    Complaint,
    ItemStatus,
    SuspensionItem,
    SuspensionRequest,
)

SUSPENDED = {ItemStatus.suspended.value, ItemStatus.reinstated.value}
REFUSED = {ItemStatus.refused.value, ItemStatus.rejected.value}


def years(db: Session) -> list[int]:
    rows = db.scalars(select(extract("year", SuspensionRequest.created_at)).distinct())
    return sorted({int(y) for y in rows if y is not None}, reverse=True)


def _hours(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None}
    arr = np.asarray(values)
    return {"median": round(float(np.median(arr)), 2),
            "p90": round(float(np.percentile(arr, 90)), 2)}


def yearly(db: Session, year: int) -> dict[str, Any]:
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    rows = db.execute(
        select(Agency.name, SuspensionRequest.category, SuspensionRequest.created_at,
               SuspensionItem.status, SuspensionItem.suspended_at)
        .join(SuspensionRequest, SuspensionItem.request_id == SuspensionRequest.id)
        .join(Agency, SuspensionRequest.agency_id == Agency.id)
        .where(SuspensionRequest.created_at >= start, SuspensionRequest.created_at < end)).all()
    by: dict[str, dict[str, Counter[str]]] = {"agency": defaultdict(Counter),
                                               "category": defaultdict(Counter)}
    months: Counter[str] = Counter()
    delays: list[float] = []
    totals: Counter[str] = Counter()
    for agency, category, created, status, suspended_at in rows:
        outcome = _outcome(status)
        for key, value in (("agency", agency), ("category", category)):
            by[key][value]["requested"] += 1
            by[key][value][outcome] += 1
            if status == ItemStatus.reinstated.value:
                by[key][value]["reversed"] += 1
        totals["requested"] += 1
        totals[outcome] += 1
        totals["reversed"] += status == ItemStatus.reinstated.value
        if suspended_at is not None:
            months[f"{suspended_at:%Y-%m}"] += 1
            delays.append((suspended_at - created).total_seconds() / 3600)
    complaints = db.scalar(
        select(func.count(Complaint.id)).where(Complaint.received_at >= start,
                                               Complaint.received_at < end)) or 0
    requests = db.scalar(select(func.count(SuspensionRequest.id)).where(
        SuspensionRequest.created_at >= start, SuspensionRequest.created_at < end)) or 0
    return {
        "year": year, "requests": requests, "complaints": complaints,
        "names": {k: totals.get(k, 0) for k in ("requested", "suspended", "refused",
                                                  "pending", "failed", "reversed")},
        "hours_to_suspension": _hours(delays),
        "by_agency": _table(by["agency"]), "by_category": _table(by["category"]),
        "suspended_by_month": dict(sorted(months.items())),
    }


def _outcome(status: str) -> str:
    if status in SUSPENDED:
        return "suspended"
    if status in REFUSED:
        return "refused"
    if status == ItemStatus.failed.value:
        return "failed"
    return "pending"


def _table(groups: dict[str, Counter[str]]) -> list[dict[str, Any]]:
    keys = ("requested", "suspended", "refused", "reversed")
    rows = [{"name": name, **{k: c.get(k, 0) for k in keys}} for name, c in groups.items()]
    return sorted(rows, key=lambda r: (-r["suspended"], r["name"]))
