"""`bluelamp listen` as a process, fed by a Python Frame Streams sender (no resolver needed):
findings stream out while it runs, SIGINT flushes and writes everything, a dropped
connection and a reconnect lose nothing, bad frames are reported with their location."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import dns.message
import dns.rrset
import pyarrow.parquet as pq
import pytest
from unbound_harness import free_port, start_listen

from bluelamp.sources.dnstap import DnstapMessage, encode_dnstap
from bluelamp.sources.fstrm import FrameSender, connect

pytestmark = [pytest.mark.timeout(90)]


def _frames(name: str, i: int) -> list[bytes]:
    q = dns.message.make_query(name, "A")
    q.id = i
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(name + ".", 30, "IN", "A", "192.0.2.9"))
    now = time.time_ns() // 1000
    common = {"query_address": bytes([10, 1, 0, i % 250 + 1]), "query_port": 2000 + i,
              "response_address": b"\x7f\x00\x00\x01", "query_time_us": now}
    return [encode_dnstap(DnstapMessage(5, query_message=q.to_wire(), **common),  # type: ignore[arg-type]
                          identity=b"py-sender"),
            encode_dnstap(DnstapMessage(6, response_message=r.to_wire(),  # type: ignore[arg-type]
                                        response_time_us=now + 100, **common),
                          identity=b"py-sender")]


def _connect(address: str, deadline: float) -> FrameSender:
    while True:
        try:
            return FrameSender(connect(address))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_listen_tcp_sigint_flushes_everything(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    listed = tmp_path / "list.txt"
    listed.write_text("bad.example\n")
    address = f"tcp:127.0.0.1:{free_port()}"
    checkpoint = tmp_path / "listen.ckpt"
    proc = start_listen(["--dnstap", address, "--lake", str(lake), "--json",
                         "--indicators", str(listed), "--window", "1h",
                         "--lake-interval", "3600", "--checkpoint", str(checkpoint)],
                        tmp_path)
    try:
        sender = _connect(address, time.monotonic() + 30)
        names = [f"n{i}.example" for i in range(40)] + ["bad.example"]
        for i, name in enumerate(names[:20]):
            sender.send(_frames(name, i))
        sender.sock.close()  # dropped without STOP, like a crashed resolver
        sender = _connect(address, time.monotonic() + 10)
        for i, name in enumerate(names[20:], start=20):
            sender.send(_frames(name, i))
        sender.send([b"\x08\x01garbage"])  # a bad frame: reported, not fatal
        sender.close()
        time.sleep(1.0)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # the 1 h window only closes at exit: SIGINT must close it and print its finding
    findings = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [f["detector"] for f in findings] == ["indicator-match"]
    assert findings[0]["subject"] == "10.1.0.41"
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["connections"] == 2 and summary["rows"] == len(names)
    assert summary["written"] == len(names) and summary["errors"] == 1
    assert "connection 2" in err and "bad input" in err
    rows = pq.read_table(sorted(lake.glob("kind=dns/**/*.parquet"))).to_pylist()
    assert sorted(r["qname"] for r in rows) == sorted(names)
    assert {r["sensor"] for r in rows} == {"py-sender"}
    assert list(lake.glob("kind=finding/**/*.parquet"))
    saved = json.loads(checkpoint.read_text())  # written on exit, after the lake writes
    assert saved["metrics"]["rows"] == len(names)
