"""Benchmark: `analyze` with every registered detector, from Parquet, on one core.

Generates (or reuses) a simulated day as Parquet, runs the engine over it with every detector
of `default_detectors()` (or `--detectors a,b`; Arrow and DuckDB held to one thread), then
prints queries per CPU second overall, rows per wall second spent in each detector, peak RSS
of this process, and DuckDB's plain scan of the same file for scale.

    python benchmarks/bench_detectors.py --clients 1000 --hours 12
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=12)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--file", type=Path, help="existing dns Parquet file to use instead")
    ap.add_argument("--detectors", help="comma-separated detector names (default: all)")
    args = ap.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    path = args.file or _simulate(args.clients, args.hours, args.seed)
    from bluelamp.detect.engine import Engine, default_detectors
    from bluelamp.sources.base import read_path

    chosen = default_detectors()
    if args.detectors:
        wanted = set(args.detectors.split(","))
        chosen = [d for d in chosen if d.name in wanted]
    engine = Engine(chosen, write_observations=False)
    began = time.process_time()
    findings = 0
    for chunk in read_path(path, "parquet"):
        findings += len(engine.process(chunk))
    findings += len(engine.flush())
    cpu = time.process_time() - began
    rows = engine.metrics.rows
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scan = _duckdb_scan(path)
    # the engine times detectors by the wall clock: on a busy machine these are lower
    # bounds; the overall figure above is CPU time
    per = {name: round(rows / s) for name, s in engine.metrics.to_dict()
           .get("detector_seconds", {}).items() if s}
    print(json.dumps({"rows": rows, "findings": findings, "cpu_s": round(cpu, 2),
                      "queries_per_cpu_s": round(rows / cpu), "peak_rss_mb": round(rss_mb),
                      "duckdb_scan_rows_per_cpu_s": round(scan),
                      "detectors": [d.name for d in chosen],
                      "per_detector_rows_per_wall_s": per}, indent=1))


def _simulate(clients: int, hours: float, seed: int) -> Path:
    from bluelamp.simulate import simulate_day

    out = Path(tempfile.gettempdir()) / f"bluelamp-bench-{clients}-{hours}-{seed}.parquet"
    if not out.exists():
        dns, _ = simulate_day(clients=clients, hours=hours, seed=seed)
        pq.write_table(dns, out, compression="zstd")
    return out


def _duckdb_scan(path: Path) -> float:
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    began = time.process_time()
    n = con.execute(f"select count(*), count(distinct qname), max(ts) "
                f"from read_parquet('{path}')").fetchone()
    cpu = time.process_time() - began
    return float(n[0]) / cpu if n and cpu else 0.0


if __name__ == "__main__":
    main()
