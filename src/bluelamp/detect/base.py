"""The detector contract.

A detector is pure: the engine hands it Arrow batches of `dns` rows that fall in one window,
the detector folds them into its own state, and when the window closes the engine asks it for
findings. A detector never does I/O, never reads the clock and never knows whether it runs
live, over files or on Spark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import pyarrow as pa

from bluelamp.schema import FINDING, dumps

S = TypeVar("S")


@dataclass(frozen=True)
class Limits:
    """Bounds on a detector's state in one window. A detector that must drop keys to stay
    inside them counts what it dropped in `WindowContext.dropped`."""

    max_keys: int = 1_000_000


@dataclass
class WindowContext:
    """What a detector may know about the window it is working in."""

    start: dt.datetime
    end: dt.datetime
    limits: Limits = field(default_factory=Limits)
    #: keys (or rows) dropped to respect the limits, by reason; reported as a metric
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n


@dataclass(frozen=True)
class Finding:
    """One finding; `to_row` gives a row of the `finding` schema."""

    detector: str
    type: str
    subject_kind: str
    subject: str
    score: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    count: int
    evidence: dict[str, Any]
    explanation: str
    tlp: str = "amber"
    sensor: str | None = None

    @property
    def id(self) -> str:
        key = f"{self.detector}|{self.type}|{self.subject_kind}|{self.subject}|"
        key += self.first_seen.isoformat()
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "detector": self.detector,
            "type": self.type,
            "subject_kind": self.subject_kind,
            "subject": self.subject,
            "score": float(self.score),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "count": int(self.count),
            "evidence": dumps(self.evidence),
            "explanation": self.explanation,
            "tlp": self.tlp,
            "sensor": self.sensor,
        }


def findings_table(findings: list[Finding]) -> pa.Table:
    return FINDING.from_rows(f.to_row() for f in findings)


class Detector(Protocol, Generic[S]):
    """What every detector declares and implements."""

    #: registry name, e.g. "nxdomain-burst"
    name: str
    #: the finding type it emits, e.g. "nxdomain-burst"
    finding_type: str
    #: the column it groups by (documentation, and the partition key for Spark)
    key: str
    #: window length; the engine closes windows on this boundary (UTC epoch aligned)
    window: dt.timedelta
    #: `dns` columns it reads (the engine projects only these)
    columns: tuple[str, ...]

    def init_state(self, ctx: WindowContext) -> S:
        ...

    def update(self, state: S, batch: pa.RecordBatch, ctx: WindowContext) -> S:
        ...

    def emit(self, state: S, ctx: WindowContext) -> list[Finding]:
        ...
