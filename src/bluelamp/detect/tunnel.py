"""DNS tunnelling and exfiltration: one client pushing data through the names of one
registered domain.

Tools such as iodine and dns2tcp encode a byte stream into query names (base32, base64 or
raw 8-bit labels under the tunnel's domain) and carry the return stream in TXT, NULL, CNAME
or MX answers. Per registered domain × client and window this detector folds:

- how many distinct subdomains the client asked for (a mergeable min-hash sketch),
- the length and the Shannon entropy of those subdomains,
- the bytes moved (query name + response size),
- the share of TXT/NULL/CNAME/MX questions.

Only "payload-like" queries enter the state: a subdomain part of at least
`min_sub_len` characters, or any subdomain asked with a tunnel record type. The trap is the
benign names that look random: CDN hosts with hashed labels (`<32 hex>.safeframe.
googlesyndication.com`, `rr3---sn-….googlevideo.com`) and reputation look-ups (DNSBL,
anti-virus hash queries). A browser asks for tens of such names an hour, a DNSBL client
uses short, low-entropy labels; a tunnel asks for hundreds to thousands of distinct long
high-entropy names from one client. A (domain, client) pair is flagged only when all of:
distinct subdomains ≥ `min_unique`, mean subdomain length ≥ `min_mean_len`, mean entropy ≥
`min_entropy` bits per character. Registered domains in `[detect] tunnel_allow` are skipped.

Findings: one `dns-tunnel` finding per registered domain (subject: the domain, to block; its
evidence lists the clients) and one `dns-tunnel-client` finding per flagged client (subject:
the host to examine; evidence names the domain).
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

#: record types tunnels carry data in: CNAME, NULL, MX, TXT (and the private-use 65399 of
#: some tools is rare enough to leave out)
TUNNEL_QTYPES = (5, 10, 15, 16)
SKETCH_K = 32
_SKETCH = tuple(lexical.sketch_names(SKETCH_K))


def domain_and_sub(qname: pa.Array, keep: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(registered domain, subdomain) of the rows of `qname` where `keep` is true, from the
    batch's shared name index; subdomain "" when the name is its registered domain, both
    null when it has none."""
    ix = lexical.name_index(qname)
    rows = ix.idx[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    take = pa.array(rows, mask=rows < 0)
    return ix.domain.take(take), ix.sub.take(take)


def subdomain_features(sub: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(length, entropy, hash) of each subdomain with its dots removed, computed on the
    distinct values only."""
    encoded = pc.dictionary_encode(sub)
    uniq = pc.replace_substring(encoded.dictionary, ".", "")
    idx = encoded.indices.to_numpy(zero_copy_only=False)
    length = pc.utf8_length(uniq).take(encoded.indices)
    return length, lexical.entropy(uniq)[idx], lexical.string_hash64(encoded.dictionary)[idx]


@dataclass
class Tunnel:
    """Flag (registered domain, client) pairs that carry a byte stream in query names."""

    window: dt.timedelta = dt.timedelta(hours=1)
    min_sub_len: int = 24
    min_unique: int = 100
    min_mean_len: float = 48.0
    min_entropy: float = 3.9
    allow: frozenset[str] = field(default_factory=frozenset)
    max_findings: int = 1000
    name: str = "dns-tunnel"
    finding_type: str = "dns-tunnel"
    key: str = "registered_domain"
    columns: tuple[str, ...] = ("ts", "client", "qname", "qtype", "response_size", "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(
            keys=("domain", "client"),
            sums=("queries", "sub_len", "entropy", "bytes", "tunnel_types"),
            mins=("first", "sample", "sensor", *_SKETCH), maxs=("last", "max_len"),
            rank="queries")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        qtype = pc.fill_null(batch.column("qtype"), 0)
        typed = pc.is_in(qtype, pa.array(TUNNEL_QTYPES, pa.uint16()))
        # cheap prefilter before any name splitting: a long name or a tunnel record type
        # (the shortest registered domain plus min_sub_len is longer than min_sub_len + 4)
        pre = pc.or_(pc.greater_equal(pc.utf8_length(batch.column("qname")),
                                      self.min_sub_len + 4), typed)
        pre = pc.fill_null(pc.and_(pre, pc.is_valid(batch.column("client"))), False)
        if not pc.any(pre).as_py():
            return state
        rows = pa.table({"client": batch.column("client"), "qname": batch.column("qname"),
                         "ts": batch.column("ts"), "typed": typed,
                         "size": batch.column("response_size"),
                         "sensor": batch.column("sensor")}).filter(pre)
        rd, sub = domain_and_sub(batch.column("qname"), pre)
        sub_len = pc.utf8_length(pc.fill_null(sub, ""))
        keep = pc.and_(pc.greater(sub_len, 0), pc.or_(
            pc.greater_equal(sub_len, self.min_sub_len), rows.column("typed")))
        if self.allow:
            keep = pc.and_(keep, pc.invert(pc.is_in(rd, pa.array(sorted(self.allow)))))
        keep = pc.fill_null(keep, False)
        if not pc.any(keep).as_py():
            return state
        rows = rows.append_column("domain", rd).append_column("sub", sub).filter(keep)
        length, ent, hashes = subdomain_features(rows.column("sub").combine_chunks())
        qbytes = pc.add(pc.cast(pc.utf8_length(rows.column("qname")), pa.int64()),
                        pc.cast(pc.fill_null(rows.column("size"), 0), pa.int64()))
        part = {"domain": rows.column("domain"), "client": rows.column("client"),
                "queries": pa.array(np.ones(rows.num_rows, dtype=np.int64)),
                "sub_len": pc.cast(length, pa.int64()), "entropy": pa.array(ent),
                "bytes": qbytes, "tunnel_types": pc.cast(rows.column("typed"), pa.int64()),
                "first": rows.column("ts"), "sample": rows.column("qname"),
                "sensor": rows.column("sensor"), "last": rows.column("ts"),
                "max_len": pc.cast(length, pa.int64()),
                **lexical.sketch_columns(hashes, SKETCH_K)}
        state.add_rows(pa.table(part), ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        n = table.column("queries").to_numpy().astype(np.float64)
        unique = np.minimum(np.round(lexical.estimate(table, SKETCH_K)), n)
        mean_len = table.column("sub_len").to_numpy() / n
        mean_ent = table.column("entropy").to_numpy() / n
        hit = ((unique >= self.min_unique) & (mean_len >= self.min_mean_len)
               & (mean_ent >= self.min_entropy))
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            return []
        flagged = table.take(pa.array(rows)).select(
            ["domain", "client", "queries", "bytes", "tunnel_types", "first", "last",
             "sample", "sensor", "max_len"]).to_pylist()
        for row, u, ml, me in zip(flagged, unique[rows], mean_len[rows], mean_ent[rows],
                                  strict=True):
            row.update(unique=int(u), mean_len=round(float(ml), 1),
                       mean_entropy=round(float(me), 2))
        return self._findings(flagged, ctx)

    def _findings(self, rows: list[dict[str, Any]], ctx: WindowContext) -> list[Finding]:
        by_domain: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_domain.setdefault(row["domain"], []).append(row)
        ranked = sorted(by_domain.items(), key=lambda kv: -sum(r["bytes"] for r in kv[1]))
        if len(ranked) > self.max_findings:
            ctx.drop("findings-over-cap", len(ranked) - self.max_findings)
        out = []
        for domain, pairs in ranked[: self.max_findings]:
            out.append(self._finding(domain, pairs, ctx))
            out += [self._client_finding(domain, r, out[-1].score) for r in pairs]
        return out

    def _client_finding(self, domain: str, row: dict[str, Any], score: float) -> Finding:
        """The host end of the tunnel: the client to examine (the domain finding says what
        to block)."""
        evidence = {"client": row["client"], "registered_domain": domain,
                    **{k: row[k] for k in ("queries", "unique", "bytes", "mean_len",
                                           "mean_entropy", "max_len", "tunnel_types")},
                    "sample_name": row["sample"]}
        explanation = (
            f"Client {row['client']} moved {row['bytes']} bytes through {row['unique']} "
            f"distinct random-looking subdomains of {domain} (mean {row['mean_len']:g} "
            f"characters, {row['mean_entropy']:g} bits/char), a DNS tunnel: examine that "
            f"host for tunnelling software or an intruder and block {domain}.")
        return Finding(
            detector=self.name, type=f"{self.finding_type}-client", subject_kind="client",
            subject=row["client"], score=score, first_seen=row["first"],
            last_seen=row["last"], count=row["queries"], evidence=evidence,
            explanation=explanation, sensor=row["sensor"])

    def _finding(self, domain: str, rows: list[dict[str, Any]],
                 ctx: WindowContext) -> Finding:
        rows.sort(key=lambda r: (-r["bytes"], r["client"]))
        top = rows[0]
        queries = sum(r["queries"] for r in rows)
        total_bytes = sum(r["bytes"] for r in rows)
        typed = sum(r["tunnel_types"] for r in rows)
        clients = [{k: r[k] for k in ("client", "queries", "unique", "bytes", "mean_len",
                                      "mean_entropy", "max_len")} for r in rows[:20]]
        evidence = {"registered_domain": domain, "clients": clients,
                    "client_count": len(rows), "queries": queries, "bytes": total_bytes,
                    "tunnel_qtype_share": round(typed / queries, 3),
                    "sample_names": sorted({r["sample"] for r in rows[:5]}),
                    "thresholds": {"min_unique": self.min_unique,
                                   "min_mean_len": self.min_mean_len,
                                   "min_entropy": self.min_entropy},
                    "window_start": ctx.start.isoformat()}
        # the more a pair exceeds every threshold, the surer: 0.5 at the thresholds
        margin = min(_ratio(top["unique"], self.min_unique),
                     _ratio(top["mean_len"], self.min_mean_len),
                     _ratio(top["mean_entropy"], self.min_entropy))
        score = round(min(0.99, 1.0 - 0.5 / max(margin, 0.5)), 4)
        who = (f"client {top['client']}" if len(rows) == 1
               else f"{len(rows)} clients (most: {top['client']})")
        explanation = (
            f"{who.capitalize()} sent {queries} queries with {top['unique']} distinct "
            f"random-looking subdomains of {domain} (mean {top['mean_len']:g} characters, "
            f"{top['mean_entropy']:g} bits/char entropy, {total_bytes} bytes, "
            f"{typed / queries:.0%} TXT/NULL/CNAME/MX) in one window, the pattern of a DNS "
            f"tunnel moving data: block {domain} and examine that host.")
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain",
            subject=domain, score=score, first_seen=min(r["first"] for r in rows),
            last_seen=max(r["last"] for r in rows), count=queries, evidence=evidence,
            explanation=explanation, sensor=top["sensor"])


def _ratio(value: float, threshold: float) -> float:
    """How far a value is above its threshold (2 when the threshold is switched off)."""
    return value / threshold if threshold > 0 else 2.0


def tunnel(window: dt.timedelta | None = None, settings: Any = None) -> Tunnel:
    from bluelamp.detect.domain_settings import detect_settings

    allow = frozenset(detect_settings(settings).tunnel_allow)
    return Tunnel(window=window, allow=allow) if window else Tunnel(allow=allow)


DETECTORS = [tunnel]
