"""Fixtures of the web tests: a real PostgreSQL 15 server, databases on both back-ends, an
app with a lake, users of every role, and a tiny authoritative DNS answer source.

The PostgreSQL fixture is self-contained so that it can move to tests/conftest.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bluelamp.schema import DNS, EVENT, FINDING
from bluelamp.settings import Settings
from bluelamp.store.db import make_engine, session_factory, transaction, upgrade
from bluelamp.store.lake import Lake
from bluelamp.store.models.accounts import Role
from bluelamp.web import accounts, orgs
from bluelamp.web.app import create_app
from conftest import free_port, require_binary  # tests/conftest.py (on sys.path under pytest)
from servers import start_unbound, stop_server, unbound_conf

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "correct horse battery staple"


# ----------------------------------------------------------------------------- PostgreSQL

def _as_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("postgres did not start listening")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL 15 on 127.0.0.1: yields a server URL without a database."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"{PG_BIN}/initdb not installed (Debian package postgresql-15)")
    prefix = _as_user()
    # Under /tmp (world-traversable) rather than pytest's 0700 tmp dir, so postgres can use it.
    data = Path(tempfile.mkdtemp(prefix="bluelamp-pg-"))
    if prefix:
        shutil.chown(data, "postgres")
    subprocess.run([*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-U", "bluelamp",
                    "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*prefix, str(PG_BIN / "postgres"), "-D", str(data), "-h",
                             "127.0.0.1", "-p", str(port), "-k", str(data), "-F",
                             "-c", "max_connections=200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc)
        yield f"postgresql://bluelamp@127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each back-end (one per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bluelamp.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = "t_" + uuid.uuid4().hex[:12]
    _admin(server, f"CREATE DATABASE {name}")
    yield f"{server}/{name}"
    _admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


# ----------------------------------------------------------------------------- lake

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def finding_rows() -> list[dict[str, object]]:
    return [
        {"id": "f-dga-1", "detector": "dga", "type": "dga-infected-client",
         "subject_kind": "client", "subject": "10.1.2.3", "score": 0.97,
         "first_seen": NOW - dt.timedelta(hours=5), "last_seen": NOW - dt.timedelta(hours=4),
         "count": 140, "evidence": '{"nx_ratio": 0.91, "sample": ["xkqjz.com", "pqwm.net"]}',
         "explanation": "Client 10.1.2.3 looked up 140 random-looking names, 91% NXDOMAIN.",
         "tlp": "amber"},
        {"id": "f-tun-1", "detector": "tunnel", "type": "dns-tunnel", "subject_kind": "domain",
         "subject": "t.evil.example", "score": 0.81,
         "first_seen": NOW - dt.timedelta(days=2), "last_seen": NOW - dt.timedelta(days=2),
         "count": 900, "evidence": '{"entropy": 4.7}',
         "explanation": "Long high-entropy labels under t.evil.example.", "tlp": "amber"},
        {"id": "f-beacon-1", "detector": "beacon", "type": "c2-beacon", "subject_kind": "client",
         "subject": "10.9.9.9", "score": 0.4, "first_seen": NOW - dt.timedelta(days=1),
         "last_seen": NOW - dt.timedelta(days=1), "count": 60, "evidence": "{}",
         "explanation": "Regular lookups every 60 s.", "tlp": "green"},
        {"id": "f-xss", "detector": "phish", "type": "phishing-domain", "subject_kind": "domain",
         "subject": "<script>alert(1)</script>", "score": 0.1,
         "first_seen": NOW - dt.timedelta(days=1), "last_seen": NOW - dt.timedelta(days=1),
         "count": 1, "evidence": '{"<b>": "<img src=x>"}',
         "explanation": "<script>alert(2)</script>", "tlp": "clear"},
    ]


def event_rows() -> list[dict[str, object]]:
    base = {"time_observed": NOW - dt.timedelta(hours=1), "feed_name": "shadowserver",
            "classification_taxonomy": "malicious-code"}
    return [
        {**base, "id": "e-own-ip", "classification_type": "infected-system",
         "source_ip": "198.51.100.7", "source_network": "198.51.100.0/24",
         "source_region": "London", "tlp": "amber"},
        {**base, "id": "e-own-v6", "classification_type": "infected-system",
         "source_ip": "2001:db8:100::5", "source_region": "London", "tlp": "green"},
        {**base, "id": "e-own-red", "classification_type": "c2-server",
         "source_ip": "198.51.100.9", "source_region": "London", "tlp": "red"},
        {**base, "id": "e-own-domain", "classification_type": "phishing",
         "source_fqdn": "login.hosting.example", "source_registered_domain": "hosting.example",
         "feed_name": "urlhaus", "source_region": "London", "tlp": "clear"},
        {**base, "id": "e-other", "classification_type": "infected-system",
         "source_ip": "203.0.113.50", "source_network": "203.0.113.0/24",
         "source_region": "North West", "tlp": "clear"},
        {**base, "id": "e-other-domain", "classification_type": "phishing",
         "source_fqdn": "nothosting.example", "tlp": "clear"},
        {**base, "id": "e-asn", "classification_type": "spam", "source_ip": "192.0.2.77",
         "source_asn": 64999, "tlp": "green"},
    ]


def dns_rows() -> list[dict[str, object]]:
    t = NOW - dt.timedelta(days=3)
    return [
        {"ts": t, "client": "10.0.0.1", "qname": "c2.bad.example", "qtype": 1},
        {"ts": t, "client": "10.0.0.1", "qname": "bad.example", "qtype": 1},
        {"ts": t, "client": "10.0.0.2", "qname": "x.bad.example", "qtype": 1},
        {"ts": t, "client": "10.0.0.3", "qname": "notbad.example", "qtype": 1},
    ]


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests only: the default ones cost ~0.5 s per hash on a
    busy CI machine. Hashes carry their parameters, so verification is unchanged."""
    from argon2 import PasswordHasher

    from bluelamp.web import security

    monkeypatch.setattr(security, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


@pytest.fixture(scope="session")
def lake_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small lake, shared by every test (nothing writes to it)."""
    lake = Lake(tmp_path_factory.mktemp("lake"))
    lake.write("finding", FINDING.from_rows(finding_rows()))
    lake.write("event", EVENT.from_rows(event_rows()))
    lake.write("dns", DNS.from_rows(dns_rows()))
    return lake.root


# ----------------------------------------------------------------------------- app, users

@dataclass
class Account:
    email: str
    role: Role
    password: str
    totp_secret: str | None
    token: str


@pytest.fixture
def settings(db_url: str, lake_path: Path) -> Settings:
    return Settings.model_validate({
        "database": {"url": db_url}, "lake": {"path": str(lake_path)},
        "web": {"login_per_minute": 1000, "max_body_bytes": 64 * 1024},
    })


@pytest.fixture
def make_settings(db_url: str, lake_path: Path) -> Callable[..., Settings]:
    def build(**web: object) -> Settings:
        return Settings.model_validate({"database": {"url": db_url},
                                        "lake": {"path": str(lake_path)},
                                        "web": {"login_per_minute": 1000, **web}})
    return build


@pytest.fixture
def accounts_by_role(engine: Engine) -> dict[Role, Account]:
    """One active user per account role, the subscriber in an org with verified resources."""
    out: dict[Role, Account] = {}
    with transaction(session_factory(engine)) as db:
        org = orgs.create_org(db, "test", "Hosting Co", "hosting", "London")
        for kind, value in (("network", "198.51.100.0/24"), ("network", "2001:db8:100::/48"),
                            ("domain", "hosting.example")):
            row = orgs.claim(db, "test", org, kind, value)
            row.status = "verified"  # as if proven; the proofs have their own tests
        orgs.create_org(db, "test", "Other Co")
        for role in Role:
            if role is Role.public:
                continue
            email = f"{role.value}@test.example"
            user = accounts.create_user(db, "test", email, role.value, PASSWORD,
                                        "Hosting Co" if role is Role.subscriber else None)
            token = accounts.create_token(db, "test", email)
            out[role] = Account(email, role, PASSWORD, user.totp_secret, token)
    return out


@pytest.fixture
def client(settings: Settings, accounts_by_role: dict[Role, Account]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page's form carries."""
    import re

    page = client.get(path).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def sign_in(client: TestClient, account: Account) -> None:
    """Password, then TOTP for privileged roles, as a browser does."""
    r = client.post("/login", data={"email": account.email, "password": account.password,
                                    "csrf_token": csrf_of(client), "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    if account.totp_secret:
        assert r.headers["location"].startswith("/login/totp")
        code = pyotp.TOTP(account.totp_secret).now()
        r = client.post("/login/totp", data={"code": code, "csrf_token": csrf_of(
            client, "/login/totp"), "next": "/"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", r.text


# ----------------------------------------------------------------------------- DNS

@pytest.fixture
def unbound_txt(tmp_path: Path) -> Iterator[Callable[[str, str], int]]:
    """Start unbound on 127.0.0.1 answering TXT records from `local-data` (authoritative
    answers, no recursion); returns a function (name, text) -> port of a fresh server."""
    binary = require_binary("/usr/sbin/unbound", "unbound")
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, text: str) -> int:
        port = free_port()
        conf = tmp_path / f"unbound-{port}.conf"
        zone = name.split(".", 1)[1]
        conf.write_text(unbound_conf(port, tmp_path, server=[
            f'local-zone: "{zone}." static',
            f"local-data: '{name}. 60 IN TXT \"{text}\"'"]))
        procs.append(start_unbound(binary, conf, port, probe="probe.invalid"))
        return port

    yield start
    for proc in procs:
        stop_server(proc)
