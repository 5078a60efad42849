"""Benign browsing and app traffic of every client.

Model: a client opens "sessions" (a page load, an app refresh) at a rate following its daily
rhythm; a session is a burst of lookups a fraction of a second apart: the site itself, then
third-party names (ads, analytics, CDNs: the head of the popularity list). Each lookup is
an A query, usually an AAAA at the same moment, and for browsers often an HTTPS (type 65)
query. Sites come from the client's favourites or from a Zipf law over the popular list,
with the randomly sampled list as the long tail. 1-3 % of lookups fail: typos, the
search-domain suffix a stub appends, and names that no longer exist.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

from bluelamp import resources
from bluelamp.simulate.behaviour import Actor, Behaviour
from bluelamp.simulate.frame import Draft, names
from bluelamp.simulate.world import FORWARDER, IOT, KINDS, MOBILE, SERVER, WORKSTATION

PREFIXES = ("", "www.", "api.", "cdn.", "static.", "img.", "mail.", "m.", "login.",
            "accounts.", "app.", "assets.", "s.", "edge.", "ws.", "update.")
_PREFIX_P = np.array([30, 30, 7, 5, 5, 4, 2, 3, 2, 1, 4, 3, 2, 1, 1, 1], dtype=float)
_PREFIX_P /= _PREFIX_P.sum()
SEARCH_DOMAINS = ("corp.internal", "home.arpa")
FAVOURITES = 32
#: per kind: mean lookups per session, P(AAAA), P(HTTPS), P(site from favourites)
_LOOKUPS = np.array([4.0, 3.0, 1.0, 1.0, 6.0])
_P_AAAA = np.array([0.85, 0.9, 0.5, 0.3, 0.8])
_P_HTTPS = np.array([0.55, 0.6, 0.0, 0.0, 0.4])
_P_FAV = np.array([0.55, 0.6, 0.97, 0.99, 0.2])
P_TYPO, P_SUFFIX = 0.004, 0.009
_TLD_TYPOS = {"com": "cm", "net": "nt", "org": "ogr", "de": "ed", "uk": "k"}
_VARIANTS = 4  # normal, typo, workstation search suffix, mobile search suffix


def benign_tail(path: str | None) -> tuple[str, ...]:
    """The long tail of benign names: the embedded random sample, or a file's names (one
    per line) to measure false positives on names a model has never seen."""
    if path is None:
        return resources.benign_domains("random")
    with open(path, encoding="utf-8") as f:
        names = tuple(n.strip().lower() for n in f if n.strip() and not n.startswith("#"))
    if not names:
        raise ValueError(f"{path}: no names")
    return names


def zipf_weights(n: int, s: float, offset: float = 2.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** s
    return w / w.sum()


class Benign(Behaviour):
    name = "benign"

    def plan(self, g: np.random.Generator) -> None:
        top = [d.strip(".") for d in resources.benign_domains("top")]
        seen = set(top)
        # the sampled list holds one name with a trailing dot: normalise like a reader would
        tail = [d.strip(".") for d in benign_tail(self.world.cfg.benign_names_file)]
        self.domains = top + [d for d in dict.fromkeys(tail) if d and d not in seen]
        # one Zipf law over popular then long-tail names: the tail gets ~7 % of lookups
        self.site_p = zipf_weights(len(self.domains), 1.0)
        self.third_p = zipf_weights(min(len(top), 2000), 1.15, offset=1.0)
        # names that no longer exist (long tail only): about 1 in 25
        self.dead = np.array([i >= len(top) and zlib.crc32(d.encode()) % 25 == 0
                              for i, d in enumerate(self.domains)])
        n = self.world.n
        self.favourites = g.choice(len(self.domains), size=(n, FAVOURITES), p=self.site_p)
        fav_machine = self.world.kind == SERVER
        fav_machine |= self.world.kind == IOT
        # machines talk to a handful of names only
        self.favourites[fav_machine, 4:] = self.favourites[fav_machine, :1]
        self.clients = [Actor("benign", a, family=KINDS[k])
                        for a, k in zip(self.world.address, self.world.kind.tolist(),
                                        strict=True)]
        self.actors = self.clients
        self._names: dict[int, str] = {}

    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        kind = self.world.kind
        per_lookup = 1 + _P_AAAA + _P_HTTPS
        sessions = g.poisson(self.world.activity(lo_us, hi_us)
                             / (per_lookup[kind] * _LOOKUPS[kind]))
        s_client = np.repeat(np.arange(self.world.n, dtype=np.int32), sessions)
        if len(s_client) == 0:  # a tiny population at night
            return []
        s_start = g.integers(lo_us, hi_us, size=len(s_client))
        k = g.geometric(1.0 / _LOOKUPS[kind[s_client]])
        client = np.repeat(s_client, k)
        first = np.zeros(len(client), dtype=bool)
        starts = np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int64)
        first[starts] = True
        gaps = g.exponential(400_000, size=len(client)).astype(np.int64)  # ~0.4 s apart
        gaps[first] = 0
        csum = np.cumsum(gaps)
        ts = np.repeat(s_start, k) + csum - np.repeat(csum[starts], k)
        site = self._sites(client, first, g)
        prefix = g.choice(len(PREFIXES), size=len(client), p=_PREFIX_P)
        prefix[~first] = 0  # third-party names are queried as linked, mostly bare
        variant, rcode = self._failures(client, site, g)
        return self._expand(ts, client, site, prefix, variant, rcode, g, lo_us, hi_us)

    def _sites(self, client: np.ndarray, first: np.ndarray,
               g: np.random.Generator) -> np.ndarray:
        kind = self.world.kind[client]
        fav = g.random(len(client)) < _P_FAV[kind]
        col = g.integers(0, FAVOURITES, size=len(client))
        site = g.choice(len(self.domains), size=len(client), p=self.site_p)
        site = np.where(fav, self.favourites[client, col], site)
        third = g.choice(len(self.third_p), size=len(client), p=self.third_p)
        return np.where(first, site, third)

    def _failures(self, client: np.ndarray, site: np.ndarray,
                  g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        kind = self.world.kind[client]
        u = g.random(len(client))
        variant = np.zeros(len(client), dtype=np.int64)
        variant[u < P_TYPO] = 1
        person = (kind == WORKSTATION) | (kind == MOBILE) | (kind == FORWARDER)
        suffix = (u >= P_TYPO) & (u < P_TYPO + P_SUFFIX) & person
        variant[suffix] = np.where(kind[suffix] == MOBILE, 3, 2)
        rcode = np.where((variant > 0) | self.dead[site], 3, 0).astype(np.uint8)
        return variant, rcode

    def _expand(self, ts: np.ndarray, client: np.ndarray, site: np.ndarray,
                prefix: np.ndarray, variant: np.ndarray, rcode: np.ndarray,
                g: np.random.Generator, lo_us: int, hi_us: int) -> list[Draft]:
        """A query per lookup, plus AAAA and HTTPS queries a few microseconds later."""
        kind = self.world.kind[client]
        aaaa = g.random(len(client)) < _P_AAAA[kind]
        https = (g.random(len(client)) < _P_HTTPS[kind]) & (variant == 0)
        key = (site * len(PREFIXES) + prefix) * _VARIANTS + variant
        sel = [np.arange(len(client)), np.flatnonzero(aaaa), np.flatnonzero(https)]
        qtypes = (1, 28, 65)
        idx = np.concatenate(sel)
        qtype = np.concatenate([np.full(len(s), q, np.uint16) for s, q in zip(sel, qtypes,
                                                                             strict=True)])
        t = ts[idx] + np.concatenate([np.zeros(len(sel[0]), np.int64),
                                      g.integers(20, 400, len(sel[1])),
                                      g.integers(20, 600, len(sel[2]))])
        keep = t < hi_us  # a session that started late in the slice ends at its edge
        idx, qtype, t = idx[keep], qtype[keep], t[keep]
        return [Draft(t, client[idx], self._qnames(key[idx]), qtype, rcode[idx])]

    def labels(self) -> list[dict[str, object]]:
        """One row per client that no malicious behaviour claimed, with the counts of all
        its queries (every benign behaviour's)."""
        w = self.world
        for i, actor in enumerate(self.clients):
            if w.queries[i]:
                actor.queries, actor.nxdomain = int(w.queries[i]), int(w.nxdomain[i])
                actor.first_us, actor.last_us = int(w.first_us[i]), int(w.last_us[i])
        claimed = self.world.claimed
        return [a.row(self.name) for i, a in enumerate(self.clients) if i not in claimed]

    def _qnames(self, key: np.ndarray) -> pa.Array:
        uniq, inverse = np.unique(key, return_inverse=True)
        for k in uniq.tolist():
            if k not in self._names:
                self._names[k] = self._name(k)
        return names([self._names[k] for k in uniq.tolist()]).take(inverse.ravel())

    def _name(self, key: int) -> str:
        variant = key % _VARIANTS
        site, prefix = divmod(key // _VARIANTS, len(PREFIXES))
        name = PREFIXES[prefix] + self.domains[site]
        if variant == 1:
            return typo(name, zlib.crc32(name.encode()))
        if variant >= 2:
            return f"{name}.{SEARCH_DOMAINS[variant - 2]}"
        return name


def typo(name: str, h: int) -> str:
    """A plausible mistyping of `name` (dropped, doubled or swapped letter in the first
    label, or a wrong top-level domain)."""
    head, _, rest = name.rpartition(".")
    label_start = head.rfind(".") + 1
    label = head[label_start:]
    if len(label) < 3 or h % 4 == 3:
        return f"{head}.{_TLD_TYPOS.get(rest, rest + 'm')}"
    i = 1 + h // 4 % (len(label) - 1)
    op = h % 3
    if op == 0:
        label = label[:i] + label[i + 1 :]
    elif op == 1:
        label = label[:i] + label[i] + label[i:]
    else:
        label = label[: i - 1] + label[i] + label[i - 1] + label[i + 1 :]
    return f"{head[:label_start]}{label}.{rest}"


def group_rows(values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(value, row indices) for each distinct value of an integer array."""
    if len(values) == 0:
        return []
    order = np.argsort(values, kind="stable")
    cuts = np.flatnonzero(np.diff(values[order])) + 1
    return [(int(values[part[0]]), part) for part in np.split(order, cuts)]
