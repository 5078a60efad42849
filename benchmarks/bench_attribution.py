"""Attribution throughput: IP lookups per second per core, against two baselines.

Run:  python benchmarks/bench_attribution.py [--rows 2000000] [--prefixes 500000] [--json]

It builds a synthetic routing table shaped like a real one (IPv4 prefixes /8../24 with
nested more-specifics, IPv6 /19../48 plus some /64../128), 200 organisations declaring
networks, and an event column of addresses (90% IPv4, 7% IPv6, 3% IPv4-mapped, 0.1%
invalid; 200,000 distinct hosts, as abuse feeds repeat hosts). It then times, in CPU time
of this single-threaded process (Arrow and DuckDB are held to one thread), so that "per core"
holds even when other work shares the machine:

- `lpm`: parse the address strings + longest-prefix match (`parse_ips` + `PrefixTable`);
- `attribute`: the whole `Attributor.lookup` (organisations, routing, AS names, network text);
- baseline `python`: `ipaddress` + `bisect` over the *same* flattened intervals, per address,
  on a sample (the per-row way);
- baseline `duckdb`: DuckDB parsing the same IPv4 strings in SQL and ASOF-joining them to the
  same intervals (DuckDB's `inet` extension cannot be installed offline); IPv4 rows only.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import ipaddress
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from bluelamp.attribute import Attributor, Organisation, OrgDirectory
from bluelamp.attribute.addresses import parse_ips, parse_unique
from bluelamp.attribute.loaders import ATTRS, PrefixData, load_pfx2as
from bluelamp.attribute.picture import national_picture
from bluelamp.attribute.prefixes import Prefixes, PrefixTable
from bluelamp.schema import EVENT


def make_prefixes(n: int, rng: np.random.Generator) -> PrefixData:
    n6 = n // 5
    n4 = n - n6
    # IPv4: lengths weighted like a real table: mostly /24, some /16../23, very few short.
    lens4 = rng.choice([8, 12, 16, 19, 20, 21, 22, 23, 24], size=n4,
                       p=[0.00003, 0.0003, 0.03, 0.03, 0.05, 0.06, 0.12, 0.1, 0.60967])
    nets4 = rng.integers(1 << 24, 224 << 24, size=n4, dtype=np.uint64)
    # IPv6: allocations /19../48 spread over 2000::/3, some /64 and /128 more-specifics.
    lens6 = rng.choice([19, 29, 32, 36, 40, 44, 48, 64, 128], size=n6,
                       p=[0.001, 0.1, 0.2, 0.05, 0.1, 0.1, 0.404, 0.035, 0.01])
    hi = (np.uint64(0x2000) << np.uint64(48)) + rng.integers(0, 1 << 61, size=n6,
                                                             dtype=np.uint64)
    lo = rng.integers(0, np.iinfo(np.int64).max, size=n6, dtype=np.int64).astype(np.uint64)
    halves = np.empty(n6, dtype=[("hi", ">u8"), ("lo", ">u8")])
    halves["hi"], halves["lo"] = hi, lo
    prefixes = Prefixes(nets4, lens4.astype(np.uint8), np.arange(n4),
                        halves.view("S16"), lens6.astype(np.uint8), np.arange(n4, n))
    attrs = pa.table({
        "asn": pa.array(rng.integers(1, 400_000, size=n), type=pa.uint32()),
        "country": pa.array(rng.choice(["GB", "FR", "DE", "US", "NL"], size=n)),
        "as_name": pa.nulls(n, pa.string()),
    }, schema=ATTRS)
    return PrefixData(prefixes, attrs)


def make_ips(rows: int, hosts: int, rng: np.random.Generator,
             prefixes: Prefixes | None = None) -> pa.Array:
    """Event addresses: mostly inside routed prefixes (when given), like real abuse data."""
    v4 = rng.integers(1 << 24, 224 << 24, size=hosts, dtype=np.uint64)
    if prefixes is not None and len(prefixes.v4_net):
        pick = rng.integers(0, len(prefixes.v4_net), size=hosts)
        host = rng.integers(0, 1 << 8, size=hosts, dtype=np.uint64)
        inside = rng.random(hosts) < 0.95
        v4 = np.where(inside, (prefixes.v4_net[pick] & ~np.uint64(255)) | host, v4)
    texts = [str(ipaddress.IPv4Address(int(v))) for v in v4]
    kinds = rng.random(hosts)
    six = np.flatnonzero(kinds < 0.07)
    if prefixes is not None and len(prefixes.v6_net):
        nets = prefixes.v6_net[rng.integers(0, len(prefixes.v6_net), size=len(six))]
        for i, net in zip(six.tolist(), nets, strict=True):
            base = int.from_bytes(bytes(net).ljust(16, b"\0"), "big") & ~((1 << 80) - 1)
            texts[i] = str(ipaddress.IPv6Address(base | int(rng.integers(0, 1 << 62))))
    else:
        for i in six.tolist():
            texts[i] = str(ipaddress.IPv6Address((0x2001 << 112) | int(rng.integers(0, 1 << 62))))
    for i in np.flatnonzero((kinds >= 0.07) & (kinds < 0.10)).tolist():
        texts[i] = "::ffff:" + texts[i]
    for i in np.flatnonzero((kinds >= 0.10) & (kinds < 0.101)).tolist():
        texts[i] = "not-an-address"
    # Zipf-like repetition: a few hosts appear in many events, half the rows are spread out.
    pick = np.minimum(rng.zipf(1.3, size=rows) - 1, hosts - 1)
    spread = rng.integers(0, hosts, size=rows)
    pick = np.where(rng.random(rows) < 0.5, spread, pick)
    if rows == hosts:  # the all-distinct case
        pick = rng.permutation(hosts)
    return pa.array(texts, type=pa.string()).take(pa.array(pick))


def picture_rate(attributor: Attributor, ips: pa.Array, rng: np.random.Generator) -> float:
    """CPU seconds of `national_picture` over events carrying `ips` (no lake I/O)."""
    n = len(ips)
    now = dt.datetime.now(dt.UTC)
    types = np.array(["infected-system", "c2-server", "phishing", "spam", "scanner"])
    events = pa.table({
        "id": pa.array(np.arange(n).astype(str)),
        "time_observed": pa.array(np.full(n, np.datetime64(now.replace(tzinfo=None), "us"))),
        "feed_name": pa.array(np.full(n, "bench")),
        "classification_type": pa.array(types[rng.integers(0, len(types), size=n)]),
        "source_ip": ips,
    })
    events = EVENT.conform(events)
    seconds, _ = cpu(lambda: national_picture(events, attributor,
                                              since=now - dt.timedelta(days=7)), repeat=1)
    return seconds


def loader_rate(routing: PrefixData, lines: int) -> tuple[float, float]:
    """Write the IPv4 part of `routing` as a pfx2as file; (load CPU s, table build CPU s)."""
    p = routing.prefixes
    n = min(lines, len(p.v4_net))
    nets = [str(ipaddress.IPv4Address(int(v))) for v in p.v4_net[:n]]
    asns = routing.attrs.column("asn").to_pylist()[:n]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "routeviews.pfx2as"
        path.write_text("".join(f"{a}\t{ln}\t{s}\n" for a, ln, s in
                                zip(nets, p.v4_len[:n].tolist(), asns, strict=True)))
        load_s, data = cpu(lambda: load_pfx2as(path), repeat=1)
    build_s, _ = cpu(lambda: PrefixTable(data.prefixes), repeat=1)
    return load_s, build_s


def cpu(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def python_baseline(table: PrefixTable, ips: list[str]) -> float:
    starts4 = [int(s) for s in table.v4.starts]
    owner4 = table.v4.owner.tolist()
    starts6 = [int.from_bytes(bytes(s).ljust(16, b"\0"), "big") for s in table.v6.starts]
    owner6 = table.v6.owner.tolist()
    t = time.process_time()
    for text in ips:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            continue
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if addr.version == 4:
            owner4[bisect.bisect_right(starts4, int(addr)) - 1]
        else:
            owner6[bisect.bisect_right(starts6, int(addr)) - 1]
    return time.process_time() - t


def duckdb_baseline(table: PrefixTable, ips: pa.Array) -> tuple[float, int]:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    intervals = pa.table({"start": pa.array(table.v4.starts.astype(np.int64)),
                          "owner": pa.array(table.v4.owner)})
    events = pa.table({"ip": ips})
    con.register("intervals", intervals)
    con.register("events", events)
    sql = """
        WITH q AS (
            SELECT ip,
                   CAST(split_part(ip, '.', 1) AS BIGINT) * 16777216
                 + CAST(split_part(ip, '.', 2) AS BIGINT) * 65536
                 + CAST(split_part(ip, '.', 3) AS BIGINT) * 256
                 + CAST(split_part(ip, '.', 4) AS BIGINT) AS addr
            FROM events
            WHERE regexp_full_match(ip, '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}')
        )
        SELECT count(*), count(i.owner) FROM q ASOF JOIN intervals i ON q.addr >= i.start
    """
    t = time.process_time()
    rows = con.execute(sql).fetchone()
    elapsed = time.process_time() - t
    return elapsed, int(rows[0]) if rows else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--prefixes", type=int, default=500_000)
    ap.add_argument("--hosts", type=int, default=200_000)
    ap.add_argument("--sample", type=int, default=50_000, help="rows for the Python baseline")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    rng = np.random.default_rng(7)

    routing = make_prefixes(args.prefixes, rng)
    build_s, table = cpu(lambda: PrefixTable(routing.prefixes), repeat=1)
    orgs = OrgDirectory([Organisation(f"org{i}", networks=(f"{(i % 200) + 1}.{i % 256}.0.0/16",),
                                      region="North West", sector="hosting")
                         for i in range(200)])
    attributor = Attributor(routing=routing, orgs=orgs, country="GB")
    ips = make_ips(args.rows, args.hosts, rng, routing.prefixes)
    v4_rows = int((parse_ips(ips).version == 4).sum())

    def lpm(values: pa.Array) -> np.ndarray:
        uniq = parse_unique(values)
        return uniq.rows(table.lookup(uniq.parsed))

    lpm_s, _ = cpu(lambda: lpm(ips))
    distinct = make_ips(args.hosts, args.hosts, rng, routing.prefixes)
    lpm_distinct_s, _ = cpu(lambda: lpm(distinct))
    cold = Attributor(routing=routing, orgs=orgs, country="GB")  # network texts not cached
    attr_cold_s, _ = cpu(lambda: cold.lookup(distinct), repeat=1)
    attr_distinct_s, _ = cpu(lambda: attributor.lookup(distinct), repeat=2)
    attr_s, _ = cpu(lambda: attributor.lookup(ips), repeat=2)
    sample = ips.slice(0, args.sample).to_pylist()
    py_s = python_baseline(table, sample)
    duck_s, duck_rows = duckdb_baseline(table, ips)
    load_s, load_build_s = loader_rate(routing, args.prefixes)
    picture_s = picture_rate(attributor, ips, rng)

    result = {
        "rows": args.rows, "distinct_hosts": args.hosts, "prefixes": args.prefixes,
        "intervals_v4": len(table.v4.starts), "intervals_v6": len(table.v6.starts),
        "build_cpu_s": round(build_s, 3),
        "pfx2as_lines_loaded_per_cpu_s": round(min(args.prefixes, len(routing.prefixes.v4_net))
                                               / load_s),
        "lpm_lookups_per_cpu_s": round(args.rows / lpm_s),
        "attribute_lookups_per_cpu_s": round(args.rows / attr_s),
        "lpm_all_distinct_per_cpu_s": round(args.hosts / lpm_distinct_s),
        "attribute_all_distinct_per_cpu_s": round(args.hosts / attr_distinct_s),
        "attribute_all_distinct_first_call_per_cpu_s": round(args.hosts / attr_cold_s),
        "python_bisect_ipaddress_per_cpu_s": round(len(sample) / py_s),
        "duckdb_asof_v4_per_cpu_s": round(duck_rows / duck_s) if duck_s else None,
        "duckdb_rows_v4": duck_rows, "v4_rows": v4_rows,
        "picture_events_per_cpu_s": round(args.rows / picture_s),
    }
    result["lpm_vs_python"] = round(result["lpm_lookups_per_cpu_s"]
                                    / result["python_bisect_ipaddress_per_cpu_s"], 1)
    if result["duckdb_asof_v4_per_cpu_s"]:
        result["lpm_vs_duckdb"] = round(result["lpm_lookups_per_cpu_s"]
                                        / result["duckdb_asof_v4_per_cpu_s"], 1)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"routing table: {args.prefixes:,} prefixes → {result['intervals_v4']:,} IPv4 + "
          f"{result['intervals_v6']:,} IPv6 intervals, built in {build_s:.2f} CPU s")
    print(f"pfx2as loader: {result['pfx2as_lines_loaded_per_cpu_s']:,} lines/s per core "
          f"(IPv4 part of the table written as a file; table build {load_build_s:.2f} CPU s)")
    print(f"events: {args.rows:,} addresses, {args.hosts:,} distinct hosts "
          f"({v4_rows:,} IPv4 incl. mapped)")
    print(f"parse + LPM          {result['lpm_lookups_per_cpu_s']:>12,} lookups/s per core")
    print(f"Attributor.lookup    {result['attribute_lookups_per_cpu_s']:>12,} lookups/s per core")
    print(f"  all {args.hosts:,} distinct: parse + LPM "
          f"{result['lpm_all_distinct_per_cpu_s']:,}/s, Attributor.lookup "
          f"{result['attribute_all_distinct_per_cpu_s']:,}/s per core (first call on a new "
          f"Attributor, formatting every network's text: "
          f"{result['attribute_all_distinct_first_call_per_cpu_s']:,}/s)")
    print(f"python bisect+ipaddr {result['python_bisect_ipaddress_per_cpu_s']:>12,} lookups/s "
          f"per core ({args.sample:,}-row sample)  ratio {result['lpm_vs_python']}x")
    print(f"national picture     {result['picture_events_per_cpu_s']:>12,} events/s per core "
          "(attribute + scope + counts, no lake I/O)")
    if result["duckdb_asof_v4_per_cpu_s"]:
        print(f"duckdb ASOF (IPv4)   {result['duckdb_asof_v4_per_cpu_s']:>12,} lookups/s per "
              f"core  ratio {result['lpm_vs_duckdb']}x")


if __name__ == "__main__":
    main()
