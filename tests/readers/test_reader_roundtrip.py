"""Every format written by the simulator (an independent writer) reads back to the same
transactions, up to what the format can carry."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bluelamp.schema import DNS
from bluelamp.sources.base import read_path

simulate = pytest.importorskip("bluelamp.simulate")
writers = pytest.importorskip("bluelamp.simulate.writers")

#: fields each format carries exactly (ts to the microsecond unless noted)
CARRIED = {
    "zeek": ["ts", "client", "client_port", "server", "qname", "qtype", "rcode", "ttl",
             "transport"],
    "zeek-json": ["ts", "client", "client_port", "server", "qname", "qtype", "rcode", "ttl",
                  "transport"],
    "bind": ["client", "client_port", "server", "qname", "qtype", "transport"],
    "pcap": ["ts", "client", "client_port", "server", "qname", "qtype", "rcode", "ttl",
             "response_size", "transport"],
    "parquet": list(DNS.names),
    "csv": list(DNS.names),
    "ndjson": list(DNS.names),
}
KEY = [("client", "ascending"), ("client_port", "ascending"), ("qname", "ascending"),
       ("qtype", "ascending")]


@pytest.fixture(scope="module")
def day() -> pa.Table:
    table, _labels = simulate.simulate_day(clients=10, hours=0.25, seed=3)
    return table


@pytest.mark.parametrize("fmt", sorted(CARRIED))
def test_simulated_day_reads_back(fmt: str, day: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / f"dns.{fmt}"
    writers.write(day, path, fmt)
    chunks = list(read_path(path))  # format auto-detected
    assert [e for c in chunks for e in c.errors] == []
    got = pa.Table.from_batches([c.batch for c in chunks if c.batch is not None],
                                schema=DNS.arrow)
    assert got.num_rows == day.num_rows
    cols = CARRIED[fmt]
    order = [*KEY, ("ts", "ascending")]
    want, have = day.sort_by(order), got.sort_by(order)
    assert have.select(cols).to_pylist() == want.select(cols).to_pylist()
    if fmt == "bind":  # millisecond stamps
        diff = pc.subtract(have.column("ts"), want.column("ts")).to_pylist()
        assert max(abs(d.total_seconds()) for d in diff) < 0.001
