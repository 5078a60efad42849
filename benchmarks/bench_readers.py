"""File reader throughput per core, against DuckDB reading the same files in the same run.

Run:  python benchmarks/bench_readers.py [--rows 300000] [--formats zeek,bind] [--json]

One realistic table (see readers_data.py) is written in every format; then
`bluelamp.sources.base.read_path` reads each file completely (Arrow batches in the `dns`
schema, names normalised), and DuckDB reads the same file into Arrow doing comparable work
(the same columns, typed, qname lower-cased). Both are timed in CPU time of this process
(`time.process_time`, which counts every thread), with pyarrow capped to one CPU and one I/O
thread and DuckDB to one thread, so the figures are rows per second per core. Best of
--repeat runs. Target for the Zeek TSV reader: >= 1M rows/s/core. There is no DuckDB
baseline for pcap.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from bluelamp.sources.base import read_path
from readers_data import WRITERS, ZEEK_FIELDS, make_table

FILE_NAMES = {"zeek": "dns.log", "zeek-json": "dns.json", "bind": "query.log",
              "pcap": "dns.pcap", "parquet": "dns.parquet", "csv": "dns.csv",
              "ndjson": "dns.ndjson"}
#: formats whose writer is slow in Python get fewer rows
ROW_SHARE = {"zeek-json": 0.5, "ndjson": 0.5, "pcap": 0.5}

_ZEEK_COLS = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in ZEEK_FIELDS) + "}"
_BIND_RE = (r"client (?:@0x[0-9a-f]+ )?([^\s#]+)#(\d+) \([^)]*\): query: (\S+) (\S+) (\S+) "
            r"([-+]\S*) \(([^)]*)\)")
DUCKDB_SQL = {
    "zeek": f"""SELECT to_timestamp(CAST(ts AS DOUBLE)) AS ts, "id.orig_h" AS client,
        TRY_CAST("id.orig_p" AS USMALLINT) AS client_port, "id.resp_h" AS server,
        lower(query) AS qname, TRY_CAST(qtype AS USMALLINT) AS qtype,
        TRY_CAST(rcode AS UTINYINT) AS rcode, string_split(answers, ',') AS answers,
        proto AS transport
        FROM read_csv(?, delim='\t', header=false, comment='#', quote='', escape='',
                      auto_detect=false, columns={_ZEEK_COLS})""",
    "zeek-json": """SELECT to_timestamp(ts) AS ts, "id.orig_h" AS client,
        "id.orig_p" AS client_port, "id.resp_h" AS server, lower(query) AS qname, qtype,
        rcode, answers, proto AS transport
        FROM read_json(?, format='newline_delimited')""",
    "bind": f"""SELECT regexp_extract(line, '{_BIND_RE}',
        ['client', 'port', 'qname', 'qclass', 'qtype', 'flags', 'server']) AS m
        FROM read_csv(?, delim='\t', header=false, quote='', escape='', auto_detect=false,
                      columns={{'line': 'VARCHAR'}})""",
    "parquet": "SELECT * FROM read_parquet(?)",
    "csv": "SELECT * FROM read_csv(?)",
    "ndjson": "SELECT * FROM read_json(?, format='newline_delimited')",
}


def cpu_time(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeat):
        start = time.process_time()
        rows = fn()
        best = min(best, time.process_time() - start)
    return best, rows


def read_ours(path: Path, fmt: str) -> int:
    rows = 0
    for chunk in read_path(path, fmt):
        if chunk.batch is not None:
            rows += chunk.batch.num_rows
    return rows


def read_duckdb(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> int:
    result = con.sql(DUCKDB_SQL[fmt], params=[str(path)]).to_arrow_table()
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    return int(table.num_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--formats", default=",".join(FILE_NAMES))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    base = make_table(args.rows)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            table = base.slice(0, int(args.rows * ROW_SHARE.get(fmt, 1.0)))
            path = Path(tmp) / FILE_NAMES[fmt]
            WRITERS[fmt](table, path)
            ours_s, ours_rows = cpu_time(lambda p=path, f=fmt: read_ours(p, f), args.repeat)
            entry: dict[str, object] = {
                "format": fmt, "rows": ours_rows, "bytes": path.stat().st_size,
                "cpu_s": round(ours_s, 3), "rows_per_s": round(ours_rows / ours_s)}
            if fmt in DUCKDB_SQL:
                duck_s, duck_rows = cpu_time(lambda p=path, f=fmt: read_duckdb(con, p, f),
                                             args.repeat)
                entry |= {"duckdb_rows": duck_rows, "duckdb_cpu_s": round(duck_s, 3),
                          "duckdb_rows_per_s": round(duck_rows / duck_s),
                          "ratio_to_duckdb": round((ours_rows / ours_s) / (duck_rows / duck_s),
                                                   2)}
            results.append(entry)
    report(results, args.json)


def report(results: list[dict[str, object]], as_json: bool) -> None:
    note = ("CPU time per core: pyarrow cpu_count=1, io_thread_count=1; DuckDB threads=1; "
            "best of the runs; pcap rows are transactions (2 packets each)")
    if as_json:
        print(json.dumps({"note": note, "results": results}, indent=2))
        return
    print(note)
    print(f"{'format':<10} {'rows':>9} {'rows/s/core':>12} {'duckdb rows/s':>14} {'ratio':>6}")
    for r in results:
        print(f"{r['format']:<10} {r['rows']:>9} {r['rows_per_s']:>12,} "
              f"{r.get('duckdb_rows_per_s', 'n/a'):>14} {r.get('ratio_to_duckdb', 'n/a'):>6}")


if __name__ == "__main__":
    main()
