"""Bounded per-key state for detectors: partial aggregates merged lazily, capped by `Limits`.

A detector aggregates each batch on its own (one Arrow `group_by`, vectorised) and adds the
small result here. Parts are merged when they pile up; when more keys are held than
`ctx.limits.max_keys` allows, the keys with the smallest `rank` column are evicted (the
heavy keys are the interesting ones for every detector we have) and the number evicted is
counted in `ctx.dropped["keys-evicted"]`, which the engine reports as a metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from bluelamp.detect.base import WindowContext

#: merge parts once this many rows are waiting, or twice the keys held at the last merge
#: if more (amortised cost), or twice the key cap (so that the cap is enforced)
MERGE_MIN_ROWS = 65_536


@dataclass
class KeyedAggregate:
    """Sums, minima and maxima per key, merged across batches."""

    keys: tuple[str, ...]
    sums: tuple[str, ...] = ()
    mins: tuple[str, ...] = ()
    maxs: tuple[str, ...] = ()
    #: column that decides which keys survive eviction (largest kept)
    rank: str | None = None
    parts: list[pa.Table] = field(default_factory=list)
    pending: int = 0
    merged: int = 0

    def add(self, part: pa.Table, ctx: WindowContext) -> None:
        """Add one batch's aggregate (columns: keys + sums + mins + maxs)."""
        if part.num_rows == 0:
            return
        self.parts.append(part)
        self.pending += part.num_rows
        if self.pending > min(max(MERGE_MIN_ROWS, 2 * self.merged),
                              2 * ctx.limits.max_keys):
            self.merge(ctx)

    def add_rows(self, rows: pa.Table, ctx: WindowContext) -> None:
        """Aggregate raw rows (one per observation) by key, then add them."""
        if rows.num_rows:
            self.add(self._group(rows).select(rows.column_names), ctx)

    def merge(self, ctx: WindowContext) -> pa.Table:
        """Merge every part into one table with one row per key; enforce the key cap."""
        if not self.parts:
            return pa.table({})
        # by name: a part restored from a checkpoint may order its columns differently
        table = (pa.concat_tables(self.parts, promote_options="permissive")
                 if len(self.parts) > 1 else self.parts[0])
        if len(self.parts) > 1:
            table = self._group(table).select(table.column_names)
        if table.num_rows > ctx.limits.max_keys:
            table = self._evict(table, ctx)
        self.parts, self.pending = [table], table.num_rows
        self.merged = table.num_rows
        return table

    def _group(self, table: pa.Table) -> pa.Table:
        aggs = ([(c, "sum") for c in self.sums] + [(c, "min") for c in self.mins]
                + [(c, "max") for c in self.maxs])
        grouped = table.group_by(list(self.keys), use_threads=False).aggregate(aggs)
        # group_by names outputs "<col>_<agg>"; give the parts' names back
        names = {f"{c}_{a}": c for c, a in aggs}
        return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])

    def _evict(self, table: pa.Table, ctx: WindowContext) -> pa.Table:
        cap = ctx.limits.max_keys
        ctx.drop("keys-evicted", table.num_rows - cap)
        if self.rank is None:
            return table.slice(0, cap)
        # ties broken by key, so that the same input always keeps the same keys
        order = [(self.rank, "descending"), *((k, "ascending") for k in self.keys)]
        return table.sort_by(order).slice(0, cap)
