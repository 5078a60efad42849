"""The commands: db upgrade, users add, tokens create, audit verify; and seed_demo."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.settings import Settings
from bluelamp.store.db import make_engine, session_factory
from bluelamp.web import accounts, security
from bluelamp.web.seed import DEMO_USERS, seed_demo


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BLUELAMP_DATABASE__URL", db_url)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)
    return invoke


def test_users_tokens_and_audit_from_the_cli(run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    r = run("users", "add", "Ana@Cert.Example", "--role", "analyst", "--password-stdin",
            input="a long enough passphrase\n")
    assert r.exit_code == 0, r.output
    assert "created ana@cert.example (analyst)" in r.output and "TOTP secret:" in r.output
    assert "password:" not in r.output  # it came from stdin: not echoed
    r = run("users", "add", "x@cert.example", "--role", "wizard")
    assert r.exit_code != 0 and "unknown role" in str(r.exception)
    r = run("users", "add", "sub@org.example", "--role", "subscriber")
    assert r.exit_code != 0 and "--org" in str(r.exception)
    r = run("tokens", "create", "ana@cert.example", "--name", "misp")
    token = r.output.strip()
    assert r.exit_code == 0 and token.startswith(security.TOKEN_PREFIX)
    engine = make_engine(db_url)
    with session_factory(engine)() as db:
        user = accounts.find_user(db, "ana@cert.example")
        assert user is not None and security.check_password(user.password_hash,
                                                            "a long enough passphrase")
    assert run("audit", "verify").output.strip() == "audit log verified"
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET subject = 'eve@cert.example' WHERE id = 1"))
    engine.dispose()
    r = run("audit", "verify")
    assert r.exit_code == 1 and "audit entry 1:" in r.output
    r = run("audit", "verify", "--json")
    assert r.exit_code == 1 and '"entry": 1' in r.output


def test_seed_demo_creates_users_who_can_sign_in(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.model_validate({"database": {"url": db_url},
                                        "lake": {"path": str(tmp_path / "lake")}})
    creds = seed_demo(settings)
    assert set(creds) == {email for email, _, _ in DEMO_USERS}
    assert "totp:" in creds["analyst@demo.bluelamp.test"]
    assert "totp:" not in creds["soc@hosting.demo.bluelamp.test"]
    engine = make_engine(db_url)
    with session_factory(engine)() as db:
        user = accounts.find_user(db, "soc@hosting.demo.bluelamp.test")
        assert user is not None
        assert security.check_password(user.password_hash,
                                       creds["soc@hosting.demo.bluelamp.test"])
        org = accounts.find_org(db, "Example Hosting Ltd")
        assert org is not None and {n.status for n in org.networks} == {"verified"}
    engine.dispose()
    again = seed_demo(settings)  # idempotent
    assert all("exists" in v for v in again.values())
