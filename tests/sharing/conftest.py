"""Fixtures of the sharing tests: the web fixtures (SQLite and PostgreSQL, accounts of every
role, the subscriber's org with proven networks and a domain) re-exported, a lake with
leak bait (a TLP:RED and a TLP:AMBER+STRICT event inside the subscriber's scope), and a real
uvicorn server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bluelamp.schema import EVENT, FINDING
from bluelamp.settings import Settings
from bluelamp.store.lake import Lake
from bluelamp.store.models.accounts import Role
from bluelamp.web.app import create_app
from conftest import free_port  # tests/conftest.py
from web import conftest as web_fixtures
from web.conftest import Account

# the web fixtures, found by pytest under these names
_fast_password_hashing = web_fixtures._fast_password_hashing
accounts_by_role = web_fixtures.accounts_by_role
db_url = web_fixtures.db_url
engine = web_fixtures.engine
postgres_server = web_fixtures.postgres_server

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: strings that must never leave the system (they are only in RED / AMBER+STRICT events)
SECRETS = ("red-secret.hosting.example", "198.51.100.66", "leak-red",
           "strict-secret.hosting.example", "198.51.100.77", "leak-strict")


def share_events(now: dt.datetime = NOW) -> list[dict[str, object]]:
    base = {"time_observed": now - dt.timedelta(hours=1), "feed_name": "shadowserver"}
    return [
        {**base, "id": "s-ip-amber", "classification_taxonomy": "malicious-code",
         "classification_type": "infected-system", "classification_identifier": "mirai",
         "source_ip": "198.51.100.7", "confidence": 0.9, "tlp": "amber"},
        {**base, "id": "s-c2-green", "classification_taxonomy": "malicious-code",
         "classification_type": "c2-server", "classification_identifier": "emotet",
         "source_ip": "198.51.100.8", "source_fqdn": "c2.hosting.example", "confidence": 0.8,
         "tlp": "green", "time_observed": now - dt.timedelta(minutes=50)},
        {**base, "id": "s-phish-clear", "classification_taxonomy": "fraud",
         "classification_type": "phishing", "source_fqdn": "login.hosting.example",
         "source_url": "http://login.hosting.example/verify", "confidence": 0.7,
         "tlp": "clear", "time_observed": now - dt.timedelta(minutes=40)},
        {**base, "id": "s-v6-green", "classification_taxonomy": "malicious-code",
         "classification_type": "infected-system", "source_ip": "2001:db8:100::5",
         "confidence": 0.5, "tlp": "green", "time_observed": now - dt.timedelta(minutes=30)},
        {**base, "id": "leak-red", "classification_taxonomy": "malicious-code",
         "classification_type": "c2-server", "source_ip": "198.51.100.66",
         "source_fqdn": "red-secret.hosting.example", "confidence": 1.0, "tlp": "red"},
        {**base, "id": "leak-strict", "classification_taxonomy": "fraud",
         "classification_type": "phishing", "source_ip": "198.51.100.77",
         "source_fqdn": "strict-secret.hosting.example", "confidence": 1.0,
         "tlp": "amber+strict"},
        {**base, "id": "s-other", "classification_taxonomy": "fraud",
         "classification_type": "phishing", "source_ip": "203.0.113.50",
         "source_fqdn": "phish.other.example", "confidence": 0.9, "tlp": "clear"},
    ]


def share_findings(now: dt.datetime = NOW) -> list[dict[str, object]]:
    return [
        {"id": "f-c2", "detector": "beacon", "type": "c2-beacon", "subject_kind": "domain",
         "subject": "beacon.bad.example", "score": 0.9, "first_seen": now - dt.timedelta(hours=3),
         "last_seen": now - dt.timedelta(hours=2), "count": 120,
         "evidence": '{"period_s": 60, "clients": 14}',
         "explanation": "14 clients look up beacon.bad.example every 60 s.", "tlp": "amber"},
        {"id": "f-red", "detector": "beacon", "type": "c2-beacon", "subject_kind": "domain",
         "subject": "red-secret.hosting.example", "score": 0.9,
         "first_seen": now - dt.timedelta(hours=3), "last_seen": now - dt.timedelta(hours=2),
         "count": 5, "evidence": "{}", "explanation": "secret", "tlp": "red"},
    ]


@pytest.fixture(scope="session")
def share_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake shared by the tests that do not write to it."""
    lake = Lake(tmp_path_factory.mktemp("share-lake"))
    lake.write("event", EVENT.from_rows(share_events()))
    lake.write("finding", FINDING.from_rows(share_findings()))
    return lake.root


def make_settings(url: str, lake: Path, **sharing: object) -> Settings:
    return Settings.model_validate({
        "database": {"url": url}, "lake": {"path": str(lake)},
        "web": {"login_per_minute": 1000},
        "sharing": {"poll_seconds": 0.1, **sharing}})


@pytest.fixture
def settings(db_url: str, share_lake: Path) -> Settings:
    return make_settings(db_url, share_lake)


@pytest.fixture
def client(settings: Settings, accounts_by_role: dict[Role, Account]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def bearer(account: Account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.token}"}


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Run an app under a real uvicorn on 127.0.0.1; returns its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
