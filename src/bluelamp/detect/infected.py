"""Infected clients, in the manner of Pleiades (Antonakakis et al., 2012): clients whose
failed lookups are for *registered domains that do not exist*, grouped into campaigns by the
dead domains they share, with the campaign's live C2 and a guess at the DGA family.

Per window the detector keeps one bounded aggregate per (client, registered domain, NXDOMAIN
or not): a count, first and last time and a sample name. When the window closes:

1. A registered domain is **dead** when it got NXDOMAIN and no client got a NOERROR answer for
   any name under it in the window. DNSBL lookups, typos of live sites and search-suffix
   accidents under live zones are thereby ignored; special-use zones (`.arpa`, `.internal`,
   `.local`, ...) and the embedded top list of popular sites are dropped up front.
2. Per client: dead domains (`dead`), those also dead for another candidate client
   (`shared`), those asked again at least `persist_s` apart (`persistent`: bots retry the same
   list every cycle, people do not retype typos) and the median DGA score of its dead domains.
3. A client with at least `min_domains` dead domains is flagged when one of three pieces of
   evidence holds: volume (`dead ≥ volume_domains`), sharing (`shared ≥ shared_alone`, or
   `shared ≥ shared_domains` with `persistent ≥ persistent_domains`: another host fails on
   the same non-existent domains — what bots of one botnet do and unrelated people rarely do
   beyond a few shared typos of popular sites), or persistence with a generated look (`persistent ≥
   persistent_domains` and median DGA score ≥ `lexical_min`). Word-list DGAs, whose names look
   like words and score low, are caught by the first two, which do not look at the names.
4. Campaigns are connected components of flagged clients sharing dead domains; the C2 is the
   name resolved only by the campaign's clients that is lexically nearest the campaign's dead
   names (same suffixes, near in length and character mix); the family is the nearest known
   family's profile when confident (`campaigns.Families.guess`), else "unknown DGA".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.campaigns import (
    Profile,
    known_families,
    label_features,
    pair_strength,
    popular_domains,
)
from bluelamp.detect.campaigns import components as connected
from bluelamp.detect.state import KeyedAggregate
from bluelamp.domains import registered_domains

NOERROR, NXDOMAIN = 0, 3
#: special-use and private-use zones: failures there are local configuration, never a DGA
SPECIAL_USE = r"(^|\.)(arpa|internal|local|localhost|lan|home|corp|localdomain|test|invalid|example|onion|intranet|private)$"  # noqa: E501


@dataclass
class InfectedClients:
    window: dt.timedelta = dt.timedelta(hours=1)
    min_domains: int = 3
    volume_domains: int = 25
    shared_domains: int = 3
    #: shared dead domains that flag without retries (a few shared typos of popular sites
    #: are common on busy forwarders)
    shared_alone: int = 5
    persistent_domains: int = 3
    persist_s: float = 300.0
    lexical_min: float = 0.5
    #: C2 candidates farther than this from the campaign's profile are not named
    c2_max_distance: float = 2.5
    #: dead domains held by more candidate clients than this link them all without pairing
    max_pair_prevalence: int = 200
    max_findings: int = 5000
    dga_model: Path | None = None
    name: str = "infected-client"
    finding_type: str = "dga-infected"
    key: str = "client"
    columns: tuple[str, ...] = ("ts", "client", "qname", "rcode", "sensor")
    _scorer: Any = field(default=None, repr=False, compare=False)

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("client", "rd", "nx"), sums=("n",),
                              mins=("first", "sample", "sensor"), maxs=("last",), rank="n")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        rcode = batch.column("rcode")
        keep = pc.and_(pc.is_in(rcode, pa.array([NOERROR, NXDOMAIN], rcode.type)),
                       pc.is_valid(batch.column("client")))
        rows = pa.Table.from_batches([batch]).filter(pc.fill_null(keep, False))
        if rows.num_rows == 0:
            return state
        rd = registered_domains(rows.column("qname"))
        # popular sites are neither generated names nor a campaign's C2; they are most of
        # the traffic, so leaving them out keeps the state small (failures under them are
        # typos or DNSBL misses, and such a domain is alive anyway)
        skip = pc.or_(pc.match_substring_regex(rd, SPECIAL_USE),
                      pc.is_in(rd, popular_domains()))
        ok = pc.fill_null(pc.and_(pc.is_valid(rd), pc.invert(skip)), False)
        part = pa.table({
            "client": rows.column("client"), "rd": rd,
            "nx": pc.equal(rows.column("rcode"), NXDOMAIN),
            "n": pa.array(np.ones(rows.num_rows, dtype=np.int64)),
            "first": rows.column("ts"), "sample": rows.column("qname"),
            "sensor": rows.column("sensor"), "last": rows.column("ts"),
        }).filter(ok)
        state.add_rows(part, ctx)
        return state

    # ------------------------------------------------------------------ emit

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        dead = _dead_rows(table)
        stats = self._client_stats(dead)
        if stats is None:
            return []
        flagged = np.flatnonzero(stats["flag"])
        if len(flagged) > self.max_findings:
            ctx.drop("findings-over-cap", len(flagged) - self.max_findings)
            flagged = flagged[np.argsort(-stats["dead"][flagged], kind="stable")]
            flagged = flagged[: self.max_findings]
        if len(flagged) == 0:
            return []
        return self._findings(table, dead, stats, flagged, ctx)

    def _client_stats(self, dead: pa.Table) -> dict[str, Any] | None:
        """Per-client evidence over dead domains (numpy arrays indexed by client number)."""
        if dead.num_rows == 0:
            return None
        clients, client_idx = _codes(dead.column("client"))
        rds, rd_idx = _codes(dead.column("rd"))
        n_clients = len(clients)
        dead_count = np.bincount(client_idx, minlength=n_clients)
        candidate = dead_count >= self.min_domains
        # sharing counts only among candidates, and per partner: unrelated people who both
        # mistype google.cm share one dead domain each with different hosts, bots of one
        # botnet share many with each other
        cand_row = candidate[client_idx]
        a, b, common = pair_strength(client_idx[cand_row], rd_idx[cand_row], n_clients,
                                     self.max_pair_prevalence)
        shared = np.zeros(n_clients, dtype=np.int64)
        np.maximum.at(shared, a, common)
        prevalence = np.bincount(rd_idx[cand_row], minlength=len(rds))
        big_row = cand_row & (prevalence[rd_idx] > self.max_pair_prevalence)
        shared += np.bincount(client_idx[big_row], minlength=n_clients)
        strong = common >= self.shared_domains
        hub = _first_holder(client_idx[big_row], rd_idx[big_row])
        comp = connected(np.r_[a[strong], client_idx[big_row]],
                         np.r_[b[strong], hub], n_clients)
        span = (_us(dead.column("last")) - _us(dead.column("first"))) / 1e6
        persistent = np.bincount(client_idx[span >= self.persist_s], minlength=n_clients)
        rd_score = np.zeros(len(rds))
        used = np.unique(rd_idx[cand_row])
        if len(used):
            rd_score[used] = self._score(rds.take(pa.array(used)))
        median = _grouped_median(client_idx, rd_score[rd_idx], n_clients)
        rules = np.column_stack([
            dead_count >= self.volume_domains,
            (shared >= self.shared_alone)
            | ((shared >= self.shared_domains) & (persistent >= self.persistent_domains)),
            (persistent >= self.persistent_domains) & (median >= self.lexical_min)])
        flag = candidate & rules.any(axis=1)
        return {"clients": clients, "client_idx": client_idx, "rds": rds, "rd_idx": rd_idx,
                "dead": dead_count, "shared": shared, "persistent": persistent,
                "median": median, "rules": rules, "flag": flag, "component": comp,
                "rd_score": rd_score}

    def _score(self, names: pa.Array) -> np.ndarray:
        if self._scorer is None:
            from bluelamp.models.dga import DGAModel

            self._scorer = DGAModel.load(self.dga_model)
        return np.asarray(self._scorer.score(names), dtype=np.float64)

    def _findings(self, table: pa.Table, dead: pa.Table, stats: dict[str, Any],
                  flagged: np.ndarray, ctx: WindowContext) -> list[Finding]:
        comp = np.where(stats["flag"], stats["component"], -1)
        # names, features and scores are computed once for every campaign of the window
        used = np.unique(stats["rd_idx"][np.isin(stats["client_idx"], flagged)])
        features, suffix = label_features(stats["rds"].take(pa.array(used)))
        dead_info = (used, features, suffix.to_pylist())
        candidates = self._c2_candidates(table, stats["clients"], comp)
        found: list[Finding] = []
        for root in sorted(set(comp[flagged].tolist())):
            members = flagged[comp[flagged] == root]
            campaign = self._campaign(stats, members, dead_info, candidates, root)
            found += [self._client_finding(i, stats, dead, campaign, ctx) for i in members]
            if campaign["c2"] is not None:
                found.append(self._c2_finding(campaign, ctx))
        return found

    def _campaign(self, stats: dict[str, Any], members: np.ndarray,
                  dead_info: tuple[np.ndarray, np.ndarray, list[str | None]],
                  candidates: dict[str, Any], root: int) -> dict[str, Any]:
        used, features, suffixes = dead_info
        mine = np.unique(stats["rd_idx"][np.isin(stats["client_idx"], members)])
        at = np.searchsorted(used, mine)
        names = stats["rds"].take(pa.array(mine))
        profile = Profile(features[at].mean(axis=0),
                          frozenset(x for x in (suffixes[i] for i in at.tolist()) if x))
        cid = "dga-" + hashlib.sha256(str(names[0].as_py()).encode()).hexdigest()[:10]
        clients = [str(stats["clients"][int(i)].as_py()) for i in members]
        typical = float(np.median(stats["rd_score"][mine]))
        spread = np.maximum(features[at].std(axis=0), known_families().scale)
        c2, c2_names = self._c2(candidates, root, profile, spread, typical)
        guess = known_families().guess(profile)
        return {"id": cid, "clients": sorted(clients), "names": names, "c2": c2,
                "c2_candidates": c2_names, "family": guess.family or "unknown DGA",
                "family_distance": guess.distance}

    def _c2_candidates(self, table: pa.Table, clients: pa.Array,
                       comp: np.ndarray) -> dict[str, Any]:
        """Resolved registered domains asked only by the clients of one campaign, with the
        campaign (component root), totals, lexical features and DGA score."""
        resolved = table.filter(pc.invert(table.column("nx")))
        where = pc.index_in(resolved.column("client"), clients)
        idx = pc.fill_null(where, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        owner = np.where(idx >= 0, comp[np.maximum(idx, 0)], -1)
        rds, rd_idx = _codes(resolved.column("rd"))
        low = np.full(len(rds), np.iinfo(np.int64).max, dtype=np.int64)
        high = np.full(len(rds), -1, dtype=np.int64)
        np.minimum.at(low, rd_idx, owner)
        np.maximum.at(high, rd_idx, owner)
        exclusive = (low == high) & (low >= 0)
        rows = resolved.filter(pa.array(exclusive[rd_idx]))
        per_rd = rows.group_by("rd", use_threads=False).aggregate(
            [("n", "sum"), ("client", "count_distinct"), ("sample", "min"),
             ("first", "min"), ("last", "max")])
        where_rd = pc.index_in(per_rd.column("rd"), rds).to_numpy(zero_copy_only=False)
        features, suffix = label_features(per_rd.column("rd"))
        score = self._score(per_rd.column("rd")) if per_rd.num_rows else np.zeros(0)
        return {"table": per_rd, "comp": low[where_rd.astype(np.int64)],
                "features": features, "suffix": suffix.to_pylist(), "score": score}

    def _c2(self, cand: dict[str, Any], root: int, profile: Profile, spread: np.ndarray,
            typical: float) -> tuple[dict[str, Any] | None, list[str]]:
        """The resolved name of the campaign: asked only by its clients, with the campaign's
        suffixes, lexically nearest its dead names (character mix and DGA score, whose
        difference from the campaign's median `typical` counts in units of 0.25)."""
        mine = np.flatnonzero(cand["comp"] == root)
        if len(mine) == 0:
            return None, []
        same_suffix = np.array([cand["suffix"][i] in profile.suffixes for i in mine.tolist()])
        gap = (cand["score"][mine] - typical) / 0.25
        lexical = (((cand["features"][mine] - profile.mean) / spread) ** 2).sum(axis=1)
        distance = np.sqrt(lexical + gap**2)
        ok = same_suffix & (distance <= self.c2_max_distance)
        if not ok.any():
            return None, []
        per_rd = cand["table"].take(pa.array(mine))
        order = np.lexsort((-per_rd.column("n_sum").to_numpy(), distance))
        order = order[ok[order]]
        rows = per_rd.take(pa.array(order)).to_pylist()
        best = rows[0]
        return ({"domain": best["sample_min"], "registered_domain": best["rd"],
                 "queries": best["n_sum"], "clients": best["client_count_distinct"],
                 "first": best["first_min"], "last": best["last_max"],
                 "distance": round(float(distance[order[0]]), 3)},
                [r["sample_min"] for r in rows[:5]])

    def _client_finding(self, i: int, stats: dict[str, Any], dead: pa.Table,
                        campaign: dict[str, Any], ctx: WindowContext) -> Finding:
        mask = pa.array(stats["client_idx"] == i)
        mine = dead.filter(mask)
        client = str(stats["clients"][i].as_py())
        rules = [name for name, hit in zip(("volume", "shared", "persistent-generated"),
                                           stats["rules"][i].tolist(), strict=True) if hit]
        n_dead, shared = int(stats["dead"][i]), int(stats["shared"][i])
        median = float(stats["median"][i])
        nx_queries = int(pc.sum(mine.column("n")).as_py())
        c2 = campaign["c2"]
        samples = sorted(mine.column("rd").to_pylist())[:5]
        evidence = {
            "dead_nx_domains": n_dead, "nx_queries": nx_queries, "shared_domains": shared,
            "persistent_domains": int(stats["persistent"][i]),
            "median_dga_score": round(median, 4), "rules": rules,
            "campaign": campaign["id"], "campaign_clients": campaign["clients"][:20],
            "campaign_size": len(campaign["clients"]),
            "c2_domain": c2["domain"] if c2 else None,
            "c2_candidates": campaign["c2_candidates"], "family": campaign["family"],
            "family_distance": campaign["family_distance"], "sample_names": samples,
            "window_start": ctx.start.isoformat(),
        }
        score = min(1.0, 0.5 + 0.15 * len(rules) + 0.2 * median)
        explanation = (
            f"Client {client} got NXDOMAIN for {n_dead} registered domains that do not exist "
            f"({nx_queries} lookups, {shared} of them shared with other hosts of campaign "
            f"{campaign['id']} of {len(campaign['clients'])} client(s), median DGA score "
            f"{median:.2f}) in the {_span(ctx)} window, the pattern of malware walking a "
            f"generated domain list ({campaign['family']})"
            + (f" that reached its C2 {c2['domain']}" if c2 else "")
            + ", so clean that host" + (" and block the C2." if c2 else "."))
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="client",
            subject=client, score=round(score, 4),
            first_seen=pc.min(mine.column("first")).as_py(),
            last_seen=pc.max(mine.column("last")).as_py(), count=nx_queries,
            evidence=evidence, explanation=explanation,
            sensor=pc.min(mine.column("sensor")).as_py())

    def _c2_finding(self, campaign: dict[str, Any], ctx: WindowContext) -> Finding:
        c2 = campaign["c2"]
        evidence = {"campaign": campaign["id"], "clients": campaign["clients"][:20],
                    "campaign_size": len(campaign["clients"]), "family": campaign["family"],
                    "registered_domain": c2["registered_domain"], "queries": c2["queries"],
                    "lexical_distance": c2["distance"],
                    "dead_names": campaign["names"].to_pylist()[:10],
                    "window_start": ctx.start.isoformat()}
        explanation = (
            f"{c2['domain']} is the one name of DGA campaign {campaign['id']} "
            f"({campaign['family']}, {len(campaign['clients'])} infected client(s)) that "
            f"resolves in the {_span(ctx)} window, among {len(campaign['names'])} generated "
            f"names that do not exist, so it is most likely the botnet's C2: block it.")
        return Finding(
            detector=self.name, type="dga-c2", subject_kind="domain", subject=c2["domain"],
            score=0.9, first_seen=c2["first"], last_seen=c2["last"], count=c2["queries"],
            evidence=evidence, explanation=explanation)


def _dead_rows(table: pa.Table) -> pa.Table:
    """NXDOMAIN rows whose registered domain nobody resolved in the window."""
    nx = table.column("nx")
    alive = pc.unique(table.filter(pc.invert(nx)).column("rd"))
    return table.filter(pc.and_(nx, pc.invert(pc.is_in(table.column("rd"), alive))))


def _first_holder(client: np.ndarray, item: np.ndarray) -> np.ndarray:
    """For each row, the smallest client holding the same item (a star links the group)."""
    if len(item) == 0:
        return client
    first = np.full(int(item.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, item, client)
    return first[item]


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct values (sorted, so numbering is deterministic) and each row's index."""
    values = pc.unique(column).sort()
    return values, pc.index_in(column, values).to_numpy(zero_copy_only=False).astype(np.int64)


def _us(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.combine_chunks().view(pa.int64()).to_numpy(
        zero_copy_only=False), dtype=np.int64)


def _grouped_median(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of `values` per group number (0..n-1; groups without values give 0)."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    counts = np.bincount(g, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.zeros(n)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2
    return out


def _span(ctx: WindowContext) -> str:
    return f"{ctx.start:%Y-%m-%d %H:%M}–{ctx.end:%H:%M} UTC"


def infected_clients(window: dt.timedelta | None = None,
                     dga_model: Path | None = None) -> InfectedClients:
    det = InfectedClients(dga_model=dga_model)
    if window:
        det.window = window
    return det


DETECTORS = [infected_clients]
