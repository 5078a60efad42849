"""Fast flux: a name whose address records rotate through many hosts in many unrelated
networks, with short TTLs, so that taking down one host changes nothing.

Per query name and window the detector keeps the distinct /24 networks of its IPv4 answers
(one state key per name × /24) from successful A answers with a TTL of at most `max_ttl`,
plus the distinct /16s. A name is flagged when it had at least `min_networks` distinct /24s
spread over at least `min_wide_networks` distinct /16s, i.e. nearly every /24 in a /16 of
its own.

The trap is content delivery networks and big load-balanced services, which also answer
with short TTLs and several addresses. Their edges sit in a few provider blocks, so from one
resolver a CDN name shows a handful of /24s packed into one or two /16s; flux hosts are
home routers and hacked servers scattered over the whole address space. Requiring many
distinct /16s (not just many addresses or /24s) is what keeps CDNs out. Services that
legitimately answer from volunteers' addresses everywhere (the NTP pool) go in
`[detect] fast_flux_allow`. Autonomous-system diversity would be a sharper signal where
routing data is configured (`bluelamp.attribute`); this detector uses prefix diversity only,
so it needs no data files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate
from bluelamp.domains import registered_domains

_V4 = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


@dataclass
class FastFlux:
    """Flag names answered from many /24s across many /16s with short TTLs."""

    window: dt.timedelta = dt.timedelta(hours=1)
    max_ttl: int = 900
    min_networks: int = 10
    min_wide_networks: int = 8
    allow: frozenset[str] = field(default_factory=frozenset)
    max_findings: int = 1000
    name: str = "fast-flux"
    finding_type: str = "fast-flux"
    key: str = "qname"
    columns: tuple[str, ...] = ("ts", "client", "qname", "qtype", "rcode", "answers", "ttl",
                                "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("qname", "net24"), sums=("answers",),
                              mins=("first", "ttl", "client", "sensor", "address"),
                              maxs=("last",), rank="answers")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        ok = pc.and_(pc.and_(pc.equal(batch.column("qtype"), 1),
                             pc.equal(batch.column("rcode"), 0)),
                     pc.less_equal(batch.column("ttl"), self.max_ttl))
        ok = pc.fill_null(ok, False)
        if not pc.any(ok).as_py():
            return state
        rows = pa.table({c: batch.column(c) for c in
                         ("ts", "client", "qname", "answers", "ttl", "sensor")}).filter(ok)
        answers = rows.column("answers").combine_chunks()
        flat = pc.list_flatten(answers)
        parent = pc.list_parent_indices(answers)
        v4 = pc.fill_null(pc.match_substring_regex(flat, _V4), False)
        if not pc.any(v4).as_py():
            return state
        flat, parent = flat.filter(v4), parent.filter(v4)
        rows = rows.take(parent)
        # "a.b.c.d" → "a.b.c" (the /24); CNAME targets and AAAA answers are skipped above
        net24 = pc.replace_substring_regex(flat, r"\.\d{1,3}$", "")
        part = pa.table({"qname": rows.column("qname"), "net24": net24,
                         "answers": pa.array(np.ones(len(flat), dtype=np.int64)),
                         "first": rows.column("ts"), "ttl": rows.column("ttl"),
                         "client": rows.column("client"), "sensor": rows.column("sensor"),
                         "address": flat, "last": rows.column("ts")})
        state.add_rows(part, ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        net16 = pc.replace_substring_regex(table.column("net24"), r"\.\d{1,3}$", "")
        table = table.append_column("net16", net16)
        per_name = table.group_by("qname", use_threads=False).aggregate([
            ("net24", "count_distinct"), ("net16", "count_distinct"), ("answers", "sum"),
            ("ttl", "min"), ("first", "min"), ("last", "max"), ("sensor", "min")])
        n24 = per_name.column("net24_count_distinct").to_numpy()
        n16 = per_name.column("net16_count_distinct").to_numpy()
        hit = (n24 >= self.min_networks) & (n16 >= self.min_wide_networks)
        if not hit.any():
            return []
        flagged = per_name.filter(pa.array(hit))
        rd = registered_domains(flagged.column("qname"))
        flagged = flagged.append_column("domain", rd)
        if self.allow:
            flagged = flagged.filter(pc.invert(pc.fill_null(pc.is_in(
                rd, pa.array(sorted(self.allow))), False)))
        rows = sorted(flagged.to_pylist(), key=lambda r: (-r["net16_count_distinct"],
                                                          r["qname"]))
        if len(rows) > self.max_findings:
            ctx.drop("findings-over-cap", len(rows) - self.max_findings)
        return [self._finding(r, table, ctx) for r in rows[: self.max_findings]]

    def _finding(self, row: dict[str, Any], table: pa.Table, ctx: WindowContext) -> Finding:
        mine = table.filter(pc.equal(table.column("qname"), row["qname"]))
        addresses = sorted(set(mine.column("address").to_pylist()))
        clients = sorted(set(mine.column("client").to_pylist()) - {None})
        n24, n16 = row["net24_count_distinct"], row["net16_count_distinct"]
        domain = row["domain"] or row["qname"]
        evidence = {"name": row["qname"], "registered_domain": domain,
                    "networks_24": n24, "networks_16": n16, "answers": row["answers_sum"],
                    "min_ttl": row["ttl_min"], "sample_addresses": addresses[:20],
                    "clients": clients[:20],
                    "thresholds": {"min_networks": self.min_networks,
                                   "min_wide_networks": self.min_wide_networks,
                                   "max_ttl": self.max_ttl},
                    "window_start": ctx.start.isoformat()}
        explanation = (
            f"{row['qname']} was answered from {n24} different /24 networks in {n16} "
            f"different /16s with TTLs down to {row['ttl_min']} s in one window, the mark of "
            f"a fast-flux network of compromised hosts hiding the real server: treat "
            f"{domain} as criminal infrastructure and check the {len(clients)} client(s) "
            f"that visited it.")
        score = round(min(0.99, max(0.0, 1.0 - 0.5 * self.min_wide_networks / max(n16, 1))), 4)
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain",
            subject=domain, score=score, first_seen=row["first_min"],
            last_seen=row["last_max"], count=row["answers_sum"], evidence=evidence,
            explanation=explanation, sensor=row["sensor_min"])


def fast_flux(window: dt.timedelta | None = None, settings: Any = None) -> FastFlux:
    from bluelamp.detect.domain_settings import detect_settings

    allow = frozenset(detect_settings(settings).fast_flux_allow)
    return FastFlux(window=window, allow=allow) if window else FastFlux(allow=allow)


DETECTORS = [fast_flux]
