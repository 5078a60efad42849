"""The live feed: watch the lake for new events, match them against every active
subscription at once, push them to open SSE streams and queue webhook deliveries.

One `FeedHub` per web process, started by the app's lifespan. New events are found by
listing the lake's event files (a file is written atomically, once), so the hub never reads
an event twice unless compaction rewrites it; ids already sent are remembered (bounded) to
drop those repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from bluelamp.act.feeds import subscriptions, webhooks
from bluelamp.act.feeds.matching import Matcher
from bluelamp.act.feeds.pull import as_json_rows
from bluelamp.schema import EVENT, dumps
from bluelamp.settings import SharingSettings
from bluelamp.store.lake import Lake
from bluelamp.store.models.subscriptions import Channel

log = logging.getLogger(__name__)
SEEN_IDS = 200_000
QUEUE_EVENTS = 10_000  # per SSE listener; a slower reader loses the oldest batches


@dataclass
class FeedHub:
    lake: Lake
    sessions: sessionmaker[Session]
    settings: SharingSettings
    listeners: dict[int, set[asyncio.Queue[list[dict[str, Any]]]]] = field(default_factory=dict)
    files_seen: set[Path] = field(default_factory=set)
    ids_seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _matcher: tuple[float, Matcher, dict[int, str]] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    _logged: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ subscribers (SSE)

    def listen(self, subscription_id: int) -> asyncio.Queue[list[dict[str, Any]]]:
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(maxsize=QUEUE_EVENTS)
        self.listeners.setdefault(subscription_id, set()).add(queue)
        return queue

    def leave(self, subscription_id: int, queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        self.listeners.get(subscription_id, set()).discard(queue)

    def invalidate(self) -> None:
        """Subscriptions changed: rebuild the filters before the next batch."""
        self._matcher = None

    # ------------------------------------------------------------------ the loop

    def prime(self) -> None:
        """Events already in the lake at start are history (REST pull), not live news."""
        self.files_seen = set(self.lake.files("event"))

    def poke(self) -> None:
        """Look now instead of at the next poll (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.prime)
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.poll_once)
            except Exception as exc:  # a bad file or a database hiccup must not end the feed
                self._report(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.poll_seconds)
            self.wake.clear()

    def _report(self, exc: Exception) -> None:
        """Log a failing poll, but the same failure at most once a minute (a missing table
        or an unreachable database would otherwise fill the log twice a second)."""
        key = f"{type(exc).__name__}: {exc}"[:200]
        now = time.monotonic()
        if now - self._logged.get(key, -1e9) >= 60:
            self._logged[key] = now
            log.error("live feed poll failed: %s", key, exc_info=exc)

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def poll_once(self) -> int:
        """Dispatch the events of new lake files, then try due webhooks. Returns events sent."""
        new = [p for p in self.lake.files("event") if p not in self.files_seen]
        sent = 0
        if new:
            self.files_seen.update(new)
            sent = self.dispatch(self._read(new))
        with self.sessions() as db:
            webhooks.deliver_due(db, self._policy())
        return sent

    def _read(self, paths: list[Path]) -> pa.Table:
        tables = []
        for path in paths:
            try:
                tables.append(EVENT.conform(pq.read_table(path)))
            except (OSError, pa.ArrowException) as exc:
                log.warning("live feed: cannot read %s: %s", path, exc)
        return pa.concat_tables(tables) if tables else EVENT.empty_table()

    def _policy(self) -> webhooks.RetryPolicy:
        s = self.settings
        return webhooks.RetryPolicy(s.webhook_max_attempts, s.webhook_backoff_seconds,
                                    s.webhook_backoff_max_seconds, s.webhook_timeout_seconds,
                                    s.webhook_allow_private)

    def _fresh(self, events: pa.Table) -> pa.Table:
        ids = events.column("id").to_pylist()
        keep = [i not in self.ids_seen for i in ids]
        for i in ids:
            self.ids_seen[i] = None
        while len(self.ids_seen) > SEEN_IDS:
            self.ids_seen.popitem(last=False)
        return events.filter(pa.array(keep, pa.bool_()))

    def matcher(self) -> tuple[Matcher, dict[int, str]]:
        now = time.monotonic()
        if self._matcher is None or now - self._matcher[0] > self.settings.filter_refresh_seconds:
            with self.sessions() as db:
                rows = subscriptions.active(db)
                built = Matcher(subscriptions.filters(db, rows))
                channels = {row.id: row.channel for row in rows}
            self._matcher = (now, built, channels)
        return self._matcher[1], self._matcher[2]

    def dispatch(self, events: pa.Table) -> int:
        """Match a batch against every active subscription; push to SSE, queue webhooks."""
        events = self._fresh(events)
        if events.num_rows == 0:
            return 0
        matcher, channels = self.matcher()
        matches = matcher.match(events)
        sent = 0
        hooks: list[tuple[int, pa.Table]] = []
        for key, rows in _group(matches).items():
            chosen = events.take(pa.array(rows))
            payload = as_json_rows(chosen)
            sent += len(payload)
            for queue in list(self.listeners.get(key, ())):
                _offer(queue, payload)
            if channels.get(key) == Channel.webhook:
                hooks.append((key, chosen))
        if hooks:
            self._queue_webhooks(hooks)
        return sent

    def _queue_webhooks(self, hooks: list[tuple[int, pa.Table]]) -> None:
        from bluelamp.store.models.subscriptions import Subscription

        with self.sessions() as db:
            for key, chosen in hooks:
                sub = db.get(Subscription, key)
                if sub is not None and sub.active:
                    body = webhooks.body(sub, chosen)
                    webhooks.enqueue(db, sub, body, chosen.num_rows)
            db.commit()


def _group(matches: pa.Table) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for row, key in zip(matches.column("row").to_pylist(),
                        matches.column("subscription").to_pylist(), strict=True):
        out.setdefault(key, []).append(row)
    return out


def _offer(queue: asyncio.Queue[list[dict[str, Any]]], payload: list[dict[str, Any]]) -> None:
    """Called from the worker thread: hand over to the listener's event loop safely."""
    loop = getattr(queue, "_bluelamp_loop", None)
    if loop is None:
        return
    loop.call_soon_threadsafe(_put, queue, payload)


def _put(queue: asyncio.Queue[list[dict[str, Any]]], payload: list[dict[str, Any]]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(payload)


def attach(queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
    """Remember the running loop of a listener's queue (asyncio queues are not thread-safe)."""
    queue._bluelamp_loop = asyncio.get_running_loop()  # type: ignore[attr-defined]


async def sse_stream(hub: FeedHub, subscription_id: int,
                     is_disconnected: Any) -> AsyncIterator[str]:
    """Server-Sent Events: one `event: events` message per matched batch, comments as
    keep-alives; ends when the client goes away."""
    queue = hub.listen(subscription_id)
    attach(queue)
    try:
        yield ": connected\n\n"
        while not await is_disconnected():
            try:
                payload = await asyncio.wait_for(queue.get(), hub.settings.sse_keepalive_seconds)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            stamp = dt.datetime.now(dt.UTC).isoformat()
            yield f"event: events\nid: {stamp}\ndata: {dumps(payload)}\n\n"
    finally:
        hub.leave(subscription_id, queue)


def install(app: FastAPI, lake: Lake, sessions: sessionmaker[Session],
            settings: SharingSettings) -> FeedHub:
    """Create the hub on `app.state.feed_hub` and run its loop during the app's lifespan."""
    hub = FeedHub(lake, sessions, settings)
    app.state.feed_hub = hub
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(hub.run())
        try:
            async with inner(a) as state:
                yield state
        finally:
            hub.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)

    app.router.lifespan_context = lifespan
    return hub
