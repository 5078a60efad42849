"""Drafts (what a behaviour produces) and their assembly into `dns` tables.

A behaviour says who asked what, when, and whether the name exists; answers, TTLs and
response sizes are then filled from the shared `Zone` for each distinct question (not per
row), so millions of rows cost a few thousand Python calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.schema import DNS
from bluelamp.simulate import dnsenc
from bluelamp.simulate.world import World

_CACHE_LIMIT = 400_000
#: (qname, qtype, rcode) -> (answers, ttl, response size), kept across slices
Cache = dict[tuple[str, int, int], tuple[tuple[str, ...], int | None, int]]


@dataclass
class Draft:
    """Rows of one behaviour in one slice (unsorted)."""

    ts: np.ndarray                 # int64 microseconds since the epoch
    client: np.ndarray             # int32 index into World.address
    qname: pa.Array                # string, normalised as DNS.qname says
    qtype: np.ndarray              # uint16
    rcode: np.ndarray              # uint8
    answers: pa.Array | None = None  # list<string>: explicit answers (else from the zone)
    ttl: np.ndarray | None = None    # uint32 with explicit answers (0 = no answers)
    transport: str = "udp"

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("client", "qtype", "rcode"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"draft column {name} has {len(getattr(self, name))} rows, "
                                 f"ts has {n}")
        if len(self.qname) != n:
            raise ValueError(f"draft qname has {len(self.qname)} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)


def names(values: Sequence[str] | np.ndarray) -> pa.Array:
    return pa.array(values, pa.string())


def assemble(world: World, drafts: Sequence[Draft], g: np.random.Generator,
             cache: Cache) -> pa.Table:
    """One `dns` table sorted by ts from the drafts of one slice. `cache` keeps answers
    and response sizes across slices. Rows are sorted first and every column is gathered
    once (list columns are costly to reorder)."""
    drafts = [d for d in drafts if len(d)]
    if not drafts:
        return DNS.empty_table()
    ts = np.concatenate([d.ts for d in drafts])
    order = np.argsort(ts, kind="stable")  # stable: equal times keep behaviour order
    take = pa.array(order)
    client = np.concatenate([d.client for d in drafts])[order]
    qname = pa.concat_arrays([d.qname.cast(pa.string()) for d in drafts]).take(take)
    qtype = np.concatenate([d.qtype.astype(np.uint16) for d in drafts])[order]
    rcode = np.concatenate([d.rcode.astype(np.uint8) for d in drafts])[order]
    transports = sorted({d.transport for d in drafts})
    transport = np.concatenate([np.full(len(d), transports.index(d.transport), np.int8)
                                for d in drafts])[order]
    # rows with explicit answers point into their draft's answers, the others into the zone
    explicit = np.concatenate([np.arange(len(d)) if d.answers is not None else
                               np.full(len(d), -1) for d in drafts])
    offsets = np.cumsum([0] + [len(d) if d.answers is not None else 0 for d in drafts])
    base = np.concatenate([np.full(len(d), offsets[i]) for i, d in enumerate(drafts)])
    explicit = np.where(explicit >= 0, explicit + base, -1)[order]
    answers, ttl, size = _answers(world, drafts, qname, qtype, rcode, explicit, cache)
    n = len(ts)
    columns = {
        "ts": pa.array(ts[order], pa.int64()).cast(DNS.field("ts").type),
        "client": world.address_array.take(pa.array(client.astype(np.int64))),
        "client_port": pa.array(world.ports(client, g), pa.uint16()),
        "server": pa.DictionaryArray.from_arrays(
            pa.array(world.is_v6[client].astype(np.int8)),
            pa.array([world.cfg.resolver, world.cfg.resolver6])).cast(pa.string()),
        "qname": qname,
        "qtype": pa.array(qtype, pa.uint16()),
        "rcode": pa.array(rcode, pa.uint8()),
        "answers": answers,
        "ttl": ttl,
        "response_size": pa.array(size, pa.uint32()),
        "transport": pa.DictionaryArray.from_arrays(pa.array(transport),
                                                    pa.array(transports)).cast(pa.string()),
        "sensor": pa.repeat(pa.scalar(world.cfg.sensor), n),
    }
    return DNS.conform(pa.table(columns))


def _answers(world: World, drafts: Sequence[Draft], qname: pa.Array, qtype: np.ndarray,
             rcode: np.ndarray, explicit: np.ndarray, cache: Cache
             ) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Answers, TTL and response size of every row: zone rows by distinct question,
    explicit rows from their drafts."""
    zone_rows = explicit < 0
    encoded = pc.dictionary_encode(qname)
    idx = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    dictionary = encoded.dictionary.to_pylist()
    key = (idx << 24) | (qtype.astype(np.int64) << 8) | rcode.astype(np.int64)
    uniq, inverse = np.unique(key[zone_rows], return_inverse=True)
    ans_u: list[tuple[str, ...] | list[str]] = []
    ttl_u: list[int | None] = []
    size_u: list[int] = []
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    for k in uniq.tolist():
        name, qt, rc = dictionary[k >> 24], (k >> 8) & 0xFFFF, k & 0xFF
        hit = cache.get((name, qt, rc))
        if hit is None:
            answers, ttl = world.zone.answer(name, qt) if rc == 0 else ((), None)
            hit = cache[(name, qt, rc)] = (answers, ttl,
                                           dnsenc.response_size(name, qt, rc, answers))
        ans_u.append(hit[0])
        ttl_u.append(hit[1])
        size_u.append(hit[2])
    for d in drafts:
        if d.answers is not None:
            _explicit(d, ans_u, ttl_u, size_u)
    pointer = np.empty(len(qtype), np.int64)
    pointer[zone_rows] = inverse.ravel()
    pointer[~zone_rows] = len(uniq) + explicit[~zone_rows]
    take = pa.array(pointer)
    return (pa.array(ans_u, pa.list_(pa.string())).take(take),
            pa.array(ttl_u, pa.uint32()).take(take),
            np.asarray(size_u, np.uint32)[pointer])


def _explicit(d: Draft, ans_u: list[tuple[str, ...] | list[str]], ttl_u: list[int | None],
              size_u: list[int]) -> None:
    assert d.answers is not None
    answers = d.answers.to_pylist()
    ttl = d.ttl if d.ttl is not None else np.zeros(len(d), np.uint32)
    for q, t, r, a, tl in zip(d.qname.to_pylist(), d.qtype.tolist(), d.rcode.tolist(),
                              answers, ttl.tolist(), strict=True):
        ans_u.append(a or [])
        ttl_u.append(int(tl) if a else None)
        size_u.append(dnsenc.response_size(q, int(t), int(r), a or ()))
