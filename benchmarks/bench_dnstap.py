"""dnstap file reader throughput, against a per-message google.protobuf + dnspython baseline.

Run:  python benchmarks/bench_dnstap.py [--transactions 200000] [--json]

It writes a Frame Streams file of CLIENT_QUERY + CLIENT_RESPONSE pairs (as Unbound logs
them; a second file holds only the responses) for realistic names (popular domains, DGA
names, NXDOMAIN, CNAME chains, AAAA), then times `bluelamp.sources.base.read_path` over
each whole file, and the baseline (google.protobuf parse + dnspython `from_wire` per frame)
on a sample of the same frames.
Target: >= 500k dnstap messages per second per core. Both are timed in CPU time of this
(single-threaded) process, so "per core" holds even when other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset

from bluelamp.resources import benign_domains, dga_names
from bluelamp.sources.base import read_path
from bluelamp.sources.dnstap import DnstapMessage, encode_dnstap
from bluelamp.sources.dnstap_pb import classes
from bluelamp.sources.fstrm import FrameWriter, read_frames

START_US = 1_763_700_000_000_000


def _templates(rng: random.Random, count: int) -> list[tuple[bytes, bytes]]:
    """Distinct (query, response) wire pairs: mostly popular names answered with A/AAAA
    and CNAME chains, some DGA names answered NXDOMAIN."""
    good = list(benign_domains("top"))[: count]
    bad = [name for _family, name in dga_names()[: count // 5]]
    pairs = []
    for name in good:
        qtype = rng.choice(["A", "A", "A", "AAAA", "HTTPS"])
        q = dns.message.make_query("www." + name, qtype)
        r = dns.message.make_response(q)
        owner = "www." + name + "."
        if rng.random() < 0.3:
            r.answer.append(dns.rrset.from_text(owner, 300, "IN", "CNAME", "edge." + name + "."))
            owner = "edge." + name + "."
        if qtype == "A":
            r.answer.append(dns.rrset.from_text(owner, rng.randint(30, 3600), "IN", "A",
                                                *[f"198.51.100.{rng.randint(1, 254)}"
                                                  for _ in range(rng.randint(1, 3))]))
        elif qtype == "AAAA":
            r.answer.append(dns.rrset.from_text(owner, 300, "IN", "AAAA", "2001:db8::53"))
        pairs.append((q.to_wire(), r.to_wire()))
    for name in bad:
        q = dns.message.make_query(name, "A")
        r = dns.message.make_response(q)
        r.set_rcode(dns.rcode.NXDOMAIN)
        pairs.append((q.to_wire(), r.to_wire()))
    return pairs


def make_file(path: Path, transactions: int, seed: int = 7, *, queries: bool = True) -> int:
    """Write `transactions` query/response pairs (only the responses if not `queries`);
    return the number of dnstap frames."""
    rng = random.Random(seed)
    pairs = _templates(rng, 3000)
    clients = [bytes([10, 0, rng.randint(0, 255), rng.randint(1, 254)]) for _ in range(500)]
    server = bytes([10, 0, 0, 53])
    with path.open("wb") as out:
        writer = FrameWriter(out)
        frames = []
        for i in range(transactions):
            query, resp = rng.choice(pairs)
            ident = rng.randint(0, 0xFFFF).to_bytes(2, "big")
            query, resp = ident + query[2:], ident + resp[2:]
            t = START_US + i * 1000
            common = {"query_address": rng.choice(clients), "response_address": server,
                      "query_port": rng.randint(1024, 65535), "response_port": 53}
            if queries:
                frames.append(encode_dnstap(DnstapMessage(5, query_time_us=t,
                                                          query_message=query, **common),
                                            identity=b"resolver-1"))
            frames.append(encode_dnstap(DnstapMessage(6, query_time_us=t,
                                                      response_time_us=t + 800,
                                                      response_message=resp, **common),
                                        identity=b"resolver-1"))
        writer.write_many(frames)
        writer.close()
    return len(frames)


def bench_reader(path: Path, frames: int, repeat: int = 3) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        rows = sum(c.batch.num_rows for c in read_path(path) if c.batch is not None)
        best = min(best, time.process_time() - t0)
    return frames / best, rows


def bench_baseline(path: Path, sample: int) -> float:
    """Per-message decode with google.protobuf and dnspython (what the bulk reader
    replaces)."""
    dnstap_cls, _ = classes()
    payloads: list[bytes] = []
    with path.open("rb") as f:
        for item in read_frames(f, batch_size=sample):
            if not isinstance(item, Exception):
                payloads = [item.data[s:e] for s, e in zip(item.starts, item.ends, strict=True)]
                break
    t0 = time.process_time()
    for raw in payloads:
        d = dnstap_cls.FromString(raw)
        m = d.message
        wire = m.response_message if m.HasField("response_message") else m.query_message
        msg = dns.message.from_wire(wire)
        q = msg.question[0]
        _ = (q.name.to_text(True).lower(), q.rdtype, msg.rcode(),
             [rr.to_text() for rrset in msg.answer for rr in rrset])
    return len(payloads) / (time.process_time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=200_000)
    ap.add_argument("--baseline-sample", type=int, default=20_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.dnstap"
        frames = make_file(path, args.transactions)
        rate, rows = bench_reader(path, frames)
        base = bench_baseline(path, args.baseline_sample)
        only = Path(tmp) / "responses.dnstap"
        r_frames = make_file(only, args.transactions, queries=False)
        r_rate, _ = bench_reader(only, r_frames)
    result = {"frames": frames, "rows": rows,
              "reader_messages_per_s_per_core": round(rate),
              # a resolver logging only responses: every frame needs a full DNS decode
              "reader_responses_only_messages_per_s_per_core": round(r_rate),
              "baseline_protobuf_dnspython_messages_per_s": round(base),
              "speedup": round(rate / base, 1), "target_messages_per_s": 500_000}
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:45s} {v}")


if __name__ == "__main__":
    main()
