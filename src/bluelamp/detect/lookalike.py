"""Lookalike and brand-impersonation domains: registered domains that imitate a protected
brand (`[detect] protected_brands`: brand → its genuine registered domains).

Per window the detector keeps one row per distinct registered domain (queries, clients,
first/last time). When the window closes it compares the distinct registered labels with
every brand in one DuckDB query (labels × brands):

- **homoglyph**: the label's *skeleton* equals the brand's but the label is not the brand:
  IDN confusables (`xn--pypal-4ve` is "pаypal" with a Cyrillic а), digit swaps (`paypa1`),
  letter pairs (`rnicrosoft`). The skeleton (`lexical.skeleton`) decodes Punycode and maps
  a documented subset of Unicode TR39 confusables to Latin letters.
- **typosquat**: Damerau-Levenshtein distance 1 from the brand's skeleton (2 for brands of
  eight or more letters); brands shorter than five letters only count a doubled letter
  (`dhll`), because one edit of a short name hits ordinary words.
- **combosquat**: the brand is a hyphen-separated token of the label (or, for brands of five
  or more letters, a substring) *and* the label also contains one of
  `[detect] lookalike_keywords` (`paypal-login-secure`, `hmrc-refund`, `amazonverify`).
  The keyword is required because a brand next to an arbitrary word is usually a fan site,
  a reseller or an unrelated business.

A brand's own genuine domains are never flagged. Findings are per registered domain, so a
phishing domain is reported the first window it is looked up, while it is young.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect import lexical
from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate

KIND_SCORE = {"homoglyph": 0.95, "typosquat": 0.8, "combosquat": 0.85}

_SQL = """
SELECT d.domain, b.brand, d.label,
  CASE
    WHEN d.skel = b.skel AND d.label <> b.brand THEN 'homoglyph'
    WHEN (list_contains(d.tokens, b.skel)
          OR (length(b.skel) >= 5 AND contains(d.skel, b.skel)))
         AND d.has_keyword THEN 'combosquat'
    WHEN length(b.skel) >= 5 AND d.skel <> b.skel
         AND abs(length(d.skel) - length(b.skel)) <= 2
         AND damerau_levenshtein(d.skel, b.skel)
             <= CASE WHEN length(b.skel) >= 8 THEN 2 ELSE 1 END THEN 'typosquat'
    WHEN length(b.skel) < 5 AND d.skel <> b.skel AND d.squeezed = b.skel THEN 'typosquat'
  END AS kind
FROM labels d CROSS JOIN brands b
WHERE NOT list_contains(b.genuine, d.domain)
"""
#: registered domains whose verdict is remembered; the memo is emptied when it would grow
#: past this (bounded memory)
VERDICT_CACHE = 1_000_000


@dataclass
class Lookalike:
    """Flag registered domains that imitate a protected brand."""

    brands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    keywords: Sequence[str] = ()
    _verdicts: dict[str, tuple[str, str] | None] = field(default_factory=dict, repr=False)
    window: dt.timedelta = dt.timedelta(hours=1)
    max_findings: int = 1000
    name: str = "lookalike"
    finding_type: str = "brand-lookalike"
    key: str = "registered_domain"
    columns: tuple[str, ...] = ("ts", "client", "qname", "rcode", "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("domain", "label"), sums=("queries", "resolved"),
                              mins=("first", "client_a", "sensor", "sample"),
                              maxs=("last", "client_b"), rank="queries")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        if not self.brands:
            return state
        # per distinct name first (cheap), then the registered domain of each distinct name
        ix = lexical.name_index(batch.column("qname"))
        names, idx, counts, first, last = ix.names, ix.idx, ix.counts, ix.first, ix.last
        if len(names) == 0:
            return state
        # an answered question (or a log without answers): only those can be live phishing
        rcode = batch.column("rcode")
        answered = pc.fill_null(pc.equal(rcode, 0), True).to_numpy(zero_copy_only=False)
        valid = idx >= 0
        resolved = np.bincount(idx[valid], weights=answered[valid], minlength=len(names))
        label = ix.label
        ts, client = batch.column("ts"), batch.column("client")
        first_rows, last_rows = pa.array(first), pa.array(last)
        part = pa.table({
            "domain": ix.domain, "label": label,
            "queries": pa.array(counts, pa.int64()),
            "resolved": pa.array(resolved.astype(np.int64)),
            "first": ts.take(first_rows), "client_a": client.take(first_rows),
            "sensor": batch.column("sensor").take(first_rows), "sample": names,
            "last": ts.take(last_rows), "client_b": client.take(last_rows),
        })
        state.add_rows(part.filter(pc.is_valid(part.column("domain"))), ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0 or not self.brands:
            return []
        # a name that never resolved (a user's typo, NXDOMAIN) cannot host a phishing page
        table = table.filter(pc.greater(table.column("resolved"), 0))
        matches = self.match(table.column("domain"), table.column("label"))
        if matches.num_rows == 0:
            return []
        found = {r["domain"]: r for r in table.filter(pc.is_in(
            table.column("domain"), matches.column("domain"))).to_pylist()}
        out = []
        for m in matches.to_pylist():
            out.append(self._finding(found[m["domain"]], m["brand"], m["kind"], ctx))
        out.sort(key=lambda f: (-f.score, f.subject))
        if len(out) > self.max_findings:
            ctx.drop("findings-over-cap", len(out) - self.max_findings)
        return out[: self.max_findings]

    def match(self, domain: pa.Array | pa.ChunkedArray,
              label: pa.Array | pa.ChunkedArray) -> pa.Table:
        """(domain, brand, kind) of every registered domain that imitates a brand: the
        strongest kind per domain (homoglyph > combosquat > typosquat), one brand.
        Verdicts are remembered per domain (a pure function of the domain and the brand
        list), so each window only compares the domains it has not seen before."""
        domains = pc.fill_null(domain, "").to_pylist()
        labels = pc.fill_null(label, "").to_pylist()
        fresh = {d: x for d, x in zip(domains, labels, strict=True)
                 if d and d not in self._verdicts}
        if fresh:
            if len(self._verdicts) + len(fresh) > VERDICT_CACHE:
                self._verdicts.clear()
            self._verdicts.update(dict.fromkeys(fresh))
            for row in self._compare(list(fresh), list(fresh.values())).to_pylist():
                self._verdicts[row["domain"]] = (row["brand"], row["kind"])
        hits = sorted({d: self._verdicts[d] for d in domains if d and self._verdicts[d]}
                      .items())
        return pa.table({"domain": pa.array([d for d, _ in hits], pa.string()),
                         "brand": pa.array([v[0] for _, v in hits], pa.string()),  # type: ignore[index]
                         "kind": pa.array([v[1] for _, v in hits], pa.string())})  # type: ignore[index]

    def _compare(self, domains: list[str], labels_py: list[str]) -> pa.Table:
        """One DuckDB query over these labels × the brands."""
        skel = [lexical.skeleton(x) for x in labels_py]
        words = "|".join(re.escape(lexical.skeleton(w)) for w in self.keywords if w)
        keyword = re.compile(words) if words else None
        labels = pa.table({
            "domain": pa.array(domains, pa.string()),
            "label": pa.array(labels_py, pa.string()), "skel": skel,
            "squeezed": [_squeeze(x) for x in skel],
            "tokens": [[lexical.skeleton(t) for t in x.split("-") if t] for x in labels_py],
            "has_keyword": [bool(keyword and keyword.search(x)) for x in skel],
        })
        brands = pa.table({
            "brand": list(self.brands),
            "skel": [lexical.skeleton(b.lower()) for b in self.brands],
            "genuine": [[d.lower().strip(".") for d in ds] for ds in self.brands.values()],
        })
        con = duckdb.connect()
        try:
            con.register("labels", labels)
            con.register("brands", brands)
            hits = con.sql(f"""
                SELECT domain, arg_max(brand, rank) AS brand, arg_max(kind, rank) AS kind
                FROM (SELECT *, CASE kind WHEN 'homoglyph' THEN 3 WHEN 'combosquat' THEN 2
                                          ELSE 1 END AS rank
                      FROM ({_SQL}) WHERE kind IS NOT NULL)
                GROUP BY domain ORDER BY domain""").arrow()
        finally:
            con.close()
        return hits.read_all() if isinstance(hits, pa.RecordBatchReader) else hits

    def _finding(self, row: dict[str, Any], brand: str, kind: str,
                 ctx: WindowContext) -> Finding:
        domain = row["domain"]
        shown = lexical.unicode_label(row["label"])
        clients = sorted({row["client_a"], row["client_b"]} - {None})
        evidence = {"registered_domain": domain, "brand": brand, "kind": kind,
                    "label": row["label"], "unicode_label": shown,
                    "skeleton": lexical.skeleton(row["label"]),
                    "genuine_domains": list(self.brands[brand]), "queries": row["queries"],
                    "sample_clients": clients, "sample_name": row["sample"],
                    "window_start": ctx.start.isoformat()}
        how = {"homoglyph": f"reads as {brand!r} to a person ({shown!r} uses look-alike "
                            "characters)",
               "typosquat": f"is a one-letter misspelling of {brand!r}",
               "combosquat": f"combines {brand!r} with a phishing keyword"}[kind]
        explanation = (
            f"{domain} {how} but is not one of {brand}'s domains, and was looked up "
            f"{row['queries']} time(s): a likely phishing or impersonation domain while it "
            f"is young; check its content and request suspension if it imitates {brand}.")
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="domain",
            subject=domain, score=KIND_SCORE[kind], first_seen=row["first"],
            last_seen=row["last"], count=row["queries"], evidence=evidence,
            explanation=explanation, sensor=row["sensor"])


def _squeeze(text: str) -> str:
    """Runs of one letter folded to one (dhll → dhl)."""
    return "".join(c for i, c in enumerate(text) if i == 0 or c != text[i - 1])


def lookalike(window: dt.timedelta | None = None, settings: Any = None) -> Lookalike:
    from bluelamp.detect.domain_settings import detect_settings

    cfg = detect_settings(settings)
    det = Lookalike(brands=cfg.protected_brands, keywords=tuple(cfg.lookalike_keywords))
    if window:
        det.window = window
    return det


DETECTORS = [lookalike]
