"""REST pull: one subscription's events from the lake, in pages, as JSON, CSV or NDJSON.

Pages are ordered by (time_observed, id) and the cursor is the last (time, id) returned, so a
page boundary never skips or repeats an event even when many share a timestamp."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.act.feeds.matching import Filter, Matcher
from bluelamp.schema import EVENT, dumps
from bluelamp.store.lake import Lake

MAX_PAGE = 5000


class CursorError(ValueError):
    """The `cursor` parameter is not one this server issued."""


@dataclass(frozen=True)
class Page:
    events: pa.Table
    next_cursor: str | None


def encode_cursor(time: dt.datetime, event_id: str) -> str:
    raw = json.dumps([time.astimezone(dt.UTC).isoformat(), event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        when, event_id = json.loads(raw)
        return dt.datetime.fromisoformat(when), str(event_id)
    except (ValueError, TypeError) as exc:
        raise CursorError(f"cursor: not a cursor from this feed ({exc})") from None


def matched(lake: Lake, flt: Filter, since: dt.datetime) -> pa.Table:
    """Every event since `since` that the filter (scope, type, confidence, TLP) passes, in
    (time_observed, id) order."""
    events = lake.read("event", since=since)
    rows = Matcher([flt]).match(events).column("row")
    return events.take(rows).sort_by([("time_observed", "ascending"), ("id", "ascending")])


def page(events: pa.Table, cursor: str | None, limit: int) -> Page:
    limit = max(1, min(limit, MAX_PAGE))
    if cursor:
        when, last_id = decode_cursor(cursor)
        t = events.column("time_observed")
        after = pc.or_(pc.greater(t, pa.scalar(when, t.type)),
                       pc.and_(pc.equal(t, pa.scalar(when, t.type)),
                               pc.greater(events.column("id"), last_id)))
        events = events.filter(after)
    chunk = events.slice(0, limit)
    more = events.num_rows > limit
    next_cursor = None
    if more and chunk.num_rows:
        last = chunk.slice(chunk.num_rows - 1).to_pylist()[0]
        next_cursor = encode_cursor(last["time_observed"], last["id"])
    return Page(chunk, next_cursor)


def as_json_rows(events: pa.Table) -> list[dict[str, Any]]:
    return EVENT.to_json_rows(EVENT.conform(events))


def to_ndjson(events: pa.Table) -> str:
    return "".join(dumps(row) + "\n" for row in as_json_rows(events))


def to_csv(events: pa.Table) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(EVENT.names), lineterminator="\n")
    writer.writeheader()
    for row in as_json_rows(events):
        writer.writerow({k: ("" if v is None else v if not isinstance(v, list | dict)
                             else dumps(v)) for k, v in row.items()})
    return out.getvalue()
