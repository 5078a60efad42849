"""Harness for the live tests: a real Unbound on 127.0.0.1 that sends dnstap to a socket,
and `bluelamp listen` as a subprocess. Unbound answers from local-zone/local-data only, so no
internet is needed."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import dns.message
import dns.rcode

from servers import ask, start_unbound, stop_server, unbound_conf, wait_for_dns


def _root_conftest() -> ModuleType:
    """tests/conftest.py under its own name (this file is also called conftest)."""
    path = Path(__file__).parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("bluelamp_tests_root_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


free_port = _root_conftest().free_port
require_binary = _root_conftest().require_binary

LAB_DATA = [
    "verbosity: 1",
    "log-queries: yes",
    "log-replies: yes",
    'module-config: "iterator"',
    "num-threads: 1",
    'local-zone: "lab.test." static',
    'local-data: "www.lab.test. 300 IN A 192.0.2.10"',
    'local-data: "www.lab.test. 300 IN AAAA 2001:db8::10"',
    'local-data: "evil.lab.test. 60 IN A 192.0.2.66"',
    'local-data: "alias.lab.test. 120 IN CNAME www.lab.test."',
    "local-data: 'note.lab.test. 30 IN TXT \"hello lab\"'",
]

DNSTAP_CLAUSE = """\
dnstap:
    dnstap-enable: yes
    dnstap-bidirectional: yes
    {target}
    dnstap-send-identity: yes
    dnstap-identity: "unbound-test"
    dnstap-send-version: yes
    dnstap-log-client-query-messages: yes
    dnstap-log-client-response-messages: yes
"""

# "info: 127.0.0.1 nx1.lab.test. A IN NXDOMAIN 0.000000 1 30"
__all__ = ["Knot", "Unbound", "free_port", "rcode_text", "require_binary", "start_listen"]

REPLY_LINE = re.compile(r"info: \S+ (\S+)\. (\S+) IN ([A-Z]+) [\d.]+ \d+ \d+$")
# "info: 127.0.0.1 nx1.lab.test. A IN"
QUERY_LINE = re.compile(r"info: \S+ (\S+)\. (\S+) IN$")


@dataclass
class Unbound:
    """One Unbound instance; `restart()` stops and starts it with the same config."""

    binary: str
    workdir: Path
    socket: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: send dnstap over TCP to this port instead of the Unix socket
    dnstap_tcp_port: int | None = None

    @property
    def listen_address(self) -> str:
        """What `bluelamp listen --dnstap` must be given."""
        if self.dnstap_tcp_port is not None:
            return f"tcp:127.0.0.1:{self.dnstap_tcp_port}"
        return f"unix:{self.socket}"

    def start(self) -> None:
        conf = self.workdir / "unbound.conf"
        target = (f'dnstap-ip: "127.0.0.1@{self.dnstap_tcp_port}"\n    dnstap-tls: no'
                  if self.dnstap_tcp_port is not None
                  else f'dnstap-socket-path: "{self.socket}"')
        conf.write_text(unbound_conf(
            self.port, self.workdir, server=LAB_DATA, clauses=DNSTAP_CLAUSE.format(target=target),
            logfile=f"{self.workdir}/unbound.log", pidfile=f"{self.workdir}/unbound.pid"))
        self.proc = start_unbound(self.binary, conf, self.port)

    def stop(self) -> None:
        stop_server(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def query(self, name: str, rdtype: str = "A") -> dns.message.Message:
        return ask(self.port, name, rdtype, timeout=3)

    def logged_replies(self) -> list[tuple[str, str, str]]:
        """(qname, qtype, rcode) of every reply Unbound logged (log-replies)."""
        text = (self.workdir / "unbound.log").read_text()
        return [m.groups() for m in map(REPLY_LINE.search, text.splitlines()) if m]

    def logged_queries(self) -> list[tuple[str, str]]:
        """(qname, qtype) of every query Unbound logged (log-queries)."""
        text = (self.workdir / "unbound.log").read_text()
        return [m.groups() for m in map(QUERY_LINE.search, text.splitlines()) if m]


def start_listen(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """`bluelamp listen ARGS` in a child process (stdout: findings as JSON lines)."""
    code = "import sys; from bluelamp.cli import main; sys.argv[0] = 'bluelamp'; main()"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-c", code, "listen", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rcode_text(msg: dns.message.Message) -> str:
    return dns.rcode.to_text(msg.rcode())


KNOT_CONF = """\
server:
    listen: 127.0.0.1@{port}
    rundir: {rundir}
database:
    storage: {dir}/db
mod-dnstap:
  - id: bluelamp
    sink: unix:{socket}
    identity: ns1-test
    log-queries: on
    log-responses: on
template:
  - id: default
    storage: {dir}
    global-module: mod-dnstap/bluelamp
zone:
  - domain: reg.test
    file: reg.test.zone
"""

REG_ZONE = """\
$ORIGIN reg.test.
$TTL 300
@        SOA   ns1 hostmaster 1 3600 600 86400 300
@        NS    ns1
ns1      A     192.0.2.53
www      A     192.0.2.80
shop     CNAME www
"""


@dataclass
class Knot:
    """Knot DNS serving reg.test (a registry zone) with dnstap to `socket`."""

    binary: str
    workdir: Path
    rundir: Path
    socket: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.workdir / "reg.test.zone").write_text(REG_ZONE)
        conf = self.workdir / "knot.conf"
        conf.write_text(KNOT_CONF.format(port=self.port, dir=self.workdir, rundir=self.rundir,
                                         socket=self.socket))
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_for_dns(self.proc, self.port, "ns1.reg.test", name="knotd", query_timeout=2)

    def query(self, name: str, rdtype: str = "A") -> dns.message.Message:
        return ask(self.port, name, rdtype)

    def stop(self) -> None:
        stop_server(self.proc)
        self.proc = None
