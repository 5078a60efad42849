"""Engine metrics: what went in, what came out, how fast, how far behind."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EngineMetrics:
    """Counters the engine keeps while it runs. All counts are totals since start (or since
    the checkpoint it resumed from)."""

    rows: int = 0
    errors: int = 0
    #: rows whose window had already been closed when they arrived (counted, not analysed)
    late_rows: int = 0
    #: rows skipped on resume because a previous run already closed their window
    skipped_rows: int = 0
    windows_closed: int = 0
    findings: int = 0
    #: newest observation time seen
    newest_ts: dt.datetime | None = None
    #: detector name -> reason -> keys or rows dropped to respect the limits
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    #: detector name -> wall-clock seconds spent in init_state, update and emit
    detector_seconds: dict[str, float] = field(default_factory=dict)
    #: detector name -> exceptions caught (Engine(isolate_errors=True)), and the last one
    detector_errors: dict[str, int] = field(default_factory=dict)
    last_detector_error: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed

    def lag(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """How far the newest observation is behind `now` (live input health)."""
        if self.newest_ts is None:
            return None
        now = now or dt.datetime.now(dt.UTC)
        return now - self.newest_ts

    def add_dropped(self, detector: str, dropped: dict[str, int]) -> None:
        mine = self.dropped.setdefault(detector, {})
        for reason, n in dropped.items():
            mine[reason] = mine.get(reason, 0) + n

    def add_time(self, detector: str, seconds: float) -> None:
        self.detector_seconds[detector] = self.detector_seconds.get(detector, 0.0) + seconds

    def add_detector_error(self, detector: str, exc: BaseException) -> None:
        self.detector_errors[detector] = self.detector_errors.get(detector, 0) + 1
        self.last_detector_error[detector] = f"{type(exc).__name__}: {exc}"[:500]

    @property
    def dropped_total(self) -> int:
        return sum(n for reasons in self.dropped.values() for n in reasons.values())

    def to_dict(self, now: dt.datetime | None = None) -> dict[str, Any]:
        lag = self.lag(now)
        return {
            "rows": self.rows,
            "errors": self.errors,
            "late_rows": self.late_rows,
            "skipped_rows": self.skipped_rows,
            "windows_closed": self.windows_closed,
            "findings": self.findings,
            "rows_per_second": round(self.rows_per_second, 1),
            "elapsed_seconds": round(self.elapsed, 3),
            "newest_ts": self.newest_ts.isoformat() if self.newest_ts else None,
            "lag_seconds": lag.total_seconds() if lag is not None else None,
            "dropped": {k: dict(v) for k, v in self.dropped.items()},
            "detector_seconds": {k: round(v, 4) for k, v in self.detector_seconds.items()},
            "detector_errors": dict(self.detector_errors),
            "last_detector_error": dict(self.last_detector_error),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Continue the counters of a checkpoint (rates restart from zero)."""
        for name in ("rows", "errors", "late_rows", "skipped_rows", "windows_closed",
                     "findings"):
            setattr(self, name, int(data.get(name, 0)))
        newest = data.get("newest_ts")
        self.newest_ts = dt.datetime.fromisoformat(newest) if newest else None
        for det, n in (data.get("detector_errors") or {}).items():
            self.detector_errors[det] = int(n)
        for det, reasons in (data.get("dropped") or {}).items():
            self.add_dropped(det, {k: int(v) for k, v in reasons.items()})
