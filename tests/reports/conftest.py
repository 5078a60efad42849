"""Fixtures of the public-reporting tests: the web platform's (real PostgreSQL + SQLite,
lake, accounts, app) plus settings with a [reports] section suited to tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bluelamp.settings import Settings
from bluelamp.store.models.accounts import Role
from bluelamp.web.app import create_app
from web.conftest import (  # noqa: F401  (fixtures are found by name)
    Account,
    _fast_password_hashing,
    accounts_by_role,
    csrf_of,
    db_url,
    engine,
    lake_path,
    postgres_server,
    sign_in,
    unbound_txt,
)


def report_settings(db_url: str, lake_path: Path, tmp_path: Path,  # noqa: F811
                    **reports: object) -> Settings:
    return Settings.model_validate({
        "database": {"url": db_url}, "lake": {"path": str(lake_path)},
        "web": {"login_per_minute": 1000, "max_body_bytes": 64 * 1024},
        "suspensions": {"zones": ["reg.example"], "adapter": "none",
                        "resolvers": ["127.0.0.1"], "resolver_port": 9},
        "reports": {"pow_bits": 0, "triage_on_submit": False,
                    "resolvers": ["127.0.0.1"], "resolver_port": 9, "resolver_timeout": 0.3,
                    "outbox": str(tmp_path / "outbox"), **reports},
    })


@pytest.fixture
def make_settings(db_url: str, lake_path: Path,  # noqa: F811
                  tmp_path: Path) -> Callable[..., Settings]:
    def build(**reports: object) -> Settings:
        return report_settings(db_url, lake_path, tmp_path, **reports)
    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings,
           accounts_by_role: dict[Role, Account]) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def unbound_zone(tmp_path: Path) -> Iterator[Callable[[dict[str, list[str]]], int]]:
    """Start unbound on 127.0.0.1 answering A records for the given names (authoritatively,
    NXDOMAIN for anything else in their zones); returns the port."""
    import subprocess

    from conftest import free_port, require_binary
    from servers import start_unbound, stop_server, unbound_conf

    binary = require_binary("/usr/sbin/unbound", "unbound")
    procs: list[subprocess.Popen[bytes]] = []

    def start(records: dict[str, list[str]]) -> int:
        port = free_port()
        zones = sorted({name.split(".", 1)[1] for name in records})
        lines = [f'local-zone: "{z}." static' for z in zones]
        lines += [f"local-data: '{name}. 60 IN A {ip}'" for name, ips in records.items()
                  for ip in ips]
        conf = tmp_path / f"unbound-{port}.conf"
        conf.write_text(unbound_conf(port, tmp_path, server=lines))
        procs.append(start_unbound(binary, conf, port, probe="probe.invalid"))
        return port

    yield start
    for proc in procs:
        stop_server(proc)
