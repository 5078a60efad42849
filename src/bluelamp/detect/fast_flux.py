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
`[detect] fast_flux_allow`.

With routing data configured (`[attribution] routing`, read through `bluelamp.attribute`),
the sharper test is autonomous systems: a name is flagged when its /24s lie in at least
`min_asns` distinct origin ASes (a CDN, however many prefixes it announces, is one or two
ASes). When most of a name's addresses are not in the routing table, or no routing data is
configured, the /16 rule above is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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
    min_asns: int = 5
    #: address strings → origin AS numbers (0 = not routed); None: prefix diversity only
    asn_of: Callable[[pa.Array], np.ndarray] | None = None
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
        asns, routed = self._asn_diversity(table, per_name, n24 >= self.min_networks)
        wide = np.where(routed, asns >= self.min_asns, n16 >= self.min_wide_networks)
        hit = (n24 >= self.min_networks) & wide
        if not hit.any():
            return []
        per_name = per_name.append_column("asns", pa.array(asns)).append_column(
            "by_asn", pa.array(routed))
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

    def _asn_diversity(self, table: pa.Table, per_name: pa.Table,
                       candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distinct origin ASes, whether the AS rule applies) per name of `per_name`: only
        for candidates, from one sample address per /24 (a /24 has one origin)."""
        n = per_name.num_rows
        asns, routed = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        if self.asn_of is None or not candidate.any():
            return asns, routed
        names = per_name.column("qname").filter(pa.array(candidate))
        rows = table.filter(pc.is_in(table.column("qname"), names))
        asn = self.asn_of(rows.column("address").combine_chunks())
        pairs = pa.table({"qname": rows.column("qname"),
                          "asn": pa.array(asn, mask=asn <= 0),
                          "routed": pa.array((asn > 0).astype(np.int64))})
        by = pairs.group_by("qname", use_threads=False).aggregate(
            [("asn", "count_distinct"), ("routed", "sum"), ("routed", "count")])
        where = {q: i for i, q in enumerate(per_name.column("qname").to_pylist())}
        for q, d, r, c in zip(*(by.column(k).to_pylist() for k in (
                "qname", "asn_count_distinct", "routed_sum", "routed_count")), strict=True):
            asns[where[q]] = d
            routed[where[q]] = r * 2 > c  # most of its /24s are in the routing table
        return asns, routed

    def _finding(self, row: dict[str, Any], table: pa.Table, ctx: WindowContext) -> Finding:
        mine = table.filter(pc.equal(table.column("qname"), row["qname"]))
        addresses = sorted(set(mine.column("address").to_pylist()))
        clients = sorted(set(mine.column("client").to_pylist()) - {None})
        n24, n16 = row["net24_count_distinct"], row["net16_count_distinct"]
        domain = row["domain"] or row["qname"]
        evidence = {"name": row["qname"], "registered_domain": domain,
                    "networks_24": n24, "networks_16": n16, "answers": row["answers_sum"],
                    "min_ttl": row["ttl_min"], "sample_addresses": addresses[:20],
                    "asns": int(row["asns"]) if row["by_asn"] else None,
                    "diversity_rule": "asn" if row["by_asn"] else "prefix",
                    "clients": clients[:20],
                    "thresholds": {"min_networks": self.min_networks,
                                   "min_wide_networks": self.min_wide_networks,
                                   "min_asns": self.min_asns, "max_ttl": self.max_ttl},
                    "window_start": ctx.start.isoformat()}
        spread = (f"{row['asns']} different autonomous systems" if row["by_asn"]
                  else f"{n16} different /16s")
        explanation = (
            f"{row['qname']} was answered from {n24} different /24 networks in {spread} "
            f"with TTLs down to {row['ttl_min']} s in one window, the mark of "
            f"a fast-flux network of compromised hosts hiding the real server: treat "
            f"{domain} as criminal infrastructure and check the {len(clients)} client(s) "
            f"that visited it.")
        ratio = (row["asns"] / max(self.min_asns, 1) if row["by_asn"]
                 else n16 / max(self.min_wide_networks, 1))
        score = round(min(0.99, max(0.0, 1.0 - 0.5 / max(ratio, 0.5))), 4)
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain",
            subject=domain, score=score, first_seen=row["first_min"],
            last_seen=row["last_max"], count=row["answers_sum"], evidence=evidence,
            explanation=explanation, sensor=row["sensor_min"])


def fast_flux(window: dt.timedelta | None = None, settings: Any = None) -> FastFlux:
    from bluelamp.detect.domain_settings import detect_settings, full_settings

    allow = frozenset(detect_settings(settings).fast_flux_allow)
    det = FastFlux(allow=allow, asn_of=routing_asns(full_settings(settings)))
    if window:
        det.window = window
    return det


def routing_asns(settings: Any) -> Callable[[pa.Array], np.ndarray] | None:
    """Origin-AS lookup from the `[attribution] routing` files, or None without them."""
    if settings is None or not settings.attribution.routing:
        return None
    from bluelamp.attribute import Attributor

    attributor = Attributor.from_files(routing=settings.attribution.routing)

    def asn_of(addresses: pa.Array) -> np.ndarray:
        asn = attributor.lookup(addresses).column("source_asn")
        return np.asarray(pc.fill_null(asn, 0).to_numpy(zero_copy_only=False), np.int64)

    return asn_of


DETECTORS = [fast_flux]
