"""Is a name a lookalike of a protected brand, of which brand, of which kind, how strongly?

The one decision used by the DNS detector (`bluelamp.detect.lookalike`), public-report
triage (`bluelamp.act.reports.lookalike`) and the suspension desk's context
(`bluelamp.act.cases.context`). Pure: no I/O; vectorised — one DuckDB query compares a whole
list of names with every brand (names × brands), and `Brands.verdict` is the one-name
convenience wrapper.

The registered label is reduced to its *skeleton* (`lexical.skeleton`: Punycode decoded,
a documented subset of Unicode TR39 confusables and digit swaps mapped to Latin letters,
look-alike letter pairs folded, hyphens dropped) and compared with each brand's skeleton:

- **homoglyph**: the skeleton equals the brand's but the label is not the brand
  (`xn--pypal-4ve` is "pаypal" with a Cyrillic а; `paypa1`; `rnicrosoft`);
- **combosquat**: the brand is a hyphen-separated token of the label (or, for brands of
  five or more letters, a part of it) *and* the label also contains one of the keywords
  (`paypal-login-secure`, `hmrc-refund`, `amazonverify`): a brand next to an arbitrary
  word is usually a fan site, a reseller or an unrelated business;
- **typosquat**: Damerau-Levenshtein distance 1 from the brand's skeleton (2 for brands of
  eight or more letters); brands shorter than five letters only count a doubled letter
  (`dhll`), because one edit of a short name hits ordinary words.

Two more kinds are only asked for by callers that look at a whole host someone already
suspects (a reported URL), never by the DNS detector, where they would flag the brand's
own unlisted country domains and ordinary subdomains:

- **tld-swap**: the label is the brand under a suffix that is not one of its domains
  (`paypal.support`);
- **subdomain**: a subdomain label, or a hyphen-separated token of one, is the brand
  (`paypal.com.account-check.example`).

A name equal to or under one of a brand's genuine domains is never a lookalike of that
brand. When a name imitates several brands, the strongest kind wins (the order above;
ties: the first brand in the list)."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from bluelamp.detect import lexical
from bluelamp.domains import split_name

#: kind → score, strongest first (the order also ranks the kinds)
KIND_SCORE = {"homoglyph": 0.95, "combosquat": 0.85, "typosquat": 0.8, "subdomain": 0.75,
              "tld-swap": 0.7}

_KIND = """
CASE
  WHEN $host AND d.label = b.name THEN 'tld-swap'
  WHEN d.skel = b.skel AND d.label <> b.name THEN 'homoglyph'
  WHEN (list_contains(d.tokens, b.skel) OR (length(b.skel) >= 5 AND contains(d.skel, b.skel)))
       AND d.has_keyword THEN 'combosquat'
  WHEN length(b.skel) >= 5 AND d.skel <> b.skel
       AND abs(length(d.skel) - length(b.skel)) <= 2
       AND damerau_levenshtein(d.skel, b.skel)
           <= CASE WHEN length(b.skel) >= 8 THEN 2 ELSE 1 END THEN 'typosquat'
  WHEN length(b.skel) < 5 AND d.skel <> b.skel AND d.squeezed = b.skel THEN 'typosquat'
  WHEN $host AND list_contains(d.sub_tokens, b.skel) THEN 'subdomain'
END"""
_RANK = " ".join(f"WHEN '{k}' THEN {len(KIND_SCORE) - n}" for n, k in enumerate(KIND_SCORE))
_SQL = f"""
SELECT i, arg_max(brand, rank) AS brand, arg_max(kind, rank) AS kind
FROM (SELECT *, (CASE kind {_RANK} END) * 65536 - pos AS rank
      FROM (SELECT d.i, b.brand, b.pos, {_KIND} AS kind
            FROM labels d CROSS JOIN brands b
            WHERE NOT list_contains(d.genuine_for, b.pos))
      WHERE kind IS NOT NULL)
GROUP BY i ORDER BY i"""

_local = threading.local()


@dataclass(frozen=True)
class Verdict:
    """A name imitates `brand`: how (`kind`), how strongly (`score`), with which label."""

    name: str
    domain: str  # the registered domain
    brand: str
    kind: str
    score: float
    label: str  # the label that imitates the brand (a subdomain label for "subdomain")

    def describe(self) -> str:
        return f"{self.kind} of the protected brand {self.brand!r} ({self.label!r})"


class Brands:
    """Protected brands (brand → its genuine registered domains) and the keywords that make
    a brand + keyword label a combosquat. `host_kinds` adds the tld-swap and subdomain
    kinds (for a host that is already suspect, such as a reported URL)."""

    def __init__(self, brands: Mapping[str, Sequence[str]], keywords: Sequence[str] = (),
                 *, host_kinds: bool = False) -> None:
        self.genuine = {b: tuple(d.lower().strip(".") for d in ds)
                        for b, ds in brands.items() if b.strip()}
        self.host_kinds = host_kinds
        self._owners: dict[str, list[int]] = {}  # genuine domain → positions of its brands
        for pos, domains in enumerate(self.genuine.values()):
            for d in domains:
                self._owners.setdefault(d, []).append(pos)
        words = "|".join(re.escape(lexical.skeleton(w.lower())) for w in keywords if w)
        self._keyword = re.compile(words) if words else None
        self._brands = pa.table({
            "brand": pa.array(list(self.genuine), pa.string()),
            "name": [b.lower() for b in self.genuine],
            "skel": [lexical.skeleton(b.lower()) for b in self.genuine],
            "pos": pa.array(range(len(self.genuine)), pa.int64()),
        })

    def match(self, domains: Sequence[str], labels: Sequence[str],
              hosts: Sequence[str] | None = None,
              subdomains: Sequence[str] | None = None) -> pa.Table:
        """The lookalikes among registered `domains` (with their registered `labels`; the
        hosts they were seen as and those hosts' subdomain parts for the host kinds):
        (i: position in the input, brand, kind), one row per lookalike, by position."""
        if not self.genuine or not domains:
            return pa.table({"i": pa.array([], pa.int64()), "brand": pa.array([], pa.string()),
                             "kind": pa.array([], pa.string())})
        labels_table = self._labels(domains, labels, hosts, subdomains)
        con = _connection()
        con.register("labels", labels_table)
        con.register("brands", self._brands)
        try:
            rows = con.execute(_SQL, {"host": self.host_kinds}).fetchall()
        finally:
            con.unregister("labels")
            con.unregister("brands")
        return pa.table({"i": pa.array([r[0] for r in rows], pa.int64()),
                         "brand": pa.array([r[1] for r in rows], pa.string()),
                         "kind": pa.array([r[2] for r in rows], pa.string())})

    def _labels(self, domains: Sequence[str], labels: Sequence[str],
                hosts: Sequence[str] | None, subdomains: Sequence[str] | None) -> pa.Table:
        skel = [lexical.skeleton(x) for x in labels]
        subs = subdomains if subdomains is not None and self.host_kinds else [""] * len(labels)
        seen_as = domains if hosts is None else hosts
        return pa.table({
            "i": pa.array(range(len(domains)), pa.int64()),
            "genuine_for": pa.array([self._genuine_for(h) for h in seen_as],
                                    pa.list_(pa.int64())),
            "label": pa.array(labels, pa.string()), "skel": skel,
            "squeezed": [_squeeze(x) for x in skel],
            "tokens": pa.array([_tokens(x) for x in labels], pa.list_(pa.string())),
            "has_keyword": [bool(self._keyword and self._keyword.search(x)) for x in skel],
            "sub_tokens": pa.array([[t for sub in s.split(".") if sub
                                     for t in (lexical.skeleton(sub), *_tokens(sub))]
                                    for s in subs], pa.list_(pa.string())),
        })

    def _genuine_for(self, host: str) -> list[int]:
        """Positions of the brands `host` is equal to or under a genuine domain of."""
        labels = host.split(".")
        return [pos for n in range(len(labels))
                for pos in self._owners.get(".".join(labels[n:]), ())]

    def verdicts(self, names: Sequence[str]) -> list[Verdict | None]:
        """The verdict of each name (a registered domain or a host under one), in order;
        None for a name that imitates no brand or has no registered domain."""
        parts = [split_name(n.lower().strip(".")) for n in names]
        kept = [(n, p) for n, p in enumerate(parts) if p is not None]
        hits = self.match([p.registered_domain for _, p in kept], [p.label for _, p in kept],
                          [names[n].lower().strip(".") for n, _ in kept],
                          [p.subdomain for _, p in kept])
        out: list[Verdict | None] = [None] * len(names)
        for row in hits.to_pylist():
            n, p = kept[row["i"]]
            out[n] = Verdict(names[n], p.registered_domain, row["brand"], row["kind"],
                             KIND_SCORE[row["kind"]], self._label(row, p))
        return out

    def verdict(self, name: str) -> Verdict | None:
        """`verdicts` of one name."""
        return self.verdicts([name])[0]

    def _label(self, row: dict[str, str], parts: tuple[str, str, str]) -> str:
        """The label that does the imitating (for a subdomain hit: the subdomain label)."""
        subdomain, label, _ = parts
        if row["kind"] != "subdomain":
            return label
        target = lexical.skeleton(row["brand"].lower())
        return next(s for s in subdomain.split(".") if s and target in
                    (lexical.skeleton(s), *_tokens(s)))


def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection per thread: opening one costs far more than a
    one-name query, and a connection must not be shared between threads."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
    return con


def _tokens(label: str) -> list[str]:
    """Skeletons of the hyphen-separated parts of a label."""
    return [lexical.skeleton(t) for t in label.split("-") if t]


def _squeeze(text: str) -> str:
    """Runs of one letter folded to one (dhll → dhl)."""
    return "".join(c for i, c in enumerate(text) if i == 0 or c != text[i - 1])
