"""One small simulated day shared by the simulator's tests (generated once per session)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from bluelamp.simulate import simulate_day

START = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)  # a Tuesday
SMALL = {"clients": 150, "hours": 24.0, "seed": 11, "start": START}


@pytest.fixture(scope="session")
def day() -> tuple[pa.Table, pa.Table]:
    """A day for 150 clients (~0.4M queries), with more infected clients than by default
    so that every malicious behaviour has a few actors."""
    return simulate_day(**SMALL, dga_fraction=0.05, beacon_fraction=0.03, tunnel_fraction=0.02)


@pytest.fixture(scope="session")
def sample(day: tuple[pa.Table, pa.Table]) -> pa.Table:
    """Every 40th row plus every malicious row of interest: small enough for the slow
    writers, varied enough to cover every record type."""
    dns, _ = day
    qtype = dns.column("qtype").to_numpy()
    keep = np.arange(dns.num_rows) % 40 == 0
    keep |= (qtype != 1) & (qtype != 28) & (qtype != 65)
    return dns.filter(pa.array(keep))
