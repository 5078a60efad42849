"""Indicator match: clients that looked up a listed domain (or any name under it) or got an
answer address on a list (exact IP or inside a listed CIDR).

Lists are text files, one domain, IP or CIDR per line; `#` starts a comment. Matching is
vectorised over the unique names and answers of each batch: the name and every parent
domain are looked up at once through prebuilt 64-bit hashes (`strmatch.StringSet`, fast
for lists of millions), and IPv4 answers are matched against collapsed CIDR ranges with a
binary search.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate
from bluelamp.detect.strmatch import StringSet
from bluelamp.errors import InputError, Location, RecordError

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
_V4 = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


@dataclass
class IndicatorList:
    """Listed domains, addresses and networks, each with the list it came from."""

    domains: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    networks: dict[IPNet, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.domains) + len(self.addresses) + len(self.networks)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> IndicatorList:
        """Read lists; a line that is neither a domain nor an IP/CIDR raises InputError
        naming the file and line."""
        out = cls()
        for path in paths:
            path = Path(path)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: cannot read indicator list: {exc}") from None
            for number, line in enumerate(text.splitlines(), start=1):
                out.add(line, Location(str(path), line=number), path.name)
        return out

    def add(self, line: str, where: Location, list_name: str) -> None:
        token = line.split("#", 1)[0].strip().lower()
        if not token:
            return
        net = None
        if ":" in token or token[0].isdigit():  # skip the costly parse for plain names
            try:
                net = ipaddress.ip_network(token, strict=False)
            except ValueError:
                net = None
        if net is not None and "/" not in token:
            self.addresses[str(net.network_address)] = list_name
        elif net is not None:
            self.networks[net] = list_name
        elif _is_domain(token):
            self.domains[token.rstrip(".").removeprefix("*.")] = list_name
        else:
            raise InputError(RecordError(where, "not a domain, IP address or CIDR", line))


def _is_domain(token: str) -> bool:
    name = token.rstrip(".").removeprefix("*.")
    return bool(name) and " " not in name and "/" not in name and ".." not in name


# -------------------------------------------------------------------- vectorised matching


def match_names(names: pa.Array, domains: pa.Array | StringSet) -> pa.Array:
    """For each name, the most specific listed domain that is the name or a parent of it
    (null if none)."""
    listed = domains if isinstance(domains, StringSet) else StringSet(
        str(d) for d in domains.to_pylist() if d is not None)
    return listed.match_domains(names)


def _v4_to_int(addresses: pa.Array) -> np.ndarray:
    """Dotted quads (already checked to look like one) to uint32; out-of-range octets
    give -1."""
    octets = pc.split_pattern(addresses, ".")
    flat = pc.cast(pc.list_flatten(octets), pa.int64()).to_numpy().reshape(-1, 4)
    value = (flat[:, 0] << 24) | (flat[:, 1] << 16) | (flat[:, 2] << 8) | flat[:, 3]
    return np.where((flat > 255).any(axis=1), -1, value)


@dataclass
class _Ranges:
    """Collapsed IPv4 networks as sorted [start, end] ranges for a binary search."""

    starts: np.ndarray
    ends: np.ndarray
    labels: list[str]

    @classmethod
    def of(cls, networks: Iterable[ipaddress.IPv4Network]) -> _Ranges:
        nets = sorted(ipaddress.collapse_addresses(networks))
        return cls(np.array([int(n.network_address) for n in nets], dtype=np.int64),
                   np.array([int(n.broadcast_address) for n in nets], dtype=np.int64),
                   [str(n) for n in nets])

    def lookup(self, values: np.ndarray) -> list[str | None]:
        if not len(self.starts):
            return [None] * len(values)
        pos = np.searchsorted(self.starts, values, side="right") - 1
        ok = (pos >= 0) & (values >= 0) & (values <= self.ends[np.maximum(pos, 0)])
        return [self.labels[p] if k else None for p, k in zip(pos.tolist(), ok.tolist(),
                                                                strict=True)]


# -------------------------------------------------------------------- the detector


@dataclass
class IndicatorMatch:
    """Emit one finding per client and window that touched a listed indicator."""

    indicators: IndicatorList
    window: dt.timedelta = dt.timedelta(hours=1)
    name: str = "indicator-match"
    finding_type: str = "indicator-match"
    key: str = "client"
    columns: tuple[str, ...] = ("ts", "client", "qname", "answers", "sensor")
    score: float = 0.9

    def __post_init__(self) -> None:
        self._domains = StringSet(self.indicators.domains)
        v4 = [n for n in self.indicators.networks if n.version == 4]
        self._v4 = _Ranges.of(v4)
        self._v6 = [n for n in self.indicators.networks if n.version == 6]
        self._addresses = StringSet(self.indicators.addresses)
        self._lists = self._list_names()

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("client", "indicator", "via"), sums=("count",),
                              mins=("first", "sample", "sensor"), maxs=("last",),
                              rank="count")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        for part in (self._name_hits(batch), self._answer_hits(batch)):
            if part is not None and part.num_rows:
                state.add_rows(part, ctx)
        return state

    def _name_hits(self, batch: pa.RecordBatch) -> pa.Table | None:
        if not len(self._domains):
            return None
        encoded = pc.dictionary_encode(batch.column("qname"))
        matched = match_names(encoded.dictionary, self._domains)
        per_row = pc.take(matched, encoded.indices)
        keep = pc.is_valid(per_row)
        return _hits(batch.filter(keep), per_row.filter(keep), "qname",
                     batch.column("qname").filter(keep))

    def _answer_hits(self, batch: pa.RecordBatch) -> pa.Table | None:
        if not (len(self._addresses) or self.indicators.networks):
            return None
        answers = batch.column("answers")
        flat = pc.list_flatten(answers)
        if not len(flat):
            return None
        rows = pc.list_parent_indices(answers)
        encoded = pc.dictionary_encode(flat)
        matched = self._match_addresses(encoded.dictionary)
        per_answer = pc.take(matched, encoded.indices)
        keep = pc.is_valid(per_answer)
        return _hits(batch.take(rows.filter(keep)), per_answer.filter(keep), "answer",
                     flat.filter(keep))

    def _match_addresses(self, values: pa.Array) -> pa.Array:
        """Listed label per unique answer: the address itself, else its network."""
        exact = self._addresses.contains(values)
        labels: list[str | None] = [None] * len(values)
        for i in np.flatnonzero(exact).tolist():
            labels[i] = values[i].as_py()
        if self.indicators.networks:
            self._match_networks(values, labels)
        return pa.array(labels, pa.string())

    def _match_networks(self, values: pa.Array, labels: list[str | None]) -> None:
        is_v4 = pc.fill_null(pc.match_substring_regex(values, _V4), False)
        v4_pos = np.flatnonzero(is_v4.to_numpy(zero_copy_only=False))
        if len(v4_pos) and len(self._v4.starts):
            found = self._v4.lookup(_v4_to_int(values.filter(is_v4)))
            for i, label in zip(v4_pos.tolist(), found, strict=True):
                labels[i] = labels[i] or label
        if self._v6:  # IPv6 lists are short in practice: ipaddress over unique values
            has_colon = pc.fill_null(pc.match_substring(values, ":"), False)
            for i in np.flatnonzero(has_colon.to_numpy(zero_copy_only=False)).tolist():
                labels[i] = labels[i] or _in_v6(str(values[i].as_py()), self._v6)

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        by_client: dict[str, list[dict[str, Any]]] = {}
        for row in table.sort_by([("client", "ascending"), ("count", "descending")]).to_pylist():
            by_client.setdefault(str(row["client"]), []).append(row)
        return [self._finding(client, rows) for client, rows in by_client.items()]

    def _finding(self, client: str, rows: list[dict[str, Any]]) -> Finding:
        count = sum(int(r["count"]) for r in rows)
        first: dt.datetime = min(r["first"] for r in rows)
        last: dt.datetime = max(r["last"] for r in rows)
        hits = [{"indicator": r["indicator"], "via": r["via"], "count": r["count"],
                 "sample": r["sample"], "list": self._list_of(str(r["indicator"]))}
                for r in rows]
        top = hits[0]
        how = (f"looked up {top['sample']}" if top["via"] == "qname"
               else f"got the answer {top['sample']}")
        listed = (f"{top['indicator']} on list {top['list']}")
        more = f" and {len(hits) - 1} other listed indicator(s)" if len(hits) > 1 else ""
        explanation = (
            f"Client {client} {how}, which matches {listed}{more}, {count} time(s) between "
            f"{first:%Y-%m-%d %H:%M} and {last:%H:%M} UTC; "
            f"treat the client as possibly compromised and check it."
        )
        return Finding(detector=self.name, type=self.finding_type, subject_kind="client",
                       subject=client, score=self.score, first_seen=first,
                       last_seen=last, count=count,
                       evidence={"indicators": hits[:20], "indicators_total": len(hits)},
                       explanation=explanation,
                       sensor=min((r["sensor"] for r in rows if r["sensor"]), default=None))

    def _list_of(self, indicator: str) -> str | None:
        return (self.indicators.domains.get(indicator)
                or self.indicators.addresses.get(indicator) or self._lists.get(indicator))

    def _list_names(self) -> dict[str, str]:
        """Network label (as findings show it) -> name of the list it came from. A
        collapsed IPv4 range is credited to the first list with a network inside it."""
        names: dict[str, str] = {}
        for net, list_name in self.indicators.networks.items():
            names.setdefault(str(net), list_name)
        for label in self._v4.labels:
            covering = ipaddress.ip_network(label)
            names.setdefault(label, next(
                (n for net, n in self.indicators.networks.items()
                 if net.version == 4 and net.subnet_of(covering)), "?"))  # type: ignore[arg-type]
        return names


def _in_v6(value: str, networks: Sequence[IPNet]) -> str | None:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    return next((str(n) for n in networks if addr in n), None)


def _hits(rows: pa.RecordBatch, indicator: pa.Array, via: str,
          observed: pa.Array) -> pa.Table:
    """Raw match rows in the aggregate's column layout."""
    ts = rows.column("ts")
    return pa.table({
        "client": pc.fill_null(rows.column("client"), "unknown"),
        "indicator": indicator,
        "via": pa.array([via] * rows.num_rows, pa.string()),
        "count": pa.array(np.ones(rows.num_rows, dtype=np.int64)),
        "first": ts, "sample": observed, "last": ts, "sensor": rows.column("sensor"),
    })


def indicator_match(indicators: Sequence[str | Path] | IndicatorList = (),
                    window: dt.timedelta | None = None) -> IndicatorMatch | None:
    """Factory: None (no detector) when no indicator list was given."""
    lists = indicators if isinstance(indicators, IndicatorList) else \
        IndicatorList.from_files(indicators)
    if not len(lists):
        return None
    return IndicatorMatch(lists, window=window) if window else IndicatorMatch(lists)


DETECTORS = [indicator_match]
