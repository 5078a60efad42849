"""Throughput of the DGA name scorer, against a baseline measured in the same run.

Names: the embedded DGA and benign names plus random-character and random-subdomain variants,
so that (almost) every name is unique and nothing is served from a cache. The baseline is the
cheapest thing any detector does with the same names: `pc.unique` plus DuckDB `length()`.
Times are CPU seconds of this process (best of --repeat), so that other load on the machine
does not count. The scorer's figure includes registered-label extraction (Public Suffix List)
and feature computation.

Run: .venv/bin/python benchmarks/bench_dga.py [--names 200000] [--repeat 3] [--model W.npz]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.models.dga import DGAModel, scoring_labels
from bluelamp.resources import benign_domains, dga_names


def make_names(n: int, seed: int = 0) -> pa.Array:
    rng = np.random.default_rng(seed)
    base = [d for _, d in dga_names()] + list(benign_domains("top")) + list(
        benign_domains("random"))
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
    out = []
    for i in range(n):
        name = base[i % len(base)]
        if i >= len(base):  # make the rest unique: a random first label in front
            k = int(rng.integers(3, 12))
            name = bytes(letters[rng.integers(0, len(letters), k)]).decode() + "." + name
        out.append(name)
    return pa.array(out, type=pa.string())


def best_of(repeat: int, func: object) -> float:
    times = []
    for _ in range(repeat):
        # CPU time of this process (all its threads): the machine may be shared, and the
        # target is per core
        start = time.process_time()
        func()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None,
                        help="weights file to time (default: the shipped model)")
    args = parser.parse_args()
    names = make_names(args.names)
    model = DGAModel.load(args.model)
    model.score(names[:1000])  # warm up: load weights, parse the PSL once
    con = duckdb.connect()

    def baseline() -> None:
        uniq = pc.unique(names)
        con.register("t", pa.table({"qname": uniq}))
        con.execute("SELECT sum(length(qname)) FROM t").fetchall()

    def scorer() -> None:
        model.score(names)

    labels = scoring_labels(names)

    def labels_only() -> None:
        model.score_labels(labels)

    t_base = best_of(args.repeat, baseline)
    t_score = best_of(args.repeat, scorer)
    t_labels = best_of(args.repeat, labels_only)
    n_unique = len(pc.unique(names))
    result = {
        "names": args.names,
        "unique": n_unique,
        "baseline_s": round(t_base, 4),
        "score_s": round(t_score, 4),
        "score_labels_s": round(t_labels, 4),
        "names_per_s": round(args.names / t_score),
        "labels_per_s_model_only": round(args.names / t_labels),
        "ratio_to_baseline": round(t_score / t_base, 1),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
