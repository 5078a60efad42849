"""Parameters of one simulation run, and deterministic random streams derived from the seed."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field

import numpy as np

#: a fixed default start so that the same seed gives the same bytes on any day (a Monday)
DEFAULT_START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
US = 1_000_000  # microseconds per second


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Every random choice derives from `seed`, so equal configs give
    byte-identical outputs."""

    clients: int = 100
    hours: float = 24.0
    seed: int = 0
    start: dt.datetime = DEFAULT_START
    #: DGA families the infected clients run (None: every family in the embedded data)
    dga_families: tuple[str, ...] | None = None
    #: extra DGA names, a `family<TAB>domain` file (e.g. families held out from training)
    dga_names_file: str | None = None
    #: benign long-tail names, one per line, replacing the embedded random list
    benign_names_file: str | None = None
    #: fraction of clients running each malicious behaviour (at least one each when > 0)
    dga_fraction: float = 0.02
    beacon_fraction: float = 0.01
    tunnel_fraction: float = 0.005
    #: extra behaviours to run by name (see `bluelamp.simulate.behaviours.BEHAVIOURS`)
    extra: tuple[str, ...] = ()
    #: client address space: IPv4 and IPv6 prefixes the simulated clients are numbered from
    client_networks: tuple[str, ...] = ("10.20.0.0/16", "fd42:b1e0:1a3f::/48")
    #: share of clients that are IPv6-only addressed in the logs
    ipv6_share: float = 0.15
    resolver: str = "10.20.255.53"
    #: the resolver's IPv6 address, which IPv6 clients send their queries to
    resolver6: str = "fd42:b1e0:1a3f::53"
    sensor: str = "sim-resolver-1"
    #: local time zone of the simulated population, hours east of UTC (diurnal rhythm)
    utc_offset_hours: float = 1.0
    #: overall activity multiplier (1.0 ≈ 3,000 queries per workstation per day)
    volume: float = 1.0
    #: length of one generated slice; outputs are built slice by slice (bounded memory)
    slice_seconds: int = 3600
    options: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise ValueError("clients must be at least 1")
        if not 0 < self.hours <= 24 * 31:
            raise ValueError("hours must be in (0, 744]")
        if self.start.tzinfo is None:
            object.__setattr__(self, "start", self.start.replace(tzinfo=dt.UTC))

    @property
    def start_us(self) -> int:
        return int(self.start.timestamp() * US)

    @property
    def end_us(self) -> int:
        return self.start_us + int(self.hours * 3600 * US)

    def slices(self) -> list[tuple[int, int]]:
        """[start, end) microsecond bounds of each generated slice."""
        step = self.slice_seconds * US
        bounds = list(range(self.start_us, self.end_us, step))
        return [(lo, min(lo + step, self.end_us)) for lo in bounds]


def stream_id(name: str) -> int:
    """A stable integer for a behaviour name (not Python's salted hash)."""
    return zlib.crc32(name.encode())


def rng(seed: int, name: str, *index: int) -> np.random.Generator:
    """An independent random stream for (seed, behaviour, index...): adding a behaviour
    or a slice never changes the numbers another one draws."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream_id(name), *index)))
