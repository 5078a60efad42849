"""The daily CSV report per subscriber: every event of one UTC day on its systems."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.act.feeds.matching import Filter, Matcher
from bluelamp.act.feeds.pull import to_csv
from bluelamp.store.lake import Lake


def day_events(lake: Lake, flt: Filter, day: dt.date) -> pa.Table:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=1)
    events = lake.read("event", since=start)
    t = events.column("time_observed")
    events = events.filter(pc.less(t, pa.scalar(end, t.type)))
    rows = Matcher([flt]).match(events).column("row")
    return events.take(rows).sort_by([("time_observed", "ascending"), ("id", "ascending")])


def daily_csv(lake: Lake, flt: Filter, day: dt.date) -> str:
    """The report text (a header line even on a quiet day)."""
    return to_csv(day_events(lake, flt, day))


def write_reports(lake: Lake, filters: list[tuple[str, Filter]], day: dt.date,
                  out: Path) -> list[Path]:
    """One file per subscription: `<out>/<name>-<day>.csv`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, flt in filters:
        path = out / f"{name}-{day.isoformat()}.csv"
        path.write_text(daily_csv(lake, flt, day))
        written.append(path)
    return written
