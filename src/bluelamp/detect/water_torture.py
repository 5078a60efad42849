"""Random-subdomain ("water torture") DDoS: floods of `<random>.victim.example` questions
that no cache can answer, so every one reaches the victim's authoritative servers until they
fail.

Only failed questions (NXDOMAIN, SERVFAIL, REFUSED) whose leftmost label is at least
`min_label_len` characters and whose subdomain has at most two labels enter the state, per
registered domain × client and window: failures, distinct subdomains (min-hash sketch),
first/last time. A client is *attacking* a zone when it failed on at least
`min_client_unique` distinct subdomains of it, nearly all distinct. A zone is the target when
its attacking clients together asked for at least `min_unique` distinct random names.
Findings: one `random-subdomain-ddos` finding naming the target zone (subject) and one
`random-subdomain-bot` finding per attacking client (subject: the client).

Why these rules: a browser's start-up probes under a search suffix (`qhxkzjvd.corp.
internal`) and typos give each client a handful of failed random names (never
`min_client_unique`); DNSBL look-ups (`4.3.2.1.zen.spamhaus.org`, most of them NXDOMAIN)
have short numeric labels and four or more labels; and reputation zones are in `[detect]
tunnel_allow`. Both rules need volume from the attackers themselves, so a zone that many
clients mistype is not a target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect import lexical
from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate
from bluelamp.detect.tunnel import domain_and_sub

#: SERVFAIL, NXDOMAIN, REFUSED
FAILED = (2, 3, 5)
SKETCH_K = 16
_SKETCH = tuple(lexical.sketch_names(SKETCH_K))


@dataclass
class WaterTorture:
    """Name the zone under a random-subdomain attack and the clients sending it."""

    window: dt.timedelta = dt.timedelta(minutes=10)
    min_label_len: int = 6
    min_client_unique: int = 20
    min_unique: int = 500
    allow: frozenset[str] = field(default_factory=frozenset)
    max_findings: int = 100
    #: attacking clients reported one by one per target zone (all are counted)
    max_clients: int = 1000
    name: str = "water-torture"
    finding_type: str = "random-subdomain-ddos"
    key: str = "registered_domain"
    columns: tuple[str, ...] = ("ts", "client", "qname", "rcode", "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("domain", "client"), sums=("failures", "servfail"),
                              mins=("first", "sample", "sensor", *_SKETCH), maxs=("last",),
                              rank="failures")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        rcode = batch.column("rcode")
        failed = pc.fill_null(pc.is_in(rcode, pa.array(FAILED, pa.uint8())), False)
        failed = pc.and_(failed, pc.is_valid(batch.column("client")))
        if not pc.any(failed).as_py():
            return state
        rows = pa.table({"qname": batch.column("qname"), "client": batch.column("client"),
                         "ts": batch.column("ts"), "rcode": rcode,
                         "sensor": batch.column("sensor")}).filter(failed)
        # failures are a few per cent of the rows: split only their names (this detector's
        # shorter window slices batches differently, so the shared index would not help)
        qname = rows.column("qname").combine_chunks()
        rd, sub = domain_and_sub(qname, pa.array(np.ones(len(qname), dtype=bool)))
        parts = pc.split_pattern(pc.fill_null(sub, ""), ".")
        first = pc.list_element(parts, 0)
        keep = pc.and_(pc.greater_equal(pc.utf8_length(first), self.min_label_len),
                       pc.less_equal(pc.list_value_length(parts), 2))
        if self.allow:
            keep = pc.and_(keep, pc.invert(pc.is_in(rd, pa.array(sorted(self.allow)))))
        keep = pc.fill_null(keep, False)
        if not pc.any(keep).as_py():
            return state
        rows, rd, sub = rows.filter(keep), rd.filter(keep), sub.filter(keep)
        part = {"domain": rd, "client": rows.column("client"),
                "failures": pa.array(np.ones(rows.num_rows, dtype=np.int64)),
                "servfail": pc.cast(pc.equal(rows.column("rcode"), 2), pa.int64()),
                "first": rows.column("ts"), "sample": rows.column("qname"),
                "sensor": rows.column("sensor"), "last": rows.column("ts"),
                **lexical.sketch_columns(lexical.string_hash64(sub), SKETCH_K)}
        state.add_rows(pa.table(part), ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        n = table.column("failures").to_numpy().astype(np.float64)
        unique = np.minimum(np.round(lexical.estimate(table, SKETCH_K)), n)
        attacking = (unique >= self.min_client_unique) & (unique >= 0.5 * n)
        if not attacking.any():
            return []
        rows = table.take(pa.array(np.flatnonzero(attacking))).select(
            ["domain", "client", "failures", "servfail", "first", "last", "sample",
             "sensor"]).to_pylist()
        by_zone: dict[str, list[dict[str, Any]]] = {}
        for row, u in zip(rows, unique[attacking], strict=True):
            row["unique"] = int(u)
            by_zone.setdefault(row["domain"], []).append(row)
        targets = [(z, rs) for z, rs in by_zone.items()
                   if sum(r["unique"] for r in rs) >= self.min_unique]
        targets.sort(key=lambda zr: -sum(r["failures"] for r in zr[1]))
        if len(targets) > self.max_findings:
            ctx.drop("findings-over-cap", len(targets) - self.max_findings)
        out = []
        for zone, attackers in targets[: self.max_findings]:
            out.append(self._finding(zone, attackers, ctx))
            out += [self._bot_finding(zone, r) for r in attackers[: self.max_clients]]
            if len(attackers) > self.max_clients:
                ctx.drop("attacking-clients-over-cap", len(attackers) - self.max_clients)
        return out

    def _bot_finding(self, zone: str, row: dict[str, Any]) -> Finding:
        """One attacking client (a bot, or an open resolver relaying bots)."""
        evidence = {"client": row["client"], "target_zone": zone,
                    "registered_domain": zone, "failures": row["failures"],
                    "distinct_subdomains": row["unique"], "servfail": row["servfail"],
                    "sample_name": row["sample"]}
        explanation = (
            f"Client {row['client']} sent {row['failures']} failed queries for about "
            f"{row['unique']} random subdomains of {zone}, taking part in a random-subdomain "
            f"DDoS against it: check that host for a bot (or, if it is a resolver, rate-limit "
            f"the clients behind it).")
        return Finding(
            detector=self.name, type="random-subdomain-bot", subject_kind="client",
            subject=row["client"],
            score=round(min(0.99, 1.0 - 0.5 * self.min_client_unique / max(row["unique"], 1)),
                        4),
            first_seen=row["first"], last_seen=row["last"], count=row["failures"],
            evidence=evidence, explanation=explanation, sensor=row["sensor"])

    def _finding(self, zone: str, rows: list[dict[str, Any]],
                 ctx: WindowContext) -> Finding:
        rows.sort(key=lambda r: (-r["failures"], r["client"]))
        failures = sum(r["failures"] for r in rows)
        servfail = sum(r["servfail"] for r in rows)
        unique = sum(r["unique"] for r in rows)
        minutes = max((max(r["last"] for r in rows) - min(r["first"] for r in rows))
                      .total_seconds() / 60, 1 / 60)
        evidence = {"target_zone": zone, "registered_domain": zone,
                    "clients": [{k: r[k] for k in ("client", "failures", "unique")}
                                for r in rows[:50]],
                    "client_count": len(rows), "failures": failures,
                    "distinct_subdomains": unique, "servfail": servfail,
                    "rate_qps": round(failures / (minutes * 60), 2),
                    "sample_names": sorted({r["sample"] for r in rows[:5]}),
                    "thresholds": {"min_client_unique": self.min_client_unique,
                                   "min_unique": self.min_unique},
                    "window_start": ctx.start.isoformat()}
        explanation = (
            f"{len(rows)} client(s) sent {failures} failed queries for about {unique} "
            f"distinct random subdomains of {zone} in {minutes:.0f} minutes "
            f"({servfail} SERVFAIL), a random-subdomain (water torture) DDoS against the "
            f"{zone} name servers: rate-limit or block these clients and warn the zone's "
            f"operator.")
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain", subject=zone,
            score=round(min(0.99, max(0.0, 1.0 - 0.5 * self.min_unique / max(unique, 1))), 4),
            first_seen=min(r["first"] for r in rows), last_seen=max(r["last"] for r in rows),
            count=failures, evidence=evidence, explanation=explanation,
            sensor=rows[0]["sensor"])


def water_torture(window: dt.timedelta | None = None, settings: Any = None) -> WaterTorture:
    from bluelamp.detect.domain_settings import detect_settings

    allow = frozenset(detect_settings(settings).tunnel_allow)
    return WaterTorture(window=window, allow=allow) if window else WaterTorture(allow=allow)


DETECTORS = [water_torture]
