"""What feeds remember between runs: which event ids were seen (dedup, aggregation,
lifecycle) and how each feed URL was last fetched (ETag / Last-Modified, time).

Event lifecycle, per stable event id (see docs/feeds.md):
- **new**: the id was never seen, or its last sighting is older than the window (it had
  expired). The event is written to the lake.
- **update**: the id was seen within the window. Its count and last sighting are updated
  here; nothing is written to the lake again, so pulling a feed twice adds no duplicates.
- **expired**: not seen for longer than the window (`expire()` marks them; a later
  sighting makes it new again: a C2 server that comes back is a new occurrence).
One SQLite file; every change is one transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY, feed TEXT NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, count INTEGER NOT NULL, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS seen_last ON seen (status, last_seen);
CREATE TABLE IF NOT EXISTS pulls (
    name TEXT PRIMARY KEY, url TEXT, etag TEXT, last_modified TEXT, last_pull REAL);
"""


@dataclass
class PullRecord:
    etag: str | None
    last_modified: str | None
    last_pull: dt.datetime | None


class FeedState:
    """Seen event ids and feed fetch state in one SQLite file."""

    def __init__(self, path: Path, window: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.window = window
        self.db = sqlite3.connect(self.path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- events -------------------------------------------------------------------------
    def observe(self, events: pa.Table, now: dt.datetime) -> np.ndarray:
        """Record one sighting of each event; return a mask of the rows that are new."""
        if events.num_rows == 0:
            return np.zeros(0, dtype=bool)
        ids = events.column("id").to_pylist()
        feeds = events.column("feed_name").to_pylist()
        counts = pc.fill_null(events.column("count"), 1).to_pylist()
        t = now.timestamp()
        horizon = t - self.window.total_seconds()
        known = self._known(ids, horizon)
        new = np.array([i not in known for i in ids], dtype=bool)
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?, ?, 'new')",
                [(i, f, t, t, c) for i, f, c, n in zip(ids, feeds, counts, new, strict=True)
                 if n])
            self.db.executemany(
                "UPDATE seen SET count = count + ?, last_seen = ?, status = 'update' "
                "WHERE id = ?",
                [(c, t, i) for i, c, n in zip(ids, counts, new, strict=True) if not n])
        return new

    def _known(self, ids: Sequence[str], horizon: float) -> set[str]:
        """Ids seen within the window and not expired."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM incoming")
        self.db.executemany("INSERT OR IGNORE INTO incoming VALUES (?)", ((i,) for i in ids))
        rows = self.db.execute(
            "SELECT s.id FROM seen s JOIN incoming USING (id) "
            "WHERE s.status != 'expired' AND s.last_seen >= ?", (horizon,))
        return {r[0] for r in rows}

    def expire(self, now: dt.datetime) -> int:
        """Mark events not seen within the window as expired; return how many."""
        horizon = now.timestamp() - self.window.total_seconds()
        with self.db:
            cur = self.db.execute("UPDATE seen SET status = 'expired' "
                                  "WHERE status != 'expired' AND last_seen < ?", (horizon,))
        return cur.rowcount

    def status(self, event_id: str) -> tuple[str, int] | None:
        row = self.db.execute("SELECT status, count FROM seen WHERE id = ?",
                              (event_id,)).fetchone()
        return (row[0], int(row[1])) if row else None

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, count(*) FROM seen GROUP BY status"))

    # -- pulls --------------------------------------------------------------------------
    def pull_record(self, name: str) -> PullRecord:
        row = self.db.execute("SELECT etag, last_modified, last_pull FROM pulls WHERE name = ?",
                              (name,)).fetchone()
        if not row:
            return PullRecord(None, None, None)
        when = dt.datetime.fromtimestamp(row[2], dt.UTC) if row[2] is not None else None
        return PullRecord(row[0], row[1], when)

    def save_pull(self, name: str, url: str, etag: str | None, last_modified: str | None,
                  when: dt.datetime) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO pulls VALUES (?, ?, ?, ?, ?)",
                            (name, url, etag, last_modified, when.timestamp()))
