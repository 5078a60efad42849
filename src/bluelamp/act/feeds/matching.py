"""Vectorised matching of a table of events against every subscriber's filter at once.

A subscription's scope is its organisation's proven networks, ASNs and domains; its filter
adds event types, a minimum confidence and a TLP clearance. Instead of testing each event
against each subscription, the scopes are compiled once into lookup tables keyed the way an
event can be keyed — (prefix length, masked address), AS number, domain name — and an events
table is matched with a handful of hash joins:

* addresses: each *distinct* source address is parsed once; for every prefix length that
  some subscriber uses, the addresses are masked to that length and joined with the
  networks of that length (so overlapping networks of different subscribers all match);
* AS numbers: one equi-join;
* domains: every suffix of each distinct name (``a.b.example`` → ``a.b.example``,
  ``b.example``, ``example``) is joined with the subscribed domains.

The (row, subscription) pairs are then filtered by type, confidence and TLP with numpy
gathers. Cost grows with events and matches, not with events × subscriptions.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.act.feeds import tlp
from bluelamp.attribute.addresses import parse_unique, v6_to_halves

PAIRS = pa.schema([("row", pa.int64()), ("sub", pa.int64())])
MAX_LABELS = 127  # a DNS name has at most 127 labels


@dataclass(frozen=True)
class Filter:
    """What one subscription receives. `key` is returned with each match (its id)."""

    key: int
    networks: tuple[str, ...] = ()
    asns: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # empty: every type
    min_confidence: float = 0.0
    clearance: str = "amber"


@dataclass
class _Scopes:
    v4: dict[int, tuple[list[int], list[int]]] = field(default_factory=lambda: defaultdict(
        lambda: ([], [])))
    v6: dict[int, tuple[list[int], list[int], list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: ([], [], [])))
    asn: tuple[list[int], list[int]] = field(default_factory=lambda: ([], []))
    domain: tuple[list[str], list[int]] = field(default_factory=lambda: ([], []))


class Matcher:
    """Filters compiled for matching; build one per change of the subscriptions."""

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters = list(filters)
        self.keys = np.array([f.key for f in self.filters], dtype=np.int64)
        self.clearance = np.array([tlp.rank(tlp.clearance(f.clearance)) for f in self.filters],
                                  dtype=np.int64)
        self.min_confidence = np.array([f.min_confidence for f in self.filters],
                                       dtype=np.float64)
        self.type_names = sorted({t for f in self.filters for t in f.types})
        self._type_ok = self._type_matrix()
        self._compile_scopes()

    def _type_matrix(self) -> np.ndarray:
        """[subscription, type code] → allowed; the last column stands for any other type."""
        code = {t: i for i, t in enumerate(self.type_names)}
        ok = np.zeros((len(self.filters), len(self.type_names) + 1), dtype=bool)
        for s, f in enumerate(self.filters):
            if not f.types:
                ok[s, :] = True
            for t in f.types:
                ok[s, code[t]] = True
        return ok

    def _compile_scopes(self) -> None:
        scopes = _Scopes()
        for s, f in enumerate(self.filters):
            for text in f.networks:
                net = ipaddress.ip_network(text, strict=False)
                value = int(net.network_address)
                if net.version == 4:
                    keys, subs = scopes.v4[net.prefixlen]
                    keys.append(value)
                    subs.append(s)
                else:
                    his, los, subs6 = scopes.v6[net.prefixlen]
                    his.append(value >> 64)
                    los.append(value & (2**64 - 1))
                    subs6.append(s)
            for asn in f.asns:
                scopes.asn[0].append(int(asn))
                scopes.asn[1].append(s)
            for domain in f.domains:
                scopes.domain[0].append(domain.lower().rstrip("."))
                scopes.domain[1].append(s)
        self._v4 = {length: pa.table({"k": pa.array(k, pa.uint64()), "sub": pa.array(
            sub, pa.int64())}) for length, (k, sub) in scopes.v4.items()}
        self._v6 = {length: pa.table({"hi": pa.array(hi, pa.uint64()), "lo": pa.array(
            lo, pa.uint64()), "sub": pa.array(sub, pa.int64())})
            for length, (hi, lo, sub) in scopes.v6.items()}
        self._asn = pa.table({"asn": pa.array(scopes.asn[0], pa.int64()),
                              "sub": pa.array(scopes.asn[1], pa.int64())})
        self._domain = pa.table({"d": pa.array(scopes.domain[0], pa.string()),
                                 "sub": pa.array(scopes.domain[1], pa.int64())})

    # ---------------------------------------------------------------------------- matching

    def pairs(self, events: pa.Table) -> pa.Table:
        """(row, sub) for every event row inside a subscription's scope that passes its
        filter; `sub` is the index into `filters` (see `match` for the keys)."""
        if events.num_rows == 0 or not self.filters:
            return PAIRS.empty_table()
        parts = [self._by_address(events), self._by_asn(events), self._by_domain(events)]
        found = pa.concat_tables([p for p in parts if p.num_rows] or [PAIRS.empty_table()])
        if found.num_rows == 0:
            return found
        found = found.group_by(["row", "sub"], use_threads=False).aggregate([])
        return self._filter(events, found.select(["row", "sub"]))

    def match(self, events: pa.Table) -> pa.Table:
        """Columns `row` (index into `events`) and `subscription` (the filter's key),
        ordered by row then subscription."""
        pairs = self.pairs(events)
        subs = pairs.column("sub").to_numpy()
        out = pa.table({"row": pairs.column("row"),
                        "subscription": pa.array(self.keys[subs], pa.int64())})
        return out.sort_by([("row", "ascending"), ("subscription", "ascending")])

    def _by_address(self, events: pa.Table) -> pa.Table:
        if not (self._v4 or self._v6):
            return PAIRS.empty_table()
        unique = parse_unique(events.column("source_ip"))
        parsed = unique.parsed
        found: list[pa.Table] = []
        idx4 = np.flatnonzero(parsed.version == 4)
        addr4 = parsed.v4[idx4].astype(np.uint64)
        for length, table in self._v4.items():
            mask = np.uint64(((1 << length) - 1) << (32 - length))
            left = pa.table({"code": pa.array(idx4, pa.int64()), "k": pa.array(addr4 & mask)})
            found.append(left.join(table, "k", join_type="inner").select(["code", "sub"]))
        idx6 = np.flatnonzero(parsed.version == 6)
        hi, lo = v6_to_halves(parsed.v6[idx6]) if len(idx6) else (np.zeros(0, np.uint64),) * 2
        for length, table in self._v6.items():
            hmask, lmask = _v6_masks(length)
            left = pa.table({"code": pa.array(idx6, pa.int64()), "hi": pa.array(hi & hmask),
                             "lo": pa.array(lo & lmask)})
            found.append(left.join(table, ["hi", "lo"], join_type="inner")
                         .select(["code", "sub"]))
        codes = pa.concat_tables(found) if found else None
        if codes is None or codes.num_rows == 0:
            return PAIRS.empty_table()
        rows = pa.table({"row": pa.array(np.arange(events.num_rows, dtype=np.int64)),
                         "code": pa.array(unique.codes, pa.int64())})
        return rows.join(codes, "code", join_type="inner").select(["row", "sub"])

    def _by_asn(self, events: pa.Table) -> pa.Table:
        if self._asn.num_rows == 0:
            return PAIRS.empty_table()
        rows = pa.table({"row": pa.array(np.arange(events.num_rows, dtype=np.int64)),
                         "asn": pc.cast(events.column("source_asn"), pa.int64())})
        return rows.join(self._asn, "asn", join_type="inner").select(["row", "sub"])

    def _by_domain(self, events: pa.Table) -> pa.Table:
        if self._domain.num_rows == 0:
            return PAIRS.empty_table()
        names = events.column("source_fqdn").combine_chunks()
        encoded = pc.dictionary_encode(names)
        labels = pc.split_pattern(pc.utf8_lower(encoded.dictionary), ".")
        counts = pc.list_value_length(labels).to_numpy(zero_copy_only=False)
        found: list[pa.Table] = []
        deepest = int(counts.max()) if len(counts) else 0
        for start in range(min(deepest, MAX_LABELS)):
            have = np.flatnonzero(counts > start)
            suffix = pc.binary_join(pc.list_slice(labels.take(pa.array(have)), start), ".")
            left = pa.table({"code": pa.array(have, pa.int64()), "d": suffix})
            found.append(left.join(self._domain, "d", join_type="inner").select(["code", "sub"]))
        if not found or sum(t.num_rows for t in found) == 0:
            return PAIRS.empty_table()
        codes = pa.concat_tables(found)
        row_codes = pc.fill_null(encoded.indices, -1).cast(pa.int64())
        rows = pa.table({"row": pa.array(np.arange(events.num_rows, dtype=np.int64)),
                         "code": row_codes})
        return rows.join(codes, "code", join_type="inner").select(["row", "sub"])

    def _filter(self, events: pa.Table, pairs: pa.Table) -> pa.Table:
        row = pairs.column("row").to_numpy()
        sub = pairs.column("sub").to_numpy()
        tlp_rank = tlp.ranks(events.column("tlp"))
        confidence = np.nan_to_num(np.asarray(pc.fill_null(
            events.column("confidence"), 0.0).to_numpy(), dtype=np.float64))
        types = pc.index_in(events.column("classification_type"),
                            value_set=pa.array(self.type_names, pa.string()))
        type_code = np.asarray(pc.fill_null(types, len(self.type_names)).to_numpy(),
                               dtype=np.int64)
        keep = ((tlp_rank[row] <= self.clearance[sub])
                & (confidence[row] >= self.min_confidence[sub])
                & self._type_ok[sub, type_code[row]])
        return pa.table({"row": pa.array(row[keep]), "sub": pa.array(sub[keep])})


def _v6_masks(length: int) -> tuple[np.uint64, np.uint64]:
    full = (1 << 64) - 1
    if length <= 64:
        return np.uint64(((1 << length) - 1) << (64 - length)), np.uint64(0)
    rest = length - 64
    return np.uint64(full), np.uint64(((1 << rest) - 1) << (64 - rest))


def rows_for(events: pa.Table, matches: pa.Table, key: int) -> pa.Table:
    """The events matched for one subscription key, in input order."""
    mask = pc.equal(matches.column("subscription"), key)
    return events.take(matches.filter(mask).column("row"))
