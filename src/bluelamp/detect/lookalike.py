"""Lookalike and brand-impersonation domains: registered domains that imitate a protected
brand (`[detect] protected_brands`: brand → its genuine registered domains).

Per window the detector keeps one row per distinct registered domain (queries, clients,
first/last time). When the window closes it asks `bluelamp.detect.brands` — the one place
that decides whether a registered domain imitates a brand (the same code serves report
triage and the suspension desk) — about the domains it has not judged before, in one
vectorised query (labels × brands). The kinds it can answer here:

- **homoglyph**: the label's *skeleton* equals the brand's but the label is not the brand
  (`xn--pypal-4ve` is "pаypal" with a Cyrillic а; `paypa1`; `rnicrosoft`);
- **typosquat**: one edit from the brand (two for brands of eight or more letters); a brand
  shorter than five letters only counts a doubled letter (`dhll`);
- **combosquat**: the brand next to one of `[detect] lookalike_keywords`
  (`paypal-login-secure`, `hmrc-refund`); without the keyword it is usually a fan site, a
  reseller or an unrelated business.

The tld-swap and subdomain kinds of `brands` are not asked for: in traffic they would
flag the brands' own unlisted country domains. A brand's own genuine domains (and names
under them) are never flagged. A name that never resolved is not reported (a user's typo
cannot host a page). Findings are per registered domain, so a phishing domain is reported
the first window it is looked up, while it is young.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect import lexical
from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.brands import KIND_SCORE, Brands
from bluelamp.detect.state import KeyedAggregate

#: registered domains whose verdict is remembered; the memo is emptied when it would grow
#: past this (bounded memory)
VERDICT_CACHE = 1_000_000


@dataclass
class Lookalike:
    """Flag registered domains that imitate a protected brand."""

    brands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    keywords: Sequence[str] = ()
    _verdicts: dict[str, tuple[str, str] | None] = field(default_factory=dict, repr=False)
    _brands: Brands | None = field(default=None, init=False, repr=False)
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

    def _compare(self, domains: list[str], labels: list[str]) -> pa.Table:
        """(domain, brand, kind) of the lookalikes among these registered domains."""
        if self._brands is None:
            self._brands = Brands(self.brands, self.keywords)
        hits = self._brands.match(domains, labels)
        return pa.table({"domain": pa.array(domains, pa.string()).take(hits.column("i")),
                         "brand": hits.column("brand"), "kind": hits.column("kind")})

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


def lookalike(window: dt.timedelta | None = None, settings: Any = None) -> Lookalike:
    from bluelamp.detect.domain_settings import detect_settings

    cfg = detect_settings(settings)
    det = Lookalike(brands=cfg.protected_brands, keywords=tuple(cfg.lookalike_keywords))
    if window:
        det.window = window
    return det


DETECTORS = [lookalike]
