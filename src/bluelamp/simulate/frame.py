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

_SIZE_CACHE_LIMIT = 2_000_000


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
             sizes: dict[tuple[str, int, int], int]) -> pa.Table:
    """One `dns` table sorted by ts from the drafts of one slice. `sizes` caches encoded
    response sizes across slices."""
    drafts = [d for d in drafts if len(d)]
    if not drafts:
        return DNS.empty_table()
    parts = [_draft_table(world, d, g, sizes) for d in drafts]
    table = pa.concat_tables(parts)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    order = np.argsort(ts, kind="stable")  # stable: equal times keep behaviour order
    return table.take(pa.array(order))


def _draft_table(world: World, d: Draft, g: np.random.Generator,
                 sizes: dict[tuple[str, int, int], int]) -> pa.Table:
    if d.answers is None:
        answers, ttl, size = _zone_answers(world, d, sizes)
    else:
        answers, ttl, size = _explicit_answers(d)
    client = pa.array(d.client.astype(np.int64))
    n = len(d)
    columns = {
        "ts": pa.array(d.ts, pa.int64()).cast(DNS.field("ts").type),
        "client": world.address_array.take(client),
        "client_port": pa.array(world.ports(d.client, g), pa.uint16()),
        "server": pa.repeat(pa.scalar(world.cfg.resolver), n),
        "qname": d.qname,
        "qtype": pa.array(d.qtype, pa.uint16()),
        "rcode": pa.array(d.rcode, pa.uint8()),
        "answers": answers,
        "ttl": ttl,
        "response_size": size,
        "transport": pa.repeat(pa.scalar(d.transport), n),
        "sensor": pa.repeat(pa.scalar(world.cfg.sensor), n),
    }
    return DNS.conform(pa.table(columns))


def _zone_answers(world: World, d: Draft, sizes: dict[tuple[str, int, int], int]
                  ) -> tuple[pa.Array, pa.Array, pa.Array]:
    encoded = pc.dictionary_encode(d.qname)
    idx = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    dictionary = encoded.dictionary.to_pylist()
    key = (idx << 24) | (d.qtype.astype(np.int64) << 8) | d.rcode.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    ans_u: list[tuple[str, ...]] = []
    ttl_u: list[int | None] = []
    size_u = np.empty(len(uniq), dtype=np.uint32)
    if len(sizes) > _SIZE_CACHE_LIMIT:
        sizes.clear()
    for j, k in enumerate(uniq.tolist()):
        name, qtype, rcode = dictionary[k >> 24], (k >> 8) & 0xFFFF, k & 0xFF
        answers, ttl = world.zone.answer(name, qtype) if rcode == 0 else ((), None)
        ans_u.append(answers)
        ttl_u.append(ttl)
        cached = sizes.get((name, qtype, rcode))
        if cached is None:
            cached = sizes[(name, qtype, rcode)] = len(
                dnsenc.encode_response(0, name, qtype, rcode, answers, ttl))
        size_u[j] = cached
    take = pa.array(inverse.ravel())
    return (pa.array(ans_u, pa.list_(pa.string())).take(take),
            pa.array(ttl_u, pa.uint32()).take(take),
            pa.array(size_u[inverse.ravel()], pa.uint32()))


def _explicit_answers(d: Draft) -> tuple[pa.Array, pa.Array, pa.Array]:
    assert d.answers is not None
    answers = d.answers.to_pylist()
    ttl = d.ttl if d.ttl is not None else np.zeros(len(d), np.uint32)
    ttl_list = [int(t) if a else None for t, a in zip(ttl.tolist(), answers, strict=True)]
    qnames = d.qname.to_pylist()
    size = [len(dnsenc.encode_response(0, q, int(t), int(r), a or (), tl))
            for q, t, r, a, tl in zip(qnames, d.qtype.tolist(), d.rcode.tolist(), answers,
                                      ttl_list, strict=True)]
    return (pa.array(answers, pa.list_(pa.string())), pa.array(ttl_list, pa.uint32()),
            pa.array(size, pa.uint32()))
