"""Newly observed domains with a sudden query spike: a registered domain nobody here has
looked up before that is suddenly asked for many times (a new C2, a tunnel, a phishing
campaign taking off, the target of a random-subdomain flood).

Per window the state counts queries and the first/last time per registered domain. When the
window closes, the domains are checked against a **seen-set** carried across windows: a
Bloom filter (`seenset.SeenSet`, `[detect] seen_domains_capacity` domains at 1 % false
"seen" answers, about 1.2 bytes per domain) that is then updated with every domain of the
window. A domain not in the set with at least `min_queries` queries in the window is
reported. The first `[detect] seen_warmup_windows` windows only teach the set (on a fresh
start everything is new); the popular-domain list shipped with Bluelamp seeds it.

The seen-set is the one piece of state that outlives a window, so it lives on the detector
object and changes in `emit`, in window order (the engine closes windows of one length in
time order). Engine checkpoints carry it: `dump_state` adds it (compressed) to the schema
metadata of the open window's state table and `load_state` restores it, so a resumed live
run does not warm up again (with no window open at checkpoint time, it does).
Bounded memory: the bit array has a fixed size; past its capacity old domains are more
often mistaken for seen (missed findings), never the reverse.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect import lexical
from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.seenset import SeenSet
from bluelamp.detect.state import KeyedAggregate

SEEN_KEY = b"bluelamp.seen_set"
SEEN_META = b"bluelamp.seen_set.info"


@dataclass
class NewlyObserved:
    """Report registered domains never seen before that get `min_queries` in a window."""

    window: dt.timedelta = dt.timedelta(hours=1)
    min_queries: int = 50
    warmup_windows: int = 3
    seen: SeenSet = field(default_factory=SeenSet)
    windows_seen: int = 0
    max_findings: int = 1000
    name: str = "newly-observed"
    finding_type: str = "newly-observed-domain"
    key: str = "registered_domain"
    columns: tuple[str, ...] = ("ts", "client", "qname", "sensor")

    def seed(self, domains: list[str]) -> None:
        """Mark domains as already seen (e.g. a popular-domain list)."""
        self.seen.add(pa.array(domains, pa.string()))

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("domain",), sums=("queries",),
                              mins=("first", "client_a", "sensor", "sample"),
                              maxs=("last", "client_b"), rank="queries")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        ix = lexical.name_index(batch.column("qname"))
        names, counts, first, last = ix.names, ix.counts, ix.first, ix.last
        if len(names) == 0:
            return state
        ts, client = batch.column("ts"), batch.column("client")
        first_rows, last_rows = pa.array(first), pa.array(last)
        part = pa.table({
            "domain": ix.domain, "queries": pa.array(counts, pa.int64()),
            "first": ts.take(first_rows), "client_a": client.take(first_rows),
            "sensor": batch.column("sensor").take(first_rows), "sample": names,
            "last": ts.take(last_rows), "client_b": client.take(last_rows)})
        state.add_rows(part.filter(pc.is_valid(part.column("domain"))), ctx)
        return state

    def dump_state(self, state: KeyedAggregate, ctx: WindowContext) -> pa.Table:
        """The window's aggregate, with the seen-set in its schema metadata."""
        table = state.merge(ctx)
        if table.num_columns == 0:
            table = pa.table({"domain": pa.array([], pa.string())})
        return table.replace_schema_metadata({
            SEEN_KEY: self.seen.to_text(), SEEN_META: json.dumps(
                {"added": self.seen.added, "windows_seen": self.windows_seen})})

    def load_state(self, table: pa.Table, ctx: WindowContext) -> KeyedAggregate | None:
        meta = table.schema.metadata or {}
        if SEEN_KEY in meta and SEEN_META in meta:
            info = json.loads(meta[SEEN_META])
            if self.seen.load_text(meta[SEEN_KEY].decode("ascii"), int(info["added"])):
                self.windows_seen = max(self.windows_seen, int(info["windows_seen"]))
        state = self.init_state(ctx)
        table = table.replace_schema_metadata(None)
        expected = [*state.keys, *state.sums, *state.mins, *state.maxs]
        if table.num_rows == 0:
            return state
        if sorted(table.column_names) != sorted(expected):
            return None  # saved by another version of this detector
        state.parts, state.pending = [table], table.num_rows
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        domains = table.column("domain")
        new = ~self.seen.contains(domains)
        self.seen.add(domains)
        self.windows_seen += 1
        if self.seen.saturated:
            ctx.drop("seen-set-over-capacity")
        if self.windows_seen <= self.warmup_windows:
            return []
        queries = table.column("queries").to_numpy()
        hits = np.flatnonzero(new & (queries >= self.min_queries))
        hits = hits[np.argsort(-queries[hits], kind="stable")]
        if len(hits) > self.max_findings:
            ctx.drop("findings-over-cap", len(hits) - self.max_findings)
        rows = table.take(pa.array(hits[: self.max_findings])).to_pylist()
        new_total = int(new.sum())
        median = float(np.median(queries[new])) if new_total else 0.0
        return [self._finding(r, new_total, median, ctx) for r in rows]

    def _finding(self, row: dict[str, Any], new_total: int, median: float,
                 ctx: WindowContext) -> Finding:
        clients = sorted({row["client_a"], row["client_b"]} - {None})
        evidence = {"registered_domain": row["domain"], "queries": row["queries"],
                    "sample_name": row["sample"], "sample_clients": clients,
                    "new_domains_in_window": new_total,
                    "median_queries_of_new_domains": median,
                    "min_queries": self.min_queries, "window_start": ctx.start.isoformat()}
        explanation = (
            f"{row['domain']} had never been looked up here before and got {row['queries']} "
            f"queries in this window (new domains got a median of {median:g}): a domain "
            f"that springs up this fast is often fresh criminal infrastructure, so check "
            f"who registered it and what it resolves to.")
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain",
            subject=row["domain"],
            score=round(min(0.9, max(0.0, 1.0 - 0.5 * self.min_queries / row["queries"])), 4),
            first_seen=row["first"], last_seen=row["last"], count=row["queries"],
            evidence=evidence, explanation=explanation, sensor=row["sensor"])


def newly_observed(window: dt.timedelta | None = None, settings: Any = None) -> NewlyObserved:
    from bluelamp import resources
    from bluelamp.detect.domain_settings import detect_settings

    cfg = detect_settings(settings)
    det = NewlyObserved(seen=SeenSet(cfg.seen_domains_capacity),
                        warmup_windows=cfg.seen_warmup_windows)
    if window:
        det.window = window
    det.seed([d.strip(".") for d in resources.benign_domains("top")])
    return det


DETECTORS = [newly_observed]
