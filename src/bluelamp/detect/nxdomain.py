"""Per-client NXDOMAIN burst: a client whose failed lookups in a window are far above what
the rest of the population does in the same window.

Malware that tries domain-generation-algorithm (DGA) names, or a badly broken host, gets
hundreds of NXDOMAIN answers an hour while ordinary clients get a handful. The baseline is
robust (median and MAD of per-client NXDOMAIN counts, so the bursting clients themselves do
not inflate it) and a minimum count stops small populations from alarming on noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate

NXDOMAIN = 3
#: scale that makes the MAD a consistent estimator of the standard deviation
MAD_SCALE = 1.4826


@dataclass
class NxdomainBurst:
    """Flag clients with NXDOMAIN count >= max(min_count, median + k × 1.4826 × MAD)."""

    window: dt.timedelta = dt.timedelta(hours=1)
    min_count: int = 50
    k: float = 8.0
    max_findings: int = 1000
    name: str = "nxdomain-burst"
    finding_type: str = "nxdomain-burst"
    key: str = "client"
    columns: tuple[str, ...] = ("ts", "client", "qname", "rcode", "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("client",), sums=("queries", "nx"),
                              mins=("first_nx", "sample_a", "sensor"),
                              maxs=("last_nx", "sample_b"),
                              rank="nx")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        client = batch.column("client")
        is_nx = pc.fill_null(pc.equal(batch.column("rcode"), NXDOMAIN), False)
        nx_ts = pc.if_else(is_nx, batch.column("ts"), None)
        nx_name = pc.if_else(is_nx, batch.column("qname"), None)
        part = pa.table({
            "client": client,
            "queries": pa.array(np.ones(batch.num_rows, dtype=np.int64)),
            "nx": pc.cast(is_nx, pa.int64()),
            "first_nx": nx_ts, "sample_a": nx_name,
            "last_nx": nx_ts, "sample_b": nx_name,
            "sensor": batch.column("sensor"),
        }).filter(pc.is_valid(client))
        state.add_rows(part, ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        nx = table.column("nx").to_numpy()
        median = float(np.median(nx))
        mad = float(np.median(np.abs(nx - median))) * MAD_SCALE
        threshold = max(float(self.min_count), median + self.k * mad)
        hits = np.flatnonzero(nx >= threshold)
        if len(hits) > self.max_findings:
            ctx.drop("findings-over-cap", len(hits) - self.max_findings)
        hits = hits[np.argsort(-nx[hits], kind="stable")][: self.max_findings]
        rows = table.take(pa.array(hits)).to_pylist()
        baseline = {"median": median, "mad": round(mad, 3), "threshold": round(threshold, 3),
                    "min_count": self.min_count, "k": self.k, "clients": table.num_rows}
        return [self._finding(row, baseline, ctx) for row in rows]

    def _finding(self, row: dict[str, object], baseline: dict[str, float],
                 ctx: WindowContext) -> Finding:
        nx, queries = int(row["nx"]), int(row["queries"])  # type: ignore[call-overload]
        threshold = baseline["threshold"]
        samples = sorted({str(row["sample_a"]), str(row["sample_b"])})
        # smallest == largest name means every failed lookup was for that one name
        one_name = len(samples) == 1
        evidence = {"nxdomain": nx, "queries": queries, "nx_ratio": round(nx / queries, 4),
                    "sample_names": samples, "single_name": one_name, "baseline": baseline,
                    "window_start": ctx.start.isoformat()}
        meaning = (f"all for the one name {samples[0]}, which points to a broken "
                   f"configuration or a removed service rather than malware, so check that "
                   f"host's settings" if one_name else
                   "for different names, the pattern of malware trying generated (DGA) "
                   "domains, so check that host")
        explanation = (
            f"Client {row['client']} got {nx} NXDOMAIN answers ({nx / queries:.0%} of its "
            f"{queries} queries) in the {_span(ctx)} window, above the alarm level of "
            f"{threshold:g} (the larger of {self.min_count} and the population median "
            f"{baseline['median']:g} + {self.k:g} × MAD {baseline['mad']:g} over "
            f"{baseline['clients']} clients), {meaning}."
        )
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="client",
            subject=str(row["client"]), score=round(1.0 - 0.5 * threshold / nx, 4),
            first_seen=row["first_nx"], last_seen=row["last_nx"],  # type: ignore[arg-type]
            count=nx, evidence=evidence, explanation=explanation,
            sensor=row["sensor"],  # type: ignore[arg-type]
        )


def _span(ctx: WindowContext) -> str:
    return f"{ctx.start:%Y-%m-%d %H:%M}–{ctx.end:%H:%M} UTC"


def nxdomain_burst(window: dt.timedelta | None = None) -> NxdomainBurst:
    return NxdomainBurst(window=window) if window else NxdomainBurst()


DETECTORS = [nxdomain_burst]
