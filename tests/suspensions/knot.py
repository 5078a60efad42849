"""A real authoritative server for the registry zone: Debian's Knot DNS on 127.0.0.1, a free
port, a temporary `reg.test.` zone (a fake TLD: delegations with NS/DS/glue, and names held
directly as flat records), and an ACL that lets one TSIG key (hmac-sha256) update and
transfer the zone."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import dns.message

from conftest import free_port  # tests/conftest.py
from servers import ask, stop_server, wait_for_dns

ZONE = "reg.test"
KEY_NAME = "bluelamp-key"

REG_ZONE = """\
$ORIGIN reg.test.
$TTL 3600
@                SOA   ns1.nic.reg.test. hostmaster.reg.test. 2026010101 3600 600 86400 300
@                NS    ns1.nic
ns1.nic          A     192.0.2.53
; registered names, delegated to their own name servers (the registry model)
pharma-shop      NS    ns1.pharma-shop
pharma-shop      NS    ns.hosting.example.
pharma-shop      DS    12345 13 2 8f1c0a2e3f5d4b6a7c8e9f00112233445566778899aabbccddeeff0011223344
ns1.pharma-shop  A     198.51.100.10
ns1.pharma-shop  AAAA  2001:db8::10
fake-bank        NS    ns1.hosting.example.
fake-bank        NS    ns2.hosting.example.
; names held directly in the zone (the flat model)
shop        300  A     198.51.100.20
shop             AAAA  2001:db8::20
shop             MX    10 mail.shop
shop             TXT   "v=spf1 -all"
mail.shop        A     198.51.100.21
innocent         A     198.51.100.30
"""

KNOT_CONF = """\
server:
    listen: 127.0.0.1@{port}
    rundir: {rundir}
log:
  - target: stderr
    any: warning
database:
    storage: {dir}/db
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: bluelamp-update
    address: 127.0.0.1
    key: {key}
    action: [transfer, update]
template:
  - id: default
    storage: {dir}
zone:
  - domain: {zone}
    file: {zone}.zone
    acl: bluelamp-update
    dnssec-signing: {signing}
"""


@dataclass
class Knot:
    binary: str
    workdir: Path
    port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    signed: bool = False  # Knot signs the zone itself (automatic DNSSEC, default policy)
    proc: subprocess.Popen[bytes] | None = None
    rundir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bl-knot-")))

    def start(self) -> None:
        (self.workdir / "db").mkdir(exist_ok=True)  # Knot does not create its journal dir
        (self.workdir / f"{ZONE}.zone").write_text(REG_ZONE)
        conf = self.workdir / "knot.conf"
        conf.write_text(KNOT_CONF.format(port=self.port, rundir=self.rundir, dir=self.workdir,
                                         key=KEY_NAME, secret=self.secret, zone=ZONE,
                                         signing="on" if self.signed else "off"))
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_for_dns(self.proc, self.port, f"ns1.nic.{ZONE}", name="knotd", query_timeout=2,
                     ready=lambda reply: bool(reply.answer))

    def query(self, name: str, rdtype: str = "A") -> dns.message.Message:
        return ask(self.port, name, rdtype)

    def stop(self) -> None:
        stop_server(self.proc)
        self.proc = None
        shutil.rmtree(self.rundir, ignore_errors=True)
