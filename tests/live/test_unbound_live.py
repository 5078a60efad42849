"""End to end with a real resolver: Unbound → dnstap (bidirectional Frame Streams over a Unix
socket) → `bluelamp listen` → findings on stdout while it runs, rows in the lake; Unbound is
restarted mid-stream and nothing it logged may be missing."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pyarrow.parquet as pq
import pytest
from unbound_harness import Unbound, rcode_text, start_listen

from bluelamp.sources.fstrm import connect

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.timeout(120)]


def _wait_for(address: str, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    """Until listen accepts connections at `address` (unix:PATH or tcp:HOST:PORT)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            connect(address, timeout=1).close()
            return
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"listen exited early: {proc.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"{address} did not start listening")
        time.sleep(0.05)


def _read_findings(proc: subprocess.Popen[str], until: float) -> list[dict[str, object]]:
    """JSON lines from listen's stdout until a finding arrives or `until` passes."""
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    found: list[dict[str, object]] = []
    while time.monotonic() < until and not found:
        if sel.select(timeout=0.2):
            line = proc.stdout.readline()
            if line.strip():
                found.append(json.loads(line))
    return found


def _send(unbound: Unbound, names: list[tuple[str, str]], answered: Counter[tuple[str, str,
                                                                                 str]]) -> None:
    for name, rdtype in names:
        reply = unbound.query(name, rdtype)
        answered[(name, rdtype, rcode_text(reply))] += 1


def test_live_findings_and_nothing_lost_across_restart(unbound: Unbound, tmp_path: Path
                                                       ) -> None:
    lake = tmp_path / "lake"
    listed = tmp_path / "c2.txt"
    listed.write_text("# test list\nevil.lab.test\n")
    proc = start_listen(["--dnstap", unbound.listen_address, "--lake", str(lake), "--json",
                         "--indicators", str(listed), "--window", "2s", "--grace", "1s",
                         "--flush-interval", "0.2", "--lake-interval", "1"], tmp_path)
    try:
        _wait_for(unbound.listen_address, proc)
        unbound.start()
        answered: Counter[tuple[str, str, str]] = Counter()
        first = [("www.lab.test", "A"), ("www.lab.test", "AAAA"), ("alias.lab.test", "A"),
                 ("note.lab.test", "TXT"), ("evil.lab.test", "A")]
        first += [(f"nx{i}.lab.test", "A") for i in range(20)]
        _send(unbound, first, answered)

        # the indicator finding arrives while listen is still running
        findings = _read_findings(proc, time.monotonic() + 30)
        assert proc.poll() is None, "listen must still be running"
        assert findings, "no finding arrived live"
        hit = findings[0]
        assert hit["detector"] == "indicator-match" and hit["subject"] == "127.0.0.1"
        assert "evil.lab.test" in str(hit["evidence"])

        # restart the resolver mid-stream; listen must accept the new connection
        unbound.restart()
        second = [(f"after{i}.lab.test", "A") for i in range(30)] + [("www.lab.test", "A")]
        _send(unbound, second, answered)
        time.sleep(1.0)
        unbound.stop()  # Unbound flushes its dnstap queue and says STOP on exit
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    # one per Unbound process, plus our own readiness probe
    assert summary["connections"] >= 3, summary

    rows = pq.read_table(sorted(lake.glob("kind=dns/**/*.parquet"))).to_pylist() if list(
        lake.glob("kind=dns/**/*.parquet")) else []
    in_lake = Counter((r["qname"], dns.rdatatype.to_text(r["qtype"]),
                       dns.rcode.to_text(r["rcode"])) for r in rows if r["rcode"] is not None)
    logged = Counter(unbound.logged_replies())
    assert sum(answered.values()) == len(first) + len(second)
    ours = Counter({k: v for k, v in in_lake.items() if k[0] != "ready.invalid"})
    assert ours == answered, "every answered query must be a lake row, exactly once"
    # the readiness probes of each start are logged by Unbound too: they must be there
    assert in_lake == logged, "the lake must hold exactly what Unbound logged"
    asked = Counter(unbound.logged_queries())
    assert Counter((q, t) for q, t, _ in in_lake.elements()) == asked
    assert not [r for r in rows if r["rcode"] is None], "queries must pair with responses"
    www = next(r for r in rows if r["qname"] == "www.lab.test" and r["qtype"] == 1)
    assert www["answers"] == ["192.0.2.10"] and www["ttl"] == 300
    assert www["sensor"] == "unbound-test" and www["transport"] == "udp"
    assert www["client"] == "127.0.0.1"
    cname = next(r for r in rows if r["qname"] == "alias.lab.test")
    assert cname["answers"][0] == "www.lab.test"
    txt = next(r for r in rows if r["qname"] == "note.lab.test")
    assert txt["answers"] == ["hello lab"]
    nx = [r for r in rows if r["qname"].startswith("nx")]
    assert len(nx) == 20 and all(r["rcode"] == 3 for r in nx)
