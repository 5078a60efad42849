"""Live-feed performance: (1) matching a table of events against 1,000 subscribers' filters
(vectorised, `bluelamp.act.feeds.matching`), beside a plain per-event × per-subscription
loop on a sample; (2) event → subscriber latency through a real uvicorn on 127.0.0.1: from
the lake write to the SSE message and to the webhook POST, beside a bare loopback POST to
the same receiver as the baseline.

    python benchmarks/bench_matching.py --events 200000 --subscribers 1000 --latency-events 30

Events are synthetic: a quarter fall inside some subscriber's networks, ASNs or domains.
Each subscriber has two IPv4 networks (/20, /24), one IPv6 /48, one ASN, one domain, and
half of them a type filter and a minimum confidence.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import ipaddress
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pyarrow as pa
import uvicorn

from bluelamp.act.feeds import tlp
from bluelamp.act.feeds.matching import Filter, Matcher
from bluelamp.schema import EVENT
from bluelamp.settings import Settings
from bluelamp.store.db import make_engine, session_factory, transaction, upgrade
from bluelamp.store.lake import Lake
from bluelamp.web import accounts, orgs
from bluelamp.web.app import create_app

TYPES = ["infected-system", "c2-server", "phishing", "spam", "scanner"]
LEVELS = ["clear", "green", "amber", "amber+strict", "red"]


def subscribers(n: int) -> list[Filter]:
    out = []
    for i in range(n):
        a, b = divmod(i, 250)
        out.append(Filter(
            key=i, networks=(f"10.{a}.{b}.0/24", f"172.{16 + i % 16}.{(i * 16) % 256}.0/20",
                             f"2001:db8:{i:x}::/48"),
            asns=(64512 + i,), domains=(f"org{i}.example",),
            types=tuple(TYPES[i % 5: i % 5 + 2]) if i % 2 else (),
            min_confidence=0.3 if i % 2 else 0.0, clearance="amber"))
    return out


def events(n: int, subs: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 8, n)  # 0: v4 in scope, 1: ASN, 2: domain, 3: v6, others: outside
    who = rng.integers(0, subs, n)
    a, b = np.divmod(who, 250)
    host = rng.integers(1, 255, n)
    ips = np.where(kind == 0, np.char.add(np.char.add(np.char.add(
        "10.", a.astype(str)), np.char.add(".", b.astype(str))), np.char.add(".", host.astype(
            str))), np.char.add("203.0.", np.char.add(rng.integers(0, 255, n).astype(str),
                                                        np.char.add(".", host.astype(str)))))
    ips = ips.astype(object)
    v6 = kind == 3
    ips[v6] = [f"2001:db8:{w:x}::{h:x}" for w, h in zip(who[v6], host[v6], strict=True)]
    fqdn = np.where(kind == 2, np.char.add(np.char.add("www.org", who.astype(str)), ".example"),
                    np.char.add(np.char.add("h", host.astype(str)), ".elsewhere.example"))
    asn = np.where(kind == 1, 64512 + who, 65000 + rng.integers(0, 400, n) + 10_000)
    now = dt.datetime.now(dt.UTC)
    return EVENT.conform(pa.table({
        "id": pa.array([f"e{i}" for i in range(n)]),
        "time_observed": pa.array(np.full(n, np.datetime64(now.replace(tzinfo=None), "us")),
                                  pa.timestamp("us", tz="UTC")),
        "feed_name": pa.array(["bench"] * n),
        "source_ip": pa.array(ips.tolist(), pa.string()),
        "source_fqdn": pa.array(fqdn.tolist(), pa.string()),
        "source_asn": pa.array(asn, pa.uint32()),
        "classification_type": pa.array(rng.choice(TYPES, n)),
        "confidence": pa.array(rng.random(n)),
        "tlp": pa.array(rng.choice(LEVELS, n, p=[0.3, 0.3, 0.3, 0.05, 0.05])),
    }))


def naive(table: pa.Table, filters: list[Filter]) -> int:
    """The obvious loop, per event and per subscription (the baseline)."""
    nets = [[ipaddress.ip_network(n) for n in f.networks] for f in filters]
    found = 0
    for e in table.to_pylist():
        rank = tlp.RANK.get(str(e["tlp"] or "amber"), 99)
        ip = ipaddress.ip_address(e["source_ip"]) if e["source_ip"] else None
        for f, fnets in zip(filters, nets, strict=True):
            inside = ((ip is not None and any(ip.version == n.version and ip in n for n in fnets))
                      or e["source_asn"] in f.asns
                      or any(e["source_fqdn"] == d or str(e["source_fqdn"]).endswith("." + d)
                             for d in f.domains))
            if (inside and rank <= tlp.RANK[f.clearance]
                    and (e["confidence"] or 0) >= f.min_confidence
                    and (not f.types or e["classification_type"] in f.types)):
                found += 1
    return found


def bench_matching(n: int, subs: int) -> None:
    filters = subscribers(subs)
    table = events(n, subs)
    t0 = time.perf_counter()
    matcher = Matcher(filters)
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        matches = matcher.match(table)
        times.append(time.perf_counter() - t0)
    best, median = min(times), statistics.median(times)
    print(f"matching: {n:,} events x {subs:,} subscribers: {matches.num_rows:,} deliveries; "
          f"compile {compile_s * 1000:.0f} ms; match median {median:.3f} s "
          f"= {n / median:,.0f} events/s (best {n / best:,.0f} events/s)")
    sample = table.slice(0, 2000)
    t0 = time.perf_counter()
    base = naive(sample, filters)
    slow = time.perf_counter() - t0
    fast = matcher.match(sample).num_rows
    print(f"baseline (per-event x per-subscription loop, 2,000 events): {2000 / slow:,.0f} "
          f"events/s; same deliveries as vectorised: {base == fast} ({base})")


# ------------------------------------------------------------------------------ latency

class Receiver(http.server.BaseHTTPRequestHandler):
    arrivals: ClassVar[list[tuple[float, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.arrivals.append((time.monotonic(), body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _serve_app(settings: Settings, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def _database(db_url: str) -> str:
    """Migrated database with one subscriber organisation; returns its API token."""
    engine = make_engine(db_url)
    upgrade(engine)
    with transaction(session_factory(engine)) as db:
        org = orgs.create_org(db, "bench", "Bench Co")
        orgs.claim(db, "bench", org, "network", "198.51.100.0/24").status = "verified"
        accounts.create_user(db, "bench", "sub@bench.example", "subscriber", "x" * 20,
                             "Bench Co")
        token = accounts.create_token(db, "bench", "sub@bench.example")
    engine.dispose()
    return token


def _subscribe(base: str, token: str, hook: str) -> int:
    """An SSE-read subscription and a webhook one; returns the first's id."""
    headers = {"authorization": f"Bearer {token}"}
    sse = httpx.post(f"{base}/api/subscriptions", headers=headers,
                     json={"name": "sse"}).json()["id"]
    httpx.post(f"{base}/api/subscriptions", headers=headers,
               json={"name": "hook", "channel": "webhook", "webhook_url": hook})
    return int(sse)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_latency(count: int, poll: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-matching-"))
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    port = _free_port()
    settings = Settings.model_validate({
        "database": {"url": f"sqlite:///{tmp / 'b.db'}"}, "lake": {"path": str(tmp / "lake")},
        "sharing": {"poll_seconds": poll, "webhook_allow_private": True}})
    lake = Lake(tmp / "lake")
    base = f"http://127.0.0.1:{port}"
    token = _database(settings.database.url)
    engine_ready = _serve_app(settings, port)
    sse_id = _subscribe(base, token, hook)
    got: dict[str, float] = {}

    def listen() -> None:
        with httpx.stream("GET", f"{base}/api/subscriptions/{sse_id}/stream",
                          headers={"authorization": f"Bearer {token}"}, timeout=None) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    for e in json.loads(line[6:]):
                        got[e["id"]] = time.monotonic()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)
    sent: dict[str, float] = {}
    for i in range(count):
        eid = f"lat-{i}"
        row = {"id": eid, "time_observed": dt.datetime.now(dt.UTC), "feed_name": "bench",
               "source_ip": f"198.51.100.{i % 250 + 1}", "tlp": "green"}
        sent[eid] = time.monotonic()
        lake.write("event", EVENT.from_rows([row]))
        time.sleep(0.25)
    time.sleep(3)
    sse = [got[k] - sent[k] for k in sent if k in got]
    hooks = {}
    for when, body in Receiver.arrivals:
        for e in json.loads(body)["events"]:
            hooks[e["id"]] = when
    wh = [hooks[k] - sent[k] for k in sent if k in hooks]
    baseline = []
    with httpx.Client() as client:
        for _ in range(count):
            t0 = time.monotonic()
            client.post(hook, content=b"{}")
            baseline.append(time.monotonic() - t0)
    print(f"latency (poll_seconds={poll}): event -> SSE median {statistics.median(sse):.3f} s, "
          f"max {max(sse):.3f} s ({len(sse)}/{count} received); event -> webhook median "
          f"{statistics.median(wh):.3f} s, max {max(wh):.3f} s ({len(wh)}/{count})")
    print(f"baseline: bare loopback POST to the same receiver median "
          f"{statistics.median(baseline) * 1000:.1f} ms")
    engine_ready.should_exit = True
    receiver.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-events", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.5)
    args = parser.parse_args()
    bench_matching(args.events, args.subscribers)
    if args.latency_events:
        bench_latency(args.latency_events, args.poll)


if __name__ == "__main__":
    main()
