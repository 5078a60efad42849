"""Running a simulation: behaviours planned once, rows generated slice by slice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from bluelamp.simulate.behaviour import LABELS, Behaviour
from bluelamp.simulate.config import DEFAULT_START, SimConfig, rng
from bluelamp.simulate.frame import Cache, assemble
from bluelamp.simulate.registry import BEHAVIOURS, DEFAULT_BEHAVIOURS
from bluelamp.simulate.world import build_world


class Simulation:
    """A planned simulation. Iterate `tables()` for bounded memory; `labels()` after."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.world = build_world(cfg)
        wanted = [*DEFAULT_BEHAVIOURS, *(x for x in cfg.extra if x not in DEFAULT_BEHAVIOURS)]
        unknown = [w for w in wanted if w not in BEHAVIOURS]
        if unknown:
            raise ValueError(f"unknown behaviours {unknown}; known: {sorted(BEHAVIOURS)}")
        self.behaviours: list[Behaviour] = [BEHAVIOURS[w](self.world) for w in wanted]
        # malicious behaviours claim their clients before benign traffic is labelled
        for b in self.behaviours:
            b.plan(rng(cfg.seed, f"{b.name}:plan"))
        self._cache: Cache = {}
        self.rows = 0

    def tables(self) -> Iterator[pa.Table]:
        """One `dns` table per slice, each sorted by ts, slices in time order."""
        for i, (lo, hi) in enumerate(self.cfg.slices()):
            drafts = [d for b in self.behaviours for d in b.generate(lo, hi, rng(
                self.cfg.seed, b.name, i))]
            for d in drafts:
                self.world.tally(d.client, d.ts, d.rcode)
            table = assemble(self.world, drafts, rng(self.cfg.seed, "ports", i), self._cache)
            self.rows += table.num_rows
            yield table

    def labels(self) -> pa.Table:
        """Label rows of every behaviour (complete once `tables()` is exhausted)."""
        rows: list[dict[str, Any]] = []
        for b in self.behaviours:
            rows.extend(b.labels())
        return LABELS.from_rows(rows)


def simulate_day(clients: int = 100, hours: float = 24.0, seed: int = 0,
                 start: dt.datetime | None = None, *,
                 dga_families: Sequence[str] | None = None,
                 **options: Any) -> tuple[pa.Table, pa.Table]:
    """Simulate `hours` of DNS traffic of `clients` clients: (dns table in the `dns`
    schema sorted by ts, labels table). Same arguments give identical tables.
    `options` are further `SimConfig` fields (e.g. dga_fraction=0.05, extra=("spam",))."""
    cfg = SimConfig(clients=clients, hours=hours, seed=seed, start=start or DEFAULT_START,
                    dga_families=tuple(dga_families) if dga_families else None, **options)
    sim = Simulation(cfg)
    tables = list(sim.tables())
    return pa.concat_tables(tables), sim.labels()
