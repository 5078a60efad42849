"""The RPZ zone loaded by a real Unbound on 127.0.0.1: listed domains (and names under them)
answer NXDOMAIN, unlisted ones still resolve, and the names of TLP:RED and AMBER+STRICT
events were never put in the zone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest
from typer.testing import CliRunner

from bluelamp.cli import app
from conftest import free_port, require_binary  # tests/conftest.py
from servers import start_unbound, stop_server, unbound_conf

ZONE = """$ORIGIN hosting.example.
$TTL 60
@ SOA localhost. hostmaster.localhost. 1 3600 600 86400 60
@ NS localhost.
ok A 192.0.2.10
login A 192.0.2.11
deep.login A 192.0.2.12
c2 A 192.0.2.13
red-secret A 192.0.2.14
strict-secret A 192.0.2.15
"""


@pytest.fixture
def unbound_with_rpz(tmp_path: Path, share_lake: Path) -> Iterator[int]:
    """Unbound resolving hosting.example from an auth-zone (as if from the internet), with
    the RPZ that `bluelamp share rpz` wrote from the shared lake."""
    binary = require_binary("/usr/sbin/unbound", "unbound")
    rpz = tmp_path / "bluelamp.rpz"
    result = CliRunner().invoke(app, ["share", "rpz", "--out", str(rpz), "--zone",
                                      "rpz.bluelamp.", "--lake", str(share_lake)])
    assert result.exit_code == 0, result.output
    (tmp_path / "hosting.zone").write_text(ZONE)
    port = free_port()
    conf = tmp_path / "unbound.conf"
    conf.write_text(unbound_conf(port, tmp_path, server=['module-config: "respip iterator"'],
                                 clauses=f"""auth-zone:
  name: "hosting.example."
  zonefile: "{tmp_path / 'hosting.zone'}"
  for-downstream: no
  for-upstream: yes
rpz:
  name: "rpz.bluelamp."
  zonefile: "{rpz}"
"""))
    # ready once the auth-zone resolves, not merely when the port answers
    proc = start_unbound(binary, conf, port, probe="ok.hosting.example",
                         ready=lambda reply: reply.rcode() == dns.rcode.NOERROR)
    try:
        yield port
    finally:
        stop_server(proc)


def _ask(port: int, name: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=2)


@pytest.mark.system
def test_unbound_refuses_listed_domains(unbound_with_rpz: int) -> None:
    port = unbound_with_rpz
    for name in ("login.hosting.example", "deep.login.hosting.example", "c2.hosting.example"):
        assert _ask(port, name).rcode() == dns.rcode.NXDOMAIN, name
    for name in ("ok.hosting.example", "red-secret.hosting.example",
                 "strict-secret.hosting.example"):
        answer = _ask(port, name)
        assert answer.rcode() == dns.rcode.NOERROR and answer.answer, name
