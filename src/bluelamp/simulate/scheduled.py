"""Behaviours whose every query is known in advance (DGA cycles, beacons, tunnels, ...).

They build a complete schedule in `plan` (these actors make thousands of queries, not
millions) and `generate` cuts the slice out of it, so a cycle that straddles two slices is
split at the boundary exactly, and label counters are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from bluelamp.simulate.behaviour import Actor, Behaviour
from bluelamp.simulate.frame import Draft


@dataclass
class Rows:
    """Planned queries of one actor."""

    ts: np.ndarray                       # int64 µs
    qname: list[str]
    qtype: np.ndarray | int = 1
    rcode: np.ndarray | int = 3
    answers: list[list[str]] | None = None
    ttl: int = 0


class Scheduled(Behaviour):
    """Collect `Rows` per actor with `add`; `finish` sorts them once planning is done."""

    explicit_answers = False
    transport = "udp"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._parts: list[tuple[int, int, Rows]] = []

    def add(self, actor: Actor, client: int, rows: Rows) -> None:
        index = next((i for i, a in enumerate(self.actors) if a is actor), None)
        if index is None:
            index = len(self.actors)
            self.actors.append(actor)
        keep = (rows.ts >= self.world.cfg.start_us) & (rows.ts < self.world.cfg.end_us)
        if not keep.all():
            rows = _subset(rows, keep)
        self._parts.append((index, client, rows))

    def finish(self) -> None:
        """Merge every actor's rows into time order (call at the end of `plan`)."""
        parts = [p for p in self._parts if len(p[2].ts)]
        if not parts:
            self.ts = np.zeros(0, np.int64)
            return
        ts = np.concatenate([r.ts for _, _, r in parts])
        order = np.argsort(ts, kind="stable")
        n = [len(r.ts) for _, _, r in parts]
        self.ts = ts[order]
        self.actor = np.repeat([a for a, _, _ in parts], n)[order]
        self.client = np.repeat([c for _, c, _ in parts], n).astype(np.int32)[order]
        self.qname = pa.array([q for _, _, r in parts for q in r.qname], pa.string()).take(
            pa.array(order))
        self.qtype = np.concatenate([np.broadcast_to(np.asarray(r.qtype, np.uint16), k)
                                     for (_, _, r), k in zip(parts, n, strict=True)])[order]
        self.rcode = np.concatenate([np.broadcast_to(np.asarray(r.rcode, np.uint8), k)
                                     for (_, _, r), k in zip(parts, n, strict=True)])[order]
        if self.explicit_answers:
            answers = [a for _, _, r in parts for a in (r.answers or [[]] * len(r.ts))]
            self.answers = pa.array(answers, pa.list_(pa.string())).take(pa.array(order))
            self.ttl = np.concatenate([np.full(k, r.ttl, np.uint32)
                                       for (_, _, r), k in zip(parts, n, strict=True)])[order]
        self._parts = []

    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        a, b = np.searchsorted(self.ts, [lo_us, hi_us])
        if a == b:
            return []
        ts, rcode = self.ts[a:b], self.rcode[a:b]
        for i in np.unique(self.actor[a:b]).tolist():
            mask = self.actor[a:b] == i
            self.actors[i].seen(ts[mask], rcode[mask])
        return [Draft(ts, self.client[a:b], self.qname.slice(a, b - a), self.qtype[a:b], rcode,
                      answers=self.answers.slice(a, b - a) if self.explicit_answers else None,
                      ttl=self.ttl[a:b] if self.explicit_answers else None,
                      transport=self.transport)]


def _subset(rows: Rows, keep: np.ndarray) -> Rows:
    def pick(v: np.ndarray | int) -> np.ndarray | int:
        return v[keep] if isinstance(v, np.ndarray) else v

    idx = np.flatnonzero(keep).tolist()
    return Rows(rows.ts[keep], [rows.qname[i] for i in idx], pick(rows.qtype),
                pick(rows.rcode), None if rows.answers is None else
                [rows.answers[i] for i in idx], rows.ttl)


def gaps_to_times(start_us: int, gaps_s: np.ndarray) -> np.ndarray:
    return start_us + np.cumsum((gaps_s * 1e6).astype(np.int64))
