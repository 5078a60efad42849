"""C2 beaconing, scored in the manner of RITA: per client × registered domain, are the
lookups spaced regularly (despite jitter), over enough occurrences, to a domain that the rest
of the population does not use?

State per window (6 h by default, so that an implant checking in hourly shows ≥ 5 intervals
in a window and is reported within 12 h of its first check-in): the distinct lookup times
(whole seconds) of each (client, registered domain) pair, at most `max_events` per pair and
`Limits.max_keys` pairs (lightest pairs evicted first, counted). At the window's end, per pair:

- lookups closer than `burst_s` to the previous one are one event (a browser asks A, AAAA and
  HTTPS at once; a retry follows within a second);
- intervals between events → Bowley skewness `(Q1 + Q3 − 2·Q2) / (Q3 − Q1)` (0 for a
  symmetric spread, as uniform jitter gives), dispersion `MAD / median` (uniform ±30 % jitter
  gives ≈ 0.15; steadiness = 1 − min(1, 2·MAD/median)) and coverage (events seen / events
  a steady period would give between the first and the last);
- periodicity = mean of (1 − |skew| (shrunk by intervals/24 below 24 intervals), steadiness,
  coverage), in 0..1;
- alone share: the share of events with no other domain asked by the client within ±2 s (a
  page view brings its ads, fonts and CDNs along; a check-in comes by itself); the score is
  periodicity × (0.5 + 0.5 × alone share) × the popularity weight below.

**Popular domains.** Many clients hitting a domain periodically is an update check, a
monitoring agent or a push channel, not a C2. A domain's prevalence is the number of distinct
clients that looked it up in the window; the score is multiplied by
`min(1, popular_clients / prevalence)` where `popular_clients = max(popular_min,
popular_share × clients in the window)`, and domains at or above that prevalence are not
reported at all. Domains on the embedded top list of popular sites are halved as well.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.campaigns import popular_domains
from bluelamp.domains import registered_domains

US = 1_000_000
_COLUMNS = ("client", "rd", "t")


@dataclass
class PairTimes:
    """Distinct lookup seconds per (client, registered domain), bounded."""

    parts: list[pa.Table] = field(default_factory=list)
    pending: int = 0
    merged: int = 0
    sensor: str | None = None


@dataclass
class Beaconing:
    window: dt.timedelta = dt.timedelta(hours=6)
    min_events: int = 6
    min_period_s: float = 20.0
    burst_s: float = 10.0
    threshold: float = 0.8
    max_events: int = 1024
    popular_min: int = 3
    popular_share: float = 0.005
    max_findings: int = 2000
    merge_rows: int = 1_000_000
    name: str = "beacon"
    finding_type: str = "beacon"
    key: str = "client"
    columns: tuple[str, ...] = ("ts", "client", "qname", "sensor")

    def init_state(self, ctx: WindowContext) -> PairTimes:
        return PairTimes()

    def update(self, state: PairTimes, batch: pa.RecordBatch, ctx: WindowContext) -> PairTimes:
        client = batch.column("client")
        rd = registered_domains(batch.column("qname"))
        t = pc.divide(pc.cast(batch.column("ts"), pa.int64()), US)
        part = pa.table({"client": client, "rd": rd, "t": t}).filter(
            pc.and_(pc.is_valid(client), pc.is_valid(rd)))
        # distinct seconds per pair at once: the batch shrinks before it is kept
        part = part.group_by(list(_COLUMNS), use_threads=False).aggregate([])
        if state.sensor is None and batch.num_rows:
            state.sensor = batch.column("sensor")[0].as_py()
        state.parts.append(part)
        state.pending += part.num_rows
        if state.pending > max(self.merge_rows, 2 * state.merged):
            self._merge(state, ctx)
        return state

    def _merge(self, state: PairTimes, ctx: WindowContext) -> pa.Table:
        if not state.parts:
            return pa.table({"client": pa.array([], pa.string()), "rd": pa.array([], pa.string()),
                             "t": pa.array([], pa.int64())})
        table = _sorted_distinct(pa.concat_tables(state.parts))
        table = self._cap(table, ctx)
        state.parts, state.pending, state.merged = [table], table.num_rows, table.num_rows
        return table

    def _cap(self, table: pa.Table, ctx: WindowContext) -> pa.Table:
        """At most `max_events` times per pair (the earliest) and `max_keys` pairs (those
        with the most times); what is dropped is counted."""
        start, size = _pairs(table)
        rank = np.arange(table.num_rows) - np.repeat(start, size)
        keep = rank < self.max_events
        if not keep.all():
            ctx.drop("times-capped", int((~keep).sum()))
        if len(start) > ctx.limits.max_keys:
            order = np.lexsort((start, -size))
            evicted = np.ones(len(start), dtype=bool)
            evicted[order[: ctx.limits.max_keys]] = False
            ctx.drop("keys-evicted", int(evicted.sum()))
            keep &= ~np.repeat(evicted, size)
        return table if keep.all() else table.filter(pa.array(keep))

    def dump_state(self, state: PairTimes, ctx: WindowContext) -> pa.Table:
        return self._merge(state, ctx)

    def load_state(self, table: pa.Table, ctx: WindowContext) -> PairTimes | None:
        if sorted(table.column_names) != sorted(_COLUMNS):
            return None
        return PairTimes([table.select(list(_COLUMNS))], table.num_rows, table.num_rows)

    # ------------------------------------------------------------------ emit

    def emit(self, state: PairTimes, ctx: WindowContext) -> list[Finding]:
        table = self._merge(state, ctx)
        if table.num_rows == 0:
            return []
        scores = periodicity(table, self.burst_s)
        weight, prevalence, popular_at = self._prevalence(table, scores["pair_rd"])
        # a check-in that arrives inside browsing sessions is more likely a favourite site
        final = scores["periodicity"] * weight * (0.5 + 0.5 * scores["lonely"])
        hit = ((scores["events"] >= self.min_events) & (scores["median"] >= self.min_period_s)
               & (prevalence < popular_at) & (final >= self.threshold))
        index = np.flatnonzero(hit)
        if len(index) > self.max_findings:
            ctx.drop("findings-over-cap", len(index) - self.max_findings)
        index = index[np.argsort(-final[index], kind="stable")][: self.max_findings]
        return [self._finding(int(i), scores, final, prevalence, popular_at, state, ctx)
                for i in index]

    def _prevalence(self, table: pa.Table, pair_rd: pa.Array) -> tuple[np.ndarray, np.ndarray,
                                                                         float]:
        per_rd = table.group_by(["rd", "client"], use_threads=False).aggregate([]).group_by(
            "rd", use_threads=False).aggregate([("client", "count")])
        clients = len(pc.unique(table.column("client")))
        popular_at = max(float(self.popular_min), self.popular_share * clients)
        idx = pc.index_in(pair_rd, per_rd.column("rd")).to_numpy(zero_copy_only=False)
        prevalence = per_rd.column("client_count").to_numpy()[idx].astype(np.float64)
        weight = np.minimum(1.0, popular_at / np.maximum(prevalence, 1.0))
        # the domain or any parent: `x.iot.us-east-1.amazonaws.com` is a registered domain
        # under the PSL's private section, `amazonaws.com` is what the top list knows
        listed = popular_domains()
        top = pc.fill_null(pc.is_in(pair_rd, listed), False)
        parent = pair_rd
        for _ in range(4):
            parent = pc.replace_substring_regex(parent, r"^[^.]*\.?", "")
            top = pc.or_(top, pc.fill_null(pc.is_in(parent, listed), False))
        top = top.to_numpy(zero_copy_only=False)
        return np.where(top, weight * 0.5, weight), prevalence, popular_at

    def _finding(self, i: int, s: dict[str, np.ndarray], final: np.ndarray,
                 prevalence: np.ndarray, popular_at: float, state: PairTimes,
                 ctx: WindowContext) -> Finding:
        client, domain = str(s["pair_client"][i].as_py()), str(s["pair_rd"][i].as_py())
        period, dispersion = float(s["median"][i]), float(s["dispersion"][i])
        events = int(s["events"][i])
        evidence = {
            "domain": domain, "events": events, "period_s": round(period, 1),
            "dispersion": round(dispersion, 4), "bowley_skew": round(float(s["skew"][i]), 4),
            "coverage": round(float(s["coverage"][i]), 4),
            "periodicity": round(float(s["periodicity"][i]), 4),
            "alone_share": round(float(s["lonely"][i]), 4),
            "prevalence": int(prevalence[i]), "popular_at": round(popular_at, 1),
            "window_start": ctx.start.isoformat()}
        explanation = (
            f"Client {client} looked up {domain} {events} times at a steady interval of about "
            f"{_duration(period)} (spread {dispersion:.0%} of the interval, periodicity "
            f"{float(s['periodicity'][i]):.2f}) in the {_span(ctx)} window, and only "
            f"{int(prevalence[i])} client(s) use that domain, the pattern of malware checking "
            f"in with its command-and-control server, so check that host and block {domain}.")
        first = dt.datetime.fromtimestamp(int(s["first"][i]), dt.UTC)
        last = dt.datetime.fromtimestamp(int(s["last"][i]), dt.UTC)
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="client", subject=client,
            score=round(float(final[i]), 4), first_seen=first, last_seen=last, count=events,
            evidence=evidence, explanation=explanation, sensor=state.sensor)


def periodicity(table: pa.Table, burst_s: float, near_s: int = 2) -> dict[str, np.ndarray]:
    """RITA-style interval statistics per pair of a table sorted by (client, rd, t), and the
    share of each pair's events that were alone (no other domain asked by that client within
    `near_s` seconds)."""
    start, size = _pairs(table)
    t = table.column("t").to_numpy().astype(np.int64)
    pair = np.repeat(np.arange(len(start)), size)
    gap = np.diff(t, prepend=t[0])
    first_of_pair = np.zeros(len(t), dtype=bool)
    first_of_pair[start] = True
    event = first_of_pair | (gap >= burst_s)
    alone = _alone(table, t, pair, near_s)[event]
    t, pair = t[event], pair[event]
    gap = np.diff(t, prepend=t[0]).astype(np.float64)
    inner = np.ones(len(t), dtype=bool)
    inner[np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])] = False
    n_pairs = len(start)
    events = np.bincount(pair, minlength=n_pairs)
    lonely = np.bincount(pair, weights=alone, minlength=n_pairs) / np.maximum(events, 1)
    d, dpair = gap[inner], pair[inner]
    q1, q2, q3 = _grouped_quantiles(dpair, d, n_pairs, (0.25, 0.5, 0.75))
    (mad,) = _grouped_quantiles(dpair, np.abs(d - q2[dpair]), n_pairs, (0.5,))
    iqr = q3 - q1
    skew = np.where(iqr > 0, (q1 + q3 - 2 * q2) / np.where(iqr > 0, iqr, 1), 0.0)
    safe = np.maximum(q2, 1e-9)
    dispersion = mad / safe
    # every pair keeps its first time as an event, so pairs stay in order 0..n-1
    heads = np.flatnonzero(~inner)
    first_t, last_t = t[heads], t[np.r_[heads[1:] - 1, len(t) - 1]]
    expected = (last_t - first_t) / safe + 1
    coverage = np.minimum(1.0, events / np.maximum(expected, 1.0))
    # quartiles of a handful of intervals are noise: skewness counts fully from 24 intervals
    skew = skew * np.minimum(1.0, (events - 1) / 24)
    # uniform jitter of ±j gives MAD/median ≈ j/2, so ±30 % still scores 0.7
    steady = 1 - np.minimum(1.0, 2 * dispersion)
    score = ((1 - np.abs(skew)) + steady + coverage) / 3
    score = np.where(events >= 3, score, 0.0)
    return {"pair_client": table.column("client").take(pa.array(start)),
            "pair_rd": table.column("rd").take(pa.array(start)).combine_chunks(),
            "events": events, "median": q2, "dispersion": dispersion, "skew": skew,
            "coverage": coverage, "periodicity": score, "first": first_t, "last": last_t,
            "lonely": lonely}


def _alone(table: pa.Table, t: np.ndarray, pair: np.ndarray, near_s: int) -> np.ndarray:
    """Per row: True when the same client asked no other registered domain within ±near_s
    seconds. A page view brings its ads, fonts and CDNs along; a beacon's check-in comes by
    itself."""
    n = table.num_rows
    client = table.column("client")
    change = np.zeros(n, dtype=bool)
    change[0] = True
    if n > 1:
        differ = pc.not_equal(client.slice(1), client.slice(0, n - 1))
        change[1:] = pc.fill_null(differ, True).to_numpy(zero_copy_only=False)
    client_idx = np.cumsum(change) - 1
    shift = np.int64(1) << 40  # seconds since 1970 fit in 40 bits until year 36812
    by_client = np.sort(client_idx * shift + t)
    by_pair = pair * shift + t  # already sorted: the table is sorted by client, rd, t
    same_client = (np.searchsorted(by_client, client_idx * shift + t + near_s, "right")
                   - np.searchsorted(by_client, client_idx * shift + t - near_s, "left"))
    same_pair = (np.searchsorted(by_pair, by_pair + near_s, "right")
                 - np.searchsorted(by_pair, by_pair - near_s, "left"))
    return np.asarray(same_client == same_pair)


def _pairs(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Start row and size of each (client, rd) run of a table sorted by them."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in ("client", "rd"):
        col = table.column(name)
        if n > 1:
            differ = pc.not_equal(col.slice(1), col.slice(0, n - 1))
            change[1:] |= pc.fill_null(differ, True).to_numpy(zero_copy_only=False)
    start = np.flatnonzero(change)
    return start, np.diff(np.r_[start, n])


def _grouped_quantiles(group: np.ndarray, values: np.ndarray, n: int,
                       qs: tuple[float, ...]) -> list[np.ndarray]:
    """The q-quantiles (lower, no interpolation) of `values` per group 0..n-1 (0 if empty),
    from one sort."""
    order = np.lexsort((values, group))
    v = values[order]
    counts = np.bincount(group, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    out = []
    for q in qs:
        column = np.zeros(n)
        column[has] = v[starts[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)]
        out.append(column)
    return out


def _sorted_distinct(table: pa.Table) -> pa.Table:
    """Distinct (client, rd, t) rows sorted by them. Strings are replaced by their rank
    among the distinct values first, so the row sort is numeric (a string sort of every row
    costs several times more)."""
    client_rank = _ranks(table.column("client"))
    rd_rank = _ranks(table.column("rd"))
    t = table.column("t").to_numpy()
    order = np.lexsort((t, rd_rank, client_rank))
    c, r, tt = client_rank[order], rd_rank[order], t[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (c[1:] != c[:-1]) | (r[1:] != r[:-1]) | (tt[1:] != tt[:-1])
    return table.take(pa.array(order[keep]))


def _ranks(column: pa.ChunkedArray) -> np.ndarray:
    values = pc.unique(column).sort()
    return np.asarray(pc.index_in(column, values).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _span(ctx: WindowContext) -> str:
    return f"{ctx.start:%Y-%m-%d %H:%M}–{ctx.end:%H:%M} UTC"


def beaconing(beacon_window: dt.timedelta | None = None) -> Beaconing:
    """The engine-wide `window` option is not taken: periodicity needs hours of data."""
    return Beaconing(window=beacon_window) if beacon_window else Beaconing()


DETECTORS = [beaconing]
