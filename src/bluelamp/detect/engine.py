"""The engine: runs pure detectors over `dns` batches in tumbling windows.

It owns what detectors must not know about: batching, windows (UTC epoch aligned, one set
per window length), closing windows by watermark, late rows, state limits, checkpoints,
metrics and output to the lake. The same instance serves files (`process` … `flush`) and
live input (`process` as data arrives, `advance` when it is idle, `save_checkpoint`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import logging
import pkgutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa

from bluelamp.detect import checkpoint as ckpt
from bluelamp.detect.base import Detector, Finding, Limits, WindowContext, findings_table
from bluelamp.detect.metrics import EngineMetrics
from bluelamp.detect.state import KeyedAggregate
from bluelamp.schema import DNS
from bluelamp.sources.base import Chunk

if TYPE_CHECKING:
    from bluelamp.settings import Settings
    from bluelamp.store.lake import Lake

__all__ = ["Engine", "EngineMetrics", "default_detectors", "detector_factories",
           "settings_window"]

US = 1_000_000
T = TypeVar("T")
log = logging.getLogger(__name__)


class _Broken:
    """The state of a detector that failed in a window (with isolate_errors)."""

    def __repr__(self) -> str:
        return "BROKEN"


BROKEN: Any = _Broken()
#: observation rows buffered before one Parquet file is written to the lake
OBSERVATION_FLUSH_ROWS = 500_000
#: modules of this package that are engine machinery, not detectors
_INTERNAL = {"base", "engine", "metrics", "checkpoint", "state"}


def to_us(t: dt.datetime | dt.timedelta) -> int:
    """Microseconds since the epoch (datetime; naive means UTC) or in a duration."""
    if isinstance(t, dt.timedelta):
        return (t.days * 86_400 + t.seconds) * US + t.microseconds
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return to_us(t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC))


def from_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))


@dataclass
class _Window:
    """One open window of one window length: a context and a state per detector."""

    start_us: int
    end_us: int
    contexts: list[WindowContext]
    states: list[Any]


@dataclass
class _Group:
    """Detectors that share a window length, and their open windows."""

    length_us: int
    detectors: list[Detector[Any]]
    open: dict[int, _Window] = field(default_factory=dict)
    #: end of the last window closed; rows before it are late
    closed_until: int = -(2**62)


class Engine:
    """Run `detectors` over chunks of `dns` rows; see docs/engine.md."""

    def __init__(
        self,
        detectors: Sequence[Detector[Any]],
        *,
        limits: Limits = Limits(),
        lake: Lake | None = None,
        write_observations: bool = True,
        checkpoint: Path | None = None,
        grace: dt.timedelta = dt.timedelta(seconds=30),
        max_open_windows: int = 48,
        isolate_errors: bool = False,
    ) -> None:
        names = [d.name for d in detectors]
        if len(set(names)) != len(names):
            raise ValueError(f"detector names must be unique: {names}")
        self.detectors = list(detectors)
        self.limits = limits
        self.lake = lake
        self.write_observations = write_observations
        self.checkpoint = checkpoint
        # rows may arrive this much out of order before their window is closed
        self.grace_us = to_us(grace)
        self.max_open_windows = max_open_windows
        # live input: one failing detector must not stop the others (see _guarded)
        self.isolate_errors = isolate_errors
        self.metrics = EngineMetrics()
        self._groups = self._make_groups(self.detectors)
        self._watermark = -(2**62)
        # after a resume: rows up to the newest timestamp the checkpoint had processed
        # are already in the restored state (or in closed windows), so they are skipped
        self._resume_us: int | None = None
        self._pending_obs: list[pa.Table] = []
        self._pending_rows = 0
        # findings of windows closed early to bound memory, returned with the next batch
        self._pending_early: list[Finding] = []
        if checkpoint is not None:
            self._resume(checkpoint)

    # ---------------------------------------------------------------- public API

    def process(self, chunk: Chunk | pa.RecordBatch | pa.Table) -> list[Finding]:
        """Feed one chunk; returns the findings of the windows this chunk closed."""
        if isinstance(chunk, Chunk):
            self.metrics.errors += len(chunk.errors)
            data = chunk.batch
        else:
            data = chunk
        if data is None or data.num_rows == 0:
            return []
        table, untimed = _as_table(data)
        self.metrics.errors += untimed  # a reader should have reported these; count anyway
        if table.num_rows == 0:
            return []
        ts = _ts_us(table)
        if self._resume_us is not None:
            table, ts = self._skip_processed(table, ts, self._resume_us)
            if table.num_rows == 0:
                return []
        self.metrics.rows += table.num_rows
        newest = int(ts.max())
        newest_dt = from_us(newest)
        if self.metrics.newest_ts is None or newest_dt > self.metrics.newest_ts:
            self.metrics.newest_ts = newest_dt
        self._buffer_observations(table)
        for group in self._groups:
            self._route(group, table, ts)
        self._watermark = max(self._watermark, newest)
        return self._close_until(self._watermark - self.grace_us)

    def advance(self, now: dt.datetime) -> list[Finding]:
        """Live input that is idle: close windows that ended before `now` (minus grace)."""
        self._watermark = max(self._watermark, to_us(now))
        return self._close_until(self._watermark - self.grace_us)

    def run(self, chunks: Iterable[Chunk | pa.RecordBatch | pa.Table]) -> list[Finding]:
        """A whole finite input: `process` every chunk, then `flush`."""
        found: list[Finding] = []
        for chunk in chunks:
            found += self.process(chunk)
        return found + self.flush()

    def flush(self) -> list[Finding]:
        """End of input: close every open window and write what is buffered."""
        found = self._close_until(2**62)
        self._flush_observations()
        return found

    def save_checkpoint(self) -> None:
        """Record closed windows, open windows' detector state and the counters, so that a
        restart resumes exactly here (see docs/engine.md)."""
        if self.checkpoint is None:
            raise ValueError("this engine has no checkpoint path")
        # observations processed so far must be durable before we claim them processed
        self._flush_observations()
        closed = {g.length_us: g.closed_until for g in self._groups}
        windows = [
            ckpt.WindowState(g.length_us, w.start_us, det.name, dict(ctx.dropped),
                             _dump_state(det, state, ctx))
            for g in self._groups for w in g.open.values()
            for det, ctx, state in zip(g.detectors, w.contexts, w.states, strict=True)
        ]
        ckpt.save(self.checkpoint, closed, self.metrics.to_dict(), windows)

    @property
    def open_windows(self) -> int:
        return sum(len(g.open) for g in self._groups)

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _make_groups(detectors: Sequence[Detector[Any]]) -> list[_Group]:
        groups: dict[int, _Group] = {}
        for det in detectors:
            length = to_us(det.window)
            if length <= 0:
                raise ValueError(f"{det.name}: window must be positive")
            groups.setdefault(length, _Group(length, [])).detectors.append(det)
        return list(groups.values())

    def _resume(self, path: Path) -> None:
        closed, metrics, windows = ckpt.load(path)
        self.metrics.restore(metrics)
        for group in self._groups:
            if group.length_us in closed:
                group.closed_until = closed[group.length_us]
        if self.metrics.newest_ts is not None:
            self._watermark = self._resume_us = to_us(self.metrics.newest_ts)
        where = {(g.length_us, d.name): (g, i) for g in self._groups
                 for i, d in enumerate(g.detectors)}
        for saved in windows:
            found = where.get((saved.length_us, saved.detector))
            if found is None or saved.start_us + saved.length_us <= found[0].closed_until:
                continue  # a detector no longer configured, or a window already closed
            group, i = found
            index = saved.start_us // group.length_us
            window = group.open.get(index) or self._open(group, index)
            if window is None:
                continue  # more saved windows than the cap allows now
            ctx = window.contexts[i]
            ctx.dropped.update(saved.dropped)
            restored = _load_state(group.detectors[i], window.states[i], saved.table, ctx)
            if restored is None:
                ctx.drop("state-not-restored")
            else:
                window.states[i] = restored

    def _skip_processed(self, table: pa.Table, ts: np.ndarray,
                        until: int) -> tuple[pa.Table, np.ndarray]:
        fresh = ts > until
        if fresh.all():
            return table, ts
        self.metrics.skipped_rows += int(np.count_nonzero(~fresh))
        return table.filter(pa.array(fresh)), ts[fresh]

    def _route(self, group: _Group, table: pa.Table, ts: np.ndarray) -> None:
        """Hand each detector of `group` the rows of each window, one slice per window."""
        keep = ts >= group.closed_until
        if not keep.all():
            self.metrics.late_rows += int(np.count_nonzero(~keep))
            table, ts = table.filter(pa.array(keep)), ts[keep]
            if table.num_rows == 0:
                return
        idx = ts // group.length_us
        lo, hi = int(idx.min()), int(idx.max())
        if lo == hi:  # the common case: the whole batch is in one window
            self._feed(group, lo, table)
            return
        order = np.argsort(idx, kind="stable")
        idx = idx[order]
        table = table.take(pa.array(order))
        cuts = np.flatnonzero(np.diff(idx)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [len(idx)]))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            self._feed(group, int(idx[s]), table.slice(s, e - s))

    def _feed(self, group: _Group, index: int, rows: pa.Table) -> None:
        window = group.open.get(index) or self._open(group, index)
        if window is None:  # older than every open window while at the cap: too late
            self.metrics.late_rows += rows.num_rows
            return
        for i, det in enumerate(group.detectors):
            if window.states[i] is BROKEN:
                continue
            projected = rows.select(list(det.columns))
            for batch in projected.to_batches():
                window.states[i] = self._guarded(
                    det, partial(det.update, window.states[i], batch, window.contexts[i]),
                    BROKEN)
                if window.states[i] is BROKEN:
                    break

    def _open(self, group: _Group, index: int) -> _Window | None:
        start = index * group.length_us
        end = start + group.length_us
        if self.open_windows >= self.max_open_windows:
            # bounded memory on badly ordered input: close the oldest window early (its
            # findings are returned with this call's); its later rows count as late
            oldest_group, oldest = min(
                ((g, i) for g in self._groups for i in g.open),
                key=lambda gi: gi[0].open[gi[1]].end_us)
            if oldest_group.open[oldest].end_us >= end:
                return None
            self._pending_early.extend(self._close(oldest_group, oldest))
        contexts = [WindowContext(from_us(start), from_us(end), self.limits)
                    for _ in group.detectors]
        states = []
        for det, ctx in zip(group.detectors, contexts, strict=True):
            states.append(self._guarded(det, partial(det.init_state, ctx), BROKEN))
        window = _Window(start, end, contexts, states)
        group.open[index] = window
        return window

    def _guarded(self, det: Detector[Any], call: Callable[[], T], fallback: T) -> T:
        """Run one detector call, timing it. With `isolate_errors`, an exception is
        counted and logged and `fallback` returned (the detector sits out the rest of that
        window) instead of stopping every other detector too."""
        began = time.perf_counter()
        try:
            return call()
        except Exception as exc:
            if not self.isolate_errors:
                raise
            self.metrics.add_detector_error(det.name, exc)
            log.exception("detector %s failed; it skips the rest of this window", det.name)
            return fallback
        finally:
            self.metrics.add_time(det.name, time.perf_counter() - began)

    def _close_until(self, limit_us: int) -> list[Finding]:
        found, self._pending_early = self._pending_early, []
        for group in self._groups:
            for index in sorted(i for i, w in group.open.items() if w.end_us <= limit_us):
                found.extend(self._close(group, index))
        if found and self.lake is not None:
            self.lake.write("finding", findings_table(found))
        return found

    def _close(self, group: _Group, index: int) -> list[Finding]:
        window = group.open.pop(index)
        found: list[Finding] = []
        for det, ctx, state in zip(group.detectors, window.contexts, window.states,
                                   strict=True):
            if state is not BROKEN:
                found.extend(self._guarded(det, partial(det.emit, state, ctx), []))
            if ctx.dropped:
                self.metrics.add_dropped(det.name, ctx.dropped)
        group.closed_until = max(group.closed_until, window.end_us)
        self.metrics.windows_closed += 1
        self.metrics.findings += len(found)
        return found

    def _buffer_observations(self, table: pa.Table) -> None:
        if self.lake is None or not self.write_observations:
            return
        self._pending_obs.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= OBSERVATION_FLUSH_ROWS:
            self._flush_observations()

    def _flush_observations(self) -> None:
        if self.lake is not None and self._pending_obs:
            self.lake.write("dns", pa.concat_tables(self._pending_obs))
        self._pending_obs, self._pending_rows = [], 0


def _dump_state(det: Detector[Any], state: Any, ctx: WindowContext) -> pa.Table | None:
    """A detector's window state as an Arrow table: its own `dump_state`, else a
    KeyedAggregate's merged table; None if it cannot be saved."""
    if state is BROKEN:
        return None
    dump = getattr(det, "dump_state", None)
    if dump is not None:
        table: pa.Table = dump(state, ctx)
        return table
    if isinstance(state, KeyedAggregate):
        return state.merge(ctx)
    return None


def _load_state(det: Detector[Any], fresh: Any, table: pa.Table | None,
                ctx: WindowContext) -> Any:
    """The inverse of `_dump_state`; None when the saved table does not fit (e.g. the
    detector changed between runs)."""
    if table is None:
        return None
    load = getattr(det, "load_state", None)
    if load is not None:
        return load(table, ctx)
    if isinstance(fresh, KeyedAggregate):
        columns = [*fresh.keys, *fresh.sums, *fresh.mins, *fresh.maxs]
        if table.num_rows == 0:
            return fresh
        if sorted(table.column_names) != sorted(columns):
            return None
        fresh.parts, fresh.pending = [table], table.num_rows
        return fresh
    return None


def _as_table(data: pa.RecordBatch | pa.Table) -> tuple[pa.Table, int]:
    """`data` in the dns schema (readers already give it; other callers may not), and the
    number of rows dropped for having no timestamp."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    if "ts" not in table.column_names:
        raise ValueError("dns rows need a ts column")
    if not table.schema.equals(DNS.arrow, check_metadata=False):
        table = DNS.conform(table)
    missing = table.column("ts").null_count
    if missing:
        table = table.filter(table.column("ts").is_valid())
    return table, missing


def _ts_us(table: pa.Table) -> np.ndarray:
    col = table.column("ts").combine_chunks()
    return np.asarray(col.view(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


# -------------------------------------------------------------------- registry


Factory = Callable[..., Any]


def detector_factories() -> dict[str, Factory]:
    """Every factory listed in `DETECTORS` by a module of `bluelamp.detect`, by module
    and position (built-ins and plug-ins register the same way)."""
    import bluelamp.detect as pkg

    found: dict[str, Factory] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name in _INTERNAL or info.ispkg:
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for i, factory in enumerate(getattr(module, "DETECTORS", ())):
            found[f"{info.name}:{i}"] = factory
    return found


def _call(factory: Factory, options: dict[str, Any]) -> Any:
    """Call a factory with the options it accepts (all of them if it takes **kwargs)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return factory()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return factory(**options)
    return factory(**{k: v for k, v in options.items() if k in params})


def settings_window(settings: Settings) -> dt.timedelta | None:
    """The window the operator set (`engine.window_seconds`), or None when it is left at
    its default: only a chosen window overrides the detectors' own defaults."""
    default = type(settings.engine).model_fields["window_seconds"].default
    if settings.engine.window_seconds == default:
        return None
    return dt.timedelta(seconds=settings.engine.window_seconds)


def default_detectors(settings: Settings | None = None, **options: Any) -> list[Detector[Any]]:
    """Build every registered detector. Options (e.g. `window=timedelta`, `indicators=[...]`)
    go to the factories that accept them; a factory may return None when it has nothing to
    do (e.g. no indicator list given)."""
    chosen = settings_window(settings) if settings is not None else None
    if chosen is not None and "window" not in options:
        options["window"] = chosen
    built = (_call(f, options) for f in detector_factories().values())
    detectors = [d for d in built if d is not None]
    return sorted(detectors, key=lambda d: d.name)
