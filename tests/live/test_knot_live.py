"""An authoritative server (Knot DNS, as a registry runs) sending dnstap to `bluelamp listen`:
AUTH_QUERY/AUTH_RESPONSE become one row per answered query."""

from __future__ import annotations

import glob
import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import dns.rcode
import pyarrow.parquet as pq
import pytest
from unbound_harness import Knot, require_binary, start_listen

pytestmark = [pytest.mark.system, pytest.mark.timeout(90)]


def test_knot_auth_traffic_becomes_rows(tmp_path: Path) -> None:
    binary = require_binary("/usr/sbin/knotd", "knot")
    if not glob.glob("/usr/lib/*/knot/modules-*/dnstap.so"):
        pytest.skip("Knot DNS dnstap module not installed (Debian package knot-module-dnstap)")
    short = Path(tempfile.mkdtemp(prefix="bl-knot-"))  # Unix socket paths are short
    knot = Knot(binary, tmp_path, short, short / "dnstap.sock")
    lake = tmp_path / "lake"
    proc = start_listen(["--dnstap", f"unix:{knot.socket}", "--lake", str(lake), "--json"],
                        tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not knot.socket.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "listen did not start"
            time.sleep(0.05)
        knot.start()
        sent = {"www.reg.test": dns.rcode.NOERROR, "shop.reg.test": dns.rcode.NOERROR,
                "nx.reg.test": dns.rcode.NXDOMAIN}
        for name, rcode in sent.items():
            assert knot.query(name).rcode() == rcode
        time.sleep(1.0)
        knot.stop()
        time.sleep(0.5)
    finally:
        knot.stop()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        shutil.rmtree(short, ignore_errors=True)
    assert proc.returncode == 0, err
    assert json.loads(err.strip().splitlines()[-1])["connections"] >= 1
    rows = pq.read_table(sorted(lake.glob("kind=dns/**/*.parquet"))).to_pylist()
    by_name = {r["qname"]: r for r in rows if r["qname"] != "ns1.reg.test"}
    assert set(by_name) == set(sent), "one row per answered query, readiness probes aside"
    assert [r["qname"] for r in rows].count("www.reg.test") == 1
    www, shop, nx = by_name["www.reg.test"], by_name["shop.reg.test"], by_name["nx.reg.test"]
    assert www["answers"] == ["192.0.2.80"] and www["ttl"] == 300 and www["rcode"] == 0
    assert shop["answers"] == ["www.reg.test", "192.0.2.80"]
    assert nx["rcode"] == 3 and nx["answers"] == []
    assert {r["sensor"] for r in rows} == {"ns1-test"}
    assert all(r["server"] == "127.0.0.1" and r["transport"] == "udp" for r in rows)
