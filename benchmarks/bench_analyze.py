"""Benchmark `analyze` with the indicator and NXDOMAIN detectors, per core, from Parquet.

    python benchmarks/bench_analyze.py                 # 1M queries (a few seconds)
    python benchmarks/bench_analyze.py --rows 10000000 # the bounded-memory case
    python benchmarks/bench_analyze.py --listed 1000000 # a feed-sized indicator list

The input is generated (vectorised numpy, a day of traffic from 5,000 clients, Zipf-like
names, 4% NXDOMAIN, 20 bursting clients) into a temporary Parquet file, written in slices
so that generating it stays small. The analysis then runs in a fresh subprocess with one
thread for Arrow and DuckDB; it reports CPU time (`time.process_time`), queries per CPU
second, DuckDB's plain scan of the same columns of the same file for scale, and the peak
RSS of that subprocess (`resource.getrusage`), which is the memory the analysis needed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SLICE_ROWS = 1_000_000
DAY_US = 86_400 * 1_000_000
START_US = 1_772_323_200 * 1_000_000  # 2026-03-01T00:00:00Z


def _names(rng: np.random.Generator, n: int, length: int, suffix: str) -> pa.Array:
    letters = rng.integers(97, 123, size=(n, length), dtype=np.uint8)
    raw = letters.view(f"S{length}").ravel()
    return pa.array([b.decode() + suffix for b in raw], pa.string())


def _vocabulary(seed: int) -> dict[str, pa.Array]:
    rng = np.random.default_rng(seed)
    hosts = rng.integers(1, 255, size=(5_000, 2))
    return {
        "names": _names(rng, 50_000, 7, ".example.com"),
        "nx": _names(rng, 300_000, 12, ".example.net"),
        "clients": pa.array([f"10.{a}.{b}.{i % 250}" for i, (a, b) in enumerate(hosts)]),
        "addresses": pa.array([f"198.18.{i // 256}.{i % 256}" for i in range(10_000)]),
    }


def _slice(rng: np.random.Generator, vocab: dict[str, pa.Array], n: int,
           lo_us: int, hi_us: int) -> pa.Table:
    ts = np.sort(rng.integers(lo_us, hi_us, size=n))
    client_idx = np.minimum(rng.zipf(1.3, size=n) - 1, len(vocab["clients"]) - 1)
    bursting = client_idx < 20  # the 20 heaviest clients also burst NXDOMAIN
    is_nx = (rng.random(n) < 0.04) | (bursting & (rng.random(n) < 0.5))
    name_idx = np.minimum(rng.zipf(1.2, size=n) - 1, len(vocab["names"]) - 1)
    qname = pa.array(vocab["names"].take(pa.array(name_idx)).to_numpy(zero_copy_only=False))
    nx_names = vocab["nx"].take(pa.array(rng.integers(0, len(vocab["nx"]), size=n)))
    qname = pa.compute.if_else(pa.array(is_nx), nx_names, qname)
    answered = ~is_nx
    offsets = np.concatenate(([0], np.cumsum(answered))).astype(np.int32)
    values = vocab["addresses"].take(
        pa.array(rng.integers(0, len(vocab["addresses"]), size=int(answered.sum()))))
    from bluelamp.schema import DNS

    return DNS.conform(pa.table({
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "client": vocab["clients"].take(pa.array(client_idx)),
        "qname": qname,
        "qtype": pa.array(np.full(n, 1, dtype=np.uint16)),
        "rcode": pa.array(np.where(is_nx, 3, 0).astype(np.uint8)),
        "answers": pa.ListArray.from_arrays(pa.array(offsets), values),
    }))


def generate(path: Path, rows: int, seed: int = 7, listed: int = 500) -> Path:
    """Write `rows` queries spread over one day, slice by slice (sorted by time)."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(seed)
    slices = max(1, -(-rows // SLICE_ROWS))
    writer = None
    for i in range(slices):
        n = min(SLICE_ROWS, rows - i * SLICE_ROWS)
        lo = START_US + DAY_US * i // slices
        table = _slice(rng, vocab, n, lo, START_US + DAY_US * (i + 1) // slices)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=128 * 1024)
    assert writer is not None
    writer.close()
    # an indicator list: 500 rare names of the traffic, made-up names up to `listed`,
    # and networks
    names = vocab["names"].slice(40_000, 500).to_pylist()
    names += [f"c2-{i}.example.org" for i in range(max(0, listed - 500))]
    nets = [f"203.0.{i}.0/24" for i in range(50)] + ["198.18.39.0/30"]
    (path.parent / "indicators.txt").write_text("\n".join(names + nets) + "\n")
    return path


def analyse(path: Path) -> dict[str, Any]:
    """Runs in the measuring subprocess: one thread, CPU time, peak RSS."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from bluelamp.commands.analyze import run_analysis
    from bluelamp.detect.engine import Engine, default_detectors

    engine = Engine(default_detectors(indicators=[path.parent / "indicators.txt"]))
    began, wall = time.process_time(), time.perf_counter()
    result = run_analysis([path], engine)
    cpu, wall = time.process_time() - began, time.perf_counter() - wall
    rows = result.metrics.rows
    # peak of the analysis alone, read before DuckDB runs in this process
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scan = duckdb_scan(path)
    return {
        "rows": rows, "findings": len(result.findings), "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3), "rows_per_cpu_s": round(rows / cpu),
        "duckdb_scan_cpu_s": round(scan, 3), "duckdb_rows_per_cpu_s": round(rows / scan),
        "ratio_to_duckdb": round(scan / cpu, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "arrow_pool_mb": round(pa.total_allocated_bytes() / 2**20, 1),
        "detector_seconds": result.metrics.to_dict()["detector_seconds"],
    }


def duckdb_scan(path: Path) -> float:
    """CPU seconds DuckDB (one thread) needs to read the same columns and count."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    sql = ("SELECT count(*), count(client), count(qname), sum(CASE WHEN rcode = 3 THEN 1 "
           "ELSE 0 END), sum(len(answers)), max(ts) FROM read_parquet(?)")
    began = time.process_time()
    con.execute(sql, [str(path)]).fetchall()
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--listed", type=int, default=500,
                        help="domains on the indicator list (e.g. 1000000)")
    parser.add_argument("--analyse-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.analyse_only:
        print(json.dumps(analyse(args.analyse_only)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp) / "dns.parquet", args.rows, listed=args.listed)
        size = path.stat().st_size
        out = subprocess.run([sys.executable, __file__, "--analyse-only", str(path)],
                             check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    report["parquet_mb"] = round(size / 2**20, 1)
    print(json.dumps(report, indent=1))
    print(f"analyze: {report['rows_per_cpu_s']:,} queries/s/core "
          f"(DuckDB plain scan: {report['duckdb_rows_per_cpu_s']:,}/s/core, ratio "
          f"{report['ratio_to_duckdb']}); peak RSS {report['peak_rss_mb']} MB for "
          f"{report['rows']:,} queries ({report['parquet_mb']} MB Parquet)")


if __name__ == "__main__":
    main()
