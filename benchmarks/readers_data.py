"""Benchmark data for the file readers: one realistic `dns` table written in every format.

Names are popular domains (with www./mail. prefixes), DGA names answered NXDOMAIN, and
some AAAA/TXT/MX queries; answers are A/AAAA addresses. The writers here are deliberately
simple and independent of the readers under test (and of bluelamp.simulate, so the
benchmark runs on its own).
"""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bluelamp.resources import benign_domains, dga_names
from bluelamp.schema import DNS

START_S = 1_763_700_000.0
QTYPES = {"A": 1, "AAAA": 28, "TXT": 16, "MX": 15}


def make_table(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    good = [("www." if i % 3 == 0 else "") + d for i, d in
            enumerate(list(benign_domains("top"))[:20_000])]
    bad = [name for _family, name in dga_names()[:5_000]]
    is_bad = rng.random(rows) < 0.1
    names = np.where(is_bad, np.array(bad, dtype=object)[rng.integers(0, len(bad), rows)],
                     np.array(good, dtype=object)[rng.integers(0, len(good), rows)])
    qtype = rng.choice(np.array([1, 1, 1, 28, 28, 16, 15]), rows)
    rcode = np.where(is_bad, 3, 0)
    ts = START_S + np.cumsum(rng.exponential(0.001, rows))
    clients = [f"10.{i // 250}.{i % 250}.{1 + i % 200}" for i in range(2_000)]
    client = np.array(clients, dtype=object)[rng.integers(0, len(clients), rows)]
    answers = [None if r else ([f"198.51.100.{1 + i % 250}"] if t != 28 else ["2001:db8::53"])
               for i, (r, t) in enumerate(zip(rcode.tolist(), qtype.tolist(), strict=True))]
    return DNS.conform(pa.table({
        "ts": pa.array((ts * 1e6).astype(np.int64)).cast(DNS.field("ts").type),
        "client": pa.array(client, pa.string()),
        "client_port": pa.array(rng.integers(1024, 65535, rows), pa.uint16()),
        "server": pa.array(["10.255.0.53"] * rows, pa.string()),
        "qname": pa.array(names, pa.string()),
        "qtype": pa.array(qtype, pa.uint16()),
        "rcode": pa.array(rcode, pa.uint8()),
        "answers": pa.array(answers, pa.list_(pa.string())),
        "ttl": pa.array([None if a is None else 300 for a in answers], pa.uint32()),
        "transport": pa.array(["udp"] * rows, pa.string()),
    }))


# ------------------------------------------------------------------------------- writers
ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name",
               "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs",
               "rejected"]
NAMES = {v: k for k, v in QTYPES.items()}


def write_zeek(table: pa.Table, path: Path) -> None:
    head = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
            "#path\tdns\n#fields\t" + "\t".join(ZEEK_FIELDS) + "\n#types\t"
            + "\t".join("string" for _ in ZEEK_FIELDS) + "\n")
    with path.open("w") as out:
        out.write(head)
        for r in table.to_pylist():
            ans = ",".join(r["answers"]) if r["answers"] else "-"
            ttls = ",".join(f"{r['ttl']}.000000" for _ in r["answers"]) if r["answers"] else "-"
            out.write(f"{r['ts'].timestamp():.6f}\tCx1\t{r['client']}\t{r['client_port']}\t"
                      f"{r['server']}\t53\tudp\t4711\t0.000321\t{r['qname']}\t1\tC_INTERNET\t"
                      f"{r['qtype']}\t{NAMES[r['qtype']]}\t{r['rcode']}\t"
                      f"{dns.rcode.to_text(r['rcode'])}\tF\tF\tT\tT\t0\t{ans}\t{ttls}\tF\n")


def write_zeek_json(table: pa.Table, path: Path) -> None:
    with path.open("w") as out:
        for r in table.to_pylist():
            obj = {"ts": r["ts"].timestamp(), "uid": "Cx1", "id.orig_h": r["client"],
                   "id.orig_p": r["client_port"], "id.resp_h": r["server"], "id.resp_p": 53,
                   "proto": "udp", "trans_id": 4711, "query": r["qname"], "qclass": 1,
                   "qtype": r["qtype"], "qtype_name": NAMES[r["qtype"]], "rcode": r["rcode"],
                   "RD": True}
            if r["answers"]:
                obj["answers"] = r["answers"]
                obj["TTLs"] = [float(r["ttl"])] * len(r["answers"])
            out.write(json.dumps(obj, separators=(",", ":")) + "\n")


def write_bind(table: pa.Table, path: Path) -> None:
    with path.open("w") as out:
        for r in table.to_pylist():
            stamp = r["ts"].strftime("%d-%b-%Y %H:%M:%S.") + f"{r['ts'].microsecond // 1000:03d}"
            out.write(f"{stamp} queries: info: client @0x7f3a2c0d8e10 {r['client']}#"
                      f"{r['client_port']} ({r['qname']}): query: {r['qname']} IN "
                      f"{NAMES[r['qtype']]} +E(0)K ({r['server']})\n")


def write_tabular(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    text = table.set_column(table.schema.get_field_index("answers"), "answers", pa.array(
        [None if a is None else ";".join(a) for a in table.column("answers").to_pylist()],
        pa.string()))
    if fmt == "csv":
        pacsv.write_csv(text, path)
        return
    with path.open("w") as out:
        for row in DNS.to_json_rows(table):
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def write_pcap(table: pa.Table, path: Path) -> None:
    """Ethernet/IPv4/UDP, one query and one response packet per row."""
    templates: dict[tuple[str, int, int], tuple[bytes, bytes]] = {}
    frames = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    for i, r in enumerate(table.to_pylist()):
        key = (r["qname"], r["qtype"], r["rcode"])
        if key not in templates:
            templates[key] = _wire_pair(*key, r["answers"] or [])
        q, a = templates[key]
        dns_id = struct.pack("!H", i & 0xFFFF)
        client, server = socket.inet_aton(r["client"]), socket.inet_aton(r["server"])
        t = r["ts"].timestamp()
        for msg, src, dst, sport, dport, dt in ((q, client, server, r["client_port"], 53, 0.0),
                                                (a, server, client, 53, r["client_port"],
                                                 0.0003)):
            body = dns_id + msg[2:]
            udp = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src,
                             dst) + udp
            sec = int(t + dt)
            frames.append(struct.pack("<IIII", sec, int((t + dt - sec) * 1e6), len(ip) + 14,
                                      len(ip) + 14) + eth + ip)
    path.write_bytes(b"".join(frames))


def _wire_pair(name: str, qtype: int, rcode: int, answers: list[str]) -> tuple[bytes, bytes]:
    q = dns.message.make_query(name, qtype)
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if answers and qtype in (1, 28):
        r.answer.append(dns.rrset.from_text(name + ".", 300, "IN", qtype, *answers))
    return q.to_wire(), r.to_wire()


WRITERS = {
    "zeek": write_zeek, "zeek-json": write_zeek_json, "bind": write_bind, "pcap": write_pcap,
    "parquet": lambda t, p: write_tabular(t, p, "parquet"),
    "csv": lambda t, p: write_tabular(t, p, "csv"),
    "ndjson": lambda t, p: write_tabular(t, p, "ndjson"),
}
