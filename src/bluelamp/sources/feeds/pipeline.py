"""From feed files and URLs to the lake: parse, validate, aggregate, deduplicate, attribute,
write; bad rows to the quarantine. Used by `bluelamp feeds ingest` and `bluelamp feeds pull`.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import BluelampError, InputError, RecordError
from bluelamp.events import aggregate
from bluelamp.schema import EVENT
from bluelamp.settings import FeedSource, FeedsSettings, load_settings
from bluelamp.sources.base import SNIFF_BYTES, Chunk, open_input
from bluelamp.sources.feeds import detect_feed, get_feed
from bluelamp.sources.feeds.base import FeedParser
from bluelamp.sources.feeds.generic import Generic
from bluelamp.sources.feeds.state import FeedState


class EventSink(Protocol):
    def write(self, kind: str, table: pa.Table) -> list[Path]: ...


class Attributing(Protocol):
    def attribute(self, events: pa.Table, ip_column: str = "source_ip") -> pa.Table: ...


# ---------------------------------------------------------------------------------------
# settings: the [feeds] section of the settings file
# ---------------------------------------------------------------------------------------
def load_feeds_settings(config: Path | None = None) -> FeedsSettings:
    """The `[feeds]` section of the settings in force (file and BLUELAMP_FEEDS__* variables)."""
    return load_settings(config).feeds


# ---------------------------------------------------------------------------------------
# ingestion
# ---------------------------------------------------------------------------------------
@dataclass
class FeedStats:
    rows: int = 0
    events: int = 0
    duplicates: int = 0
    errors: int = 0


@dataclass
class IngestResult:
    by_feed: dict[str, FeedStats] = field(default_factory=dict)
    quarantined: list[Path] = field(default_factory=list)

    def feed(self, name: str) -> FeedStats:
        return self.by_feed.setdefault(name, FeedStats())

    def to_json(self) -> dict[str, Any]:
        total = FeedStats()
        for s in self.by_feed.values():
            total.rows += s.rows
            total.events += s.events
            total.errors += s.errors
            total.duplicates += s.duplicates
        return {"rows": total.rows, "events": total.events, "errors": total.errors,
                "duplicates": total.duplicates,
                "by_feed": {k: vars(v) for k, v in sorted(self.by_feed.items())}}


class Quarantine:
    """Bad rows, one NDJSON line each: where (file, line, field), why, the raw row."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, feed: str, errors: list[RecordError], when: dt.datetime) -> Path | None:
        if not errors:
            return None
        folder = self.root / f"feed={feed}" / f"day={when:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{when:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.ndjson"
        tmp = path.with_name("." + path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for err in errors:
                fh.write(json.dumps({"feed": feed, "quarantined": when.isoformat(),
                                     **err.to_json()}) + "\n")
        tmp.replace(path)
        return path


def parser_for(path: Path, feed: str | None, mapping: Path | None) -> FeedParser:
    if mapping is not None:
        return Generic.from_file(mapping)
    if feed and feed != "auto":
        return get_feed(feed)
    with open_input(path) as stream:
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    return detect_feed(head, path.name, str(path))


@dataclass
class Ingestor:
    """Runs chunks of events through aggregation, dedup, attribution and the lake."""

    sink: EventSink | None
    attributor: Attributing | None = None
    state: FeedState | None = None
    quarantine: Quarantine | None = None
    strict: bool = False
    result: IngestResult = field(default_factory=IngestResult)
    _seen: set[str] = field(default_factory=set)

    def ingest_path(self, path: Path, feed: str | None = None,
                    mapping: Path | None = None, *, feed_url: str | None = None,
                    label: str | None = None, batch_size: int = 65_536,
                    now: dt.datetime | None = None) -> None:
        """Ingest one file; `label` names it in errors and raw_ref (default: its path)."""
        parser = parser_for(path, feed, mapping)
        now = now or dt.datetime.now(dt.UTC)
        with open_input(path) as stream:
            chunks = parser.parse(stream, label or str(path),  # type: ignore[arg-type]
                                  batch_size=batch_size, observed=now)
            self.ingest_chunks(parser.name, chunks, now, feed_url=feed_url)

    def ingest_chunks(self, name: str, chunks: Iterable[Chunk], now: dt.datetime, *,
                      feed_url: str | None = None) -> None:
        stats = self.result.feed(name)
        for chunk in chunks:
            if self.strict and chunk.errors:
                raise InputError(chunk.errors[0])
            stats.errors += len(chunk.errors)
            stats.rows += len(chunk.errors) + (chunk.batch.num_rows if chunk.batch else 0)
            if self.quarantine is not None and chunk.errors:
                where = self.quarantine.write(name, chunk.errors, now)
                if where:
                    self.result.quarantined.append(where)
            if chunk.batch is not None and chunk.batch.num_rows:
                table = pa.Table.from_batches([chunk.batch])
                if feed_url:
                    table = table.set_column(table.schema.get_field_index("feed_url"),
                                             EVENT.arrow.field("feed_url"),
                                             pc.fill_null(table.column("feed_url"), feed_url))
                fresh = self._dedup(aggregate(table), now)
                stats.duplicates += table.num_rows - fresh.num_rows
                stats.events += fresh.num_rows
                self._write(fresh)

    def _dedup(self, table: pa.Table, now: dt.datetime) -> pa.Table:
        """Keep the rows whose id is new: per the state (window, lifecycle) when there is
        one, else per this run."""
        if self.state is not None:
            return table.filter(pa.array(self.state.observe(table, now)))
        ids = table.column("id").to_pylist()
        keep = [i not in self._seen for i in ids]
        self._seen.update(ids)
        return table.filter(pa.array(keep))

    def _write(self, table: pa.Table) -> None:
        if table.num_rows == 0 or self.sink is None:
            return
        if self.attributor is not None:
            table = EVENT.conform(self.attributor.attribute(table))
        self.sink.write("event", table)


# ---------------------------------------------------------------------------------------
# pulling
# ---------------------------------------------------------------------------------------
@dataclass
class PullOutcome:
    name: str
    status: str  # fetched | not-modified | not-due | failed
    detail: str = ""
    attempts: int = 0


def fetch(client: httpx.Client, source: FeedSource, state: FeedState, settings: FeedsSettings,
          sleep: Callable[[float], None] = time.sleep) -> tuple[httpx.Response | None, int, str]:
    """GET with conditional headers; retry 5xx, 429 and network errors with doubling
    back-off. Returns the response (None on failure), attempts made, and why it failed."""
    record = state.pull_record(source.name)
    headers = {}
    if record.etag:
        headers["If-None-Match"] = record.etag
    if record.last_modified:
        headers["If-Modified-Since"] = record.last_modified
    delay, why = settings.backoff, ""
    for attempt in range(1, settings.retries + 2):
        try:
            resp = client.get(source.url, headers=headers)
            if resp.status_code < 500 and resp.status_code != 429:
                return resp, attempt, ""
            why = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
        if attempt <= settings.retries:
            sleep(delay)
            delay *= 2
    return None, settings.retries + 1, why


def _download_name(source: FeedSource, resp: httpx.Response) -> str:
    """Keep the remote file name: Shadowserver's report type lives in it."""
    disposition = resp.headers.get("content-disposition", "")
    if "filename=" in disposition:
        return Path(disposition.split("filename=", 1)[1].strip('"; ')).name
    return Path(urlparse(source.url).path).name or f"{source.name}.feed"


def _fetch_misp_events(client: httpx.Client, source: FeedSource, manifest: Path) -> str:
    """A MISP feed's manifest names its event files: fetch them next to it. Returns why
    that failed, or '' (also when the file is not a MISP manifest)."""
    if source.feed not in ("misp", "auto") or manifest.name != "manifest.json":
        return ""
    try:
        uuids = list(json.loads(manifest.read_text("utf-8")))
    except (ValueError, TypeError):
        return ""
    base = source.url.rsplit("/", 1)[0]
    for uuid_ in uuids:
        if not all(c.isalnum() or c == "-" for c in str(uuid_)):
            return f"manifest names a bad event id {uuid_!r}"
        resp = client.get(f"{base}/{uuid_}.json")
        if resp.status_code != 200:
            return f"{base}/{uuid_}.json: HTTP {resp.status_code}"
        (manifest.parent / f"{uuid_}.json").write_bytes(resp.content)
    return ""


def pull(sources: Iterator[FeedSource] | list[FeedSource], ingestor: Ingestor,
         state: FeedState, settings: FeedsSettings, *, force: bool = False,
         now: dt.datetime | None = None,
         sleep: Callable[[float], None] = time.sleep) -> list[PullOutcome]:
    """Pull every source that is due (or all with `force`) once."""
    now = now or dt.datetime.now(dt.UTC)
    outcomes = []
    with httpx.Client(timeout=settings.timeout, follow_redirects=True) as client:
        for source in sources:
            record = state.pull_record(source.name)
            if not force and record.last_pull and \
                    (now - record.last_pull).total_seconds() < source.interval:
                outcomes.append(PullOutcome(source.name, "not-due"))
                continue
            outcomes.append(_pull_one(client, source, ingestor, state, settings, now, sleep))
    state.expire(now)
    return outcomes


def _pull_one(client: httpx.Client, source: FeedSource, ingestor: Ingestor, state: FeedState,
              settings: FeedsSettings, now: dt.datetime,
              sleep: Callable[[float], None]) -> PullOutcome:
    resp, attempts, why = fetch(client, source, state, settings, sleep)
    if resp is None:
        return PullOutcome(source.name, "failed", why, attempts)
    if resp.status_code == 304:
        state.save_pull(source.name, source.url, resp.headers.get("etag") or
                        state.pull_record(source.name).etag,
                        resp.headers.get("last-modified") or
                        state.pull_record(source.name).last_modified, now)
        return PullOutcome(source.name, "not-modified", "", attempts)
    if resp.status_code != 200:
        return PullOutcome(source.name, "failed", f"HTTP {resp.status_code}", attempts)
    with tempfile.TemporaryDirectory(prefix="bluelamp-pull-") as tmp:
        path = Path(tmp) / _download_name(source, resp)
        path.write_bytes(resp.content)
        why = _fetch_misp_events(client, source, path)
        if why:
            return PullOutcome(source.name, "failed", why, attempts)
        try:
            ingestor.ingest_path(path, source.feed, source.mapping, feed_url=source.url,
                                 label=source.url, now=now)
        except BluelampError as exc:
            return PullOutcome(source.name, "failed", str(exc), attempts)
    state.save_pull(source.name, source.url, resp.headers.get("etag"),
                    resp.headers.get("last-modified"), now)
    return PullOutcome(source.name, "fetched", "", attempts)
