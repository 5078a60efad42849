"""The `bluelamp reports` commands, and the route × role matrix of the reporting routes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bluelamp.cli import app as cli
from bluelamp.settings import Settings
from bluelamp.store.models.accounts import Role
from bluelamp.web.app import create_app
from bluelamp.web.policy import POLICY, all_routes, route_permission

from .conftest import Account

HERE = Path(__file__).parent / "fixtures"
MINE = ("/report", "/reports", "/api/reports", "/check", "/api/check")


def test_ingest_triage_status_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BLUELAMP_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BLUELAMP_LAKE__PATH", str(tmp_path / "lake"))
    monkeypatch.setenv("BLUELAMP_REPORTS__RESOLVERS", '["127.0.0.1"]')
    monkeypatch.setenv("BLUELAMP_REPORTS__RESOLVER_PORT", "9")
    monkeypatch.setenv("BLUELAMP_REPORTS__RESOLVER_TIMEOUT", "0.2")
    runner = CliRunner()
    r = runner.invoke(cli, ["reports", "ingest-eml", "--json", str(HERE / "arf-report.eml"),
                            str(tmp_path / "missing.eml"), str(HERE / "forwarded-phish.eml")])
    assert r.exit_code == 1  # one file was missing ...
    out = json.loads(r.stdout)
    assert [len(x["codes"]) for x in out] == [1, 0, 3]  # ... the others were still taken
    assert "missing.eml" in out[1]["errors"][0] or "No such file" in out[1]["errors"][0]
    r = runner.invoke(cli, ["reports", "triage", "--route", "--json"])
    assert r.exit_code == 0, r.output
    # the three paypa1 lookalikes are verified and routed; the pills one only has words
    assert json.loads(r.stdout) == {"checked": 4, "routed": 3, "closed_by_suspension": 0,
                                    "closed_gone": 0}
    assert len(list((tmp_path / "bluelamp-outbox" / "reports").glob("*.eml"))) == 3
    code = out[0]["codes"][0]
    r = runner.invoke(cli, ["reports", "status", code.lower(), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["category"] == "unlicensed-medicines"
    assert runner.invoke(cli, ["reports", "status", "BL-0000-0000-0000-0000"]).exit_code == 1
    m = json.loads(runner.invoke(cli, ["reports", "metrics", "--json"]).stdout)
    assert (m["total"], m["routed"]) == (4, 3)


def test_route_role_matrix(settings: Settings, accounts_by_role: dict[Role, Account]) -> None:
    """Every reporting route as every role: allowed exactly where the policy says."""
    app = create_app(settings)
    routes = [r for r in all_routes(app) if isinstance(r, APIRoute)
              and r.path.startswith(MINE)]
    assert len(routes) >= 15
    wrong = []
    with TestClient(app) as client:
        client.get("/")
        anon = {"x-csrf-token": client.cookies["bl_csrf"]}
        for role in Role:
            headers = anon if role is Role.public else {
                "authorization": f"Bearer {accounts_by_role[role].token}"}
            for route in routes:
                permission = route_permission(route)
                assert permission is not None
                for method in route.methods or ():
                    r = client.request(method, route.path, headers=headers,
                                       follow_redirects=False)
                    allowed = role in POLICY[permission].roles
                    denied = r.status_code in (401, 403) or (
                        r.status_code == 303 and r.headers["location"].startswith("/login"))
                    if allowed == denied or r.status_code >= 500:
                        wrong.append(f"{role.value} {method} {route.path}: {r.status_code}")
    assert wrong == []


def test_pages_render(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    client.get("/report")
    headers = {"x-csrf-token": client.cookies["bl_csrf"]}
    code = client.post("/api/reports", json={"url": "http://shop-x.example/"},
                       headers=headers).json()["code"]
    analyst = {"authorization": f"Bearer {accounts_by_role[Role.analyst].token}"}
    page = client.get("/reports/triage", headers=analyst).text
    assert code in page and "shop-x.example" in page
    assert re.search(r"Campaign", page)
    assert "Tracking code" in client.get("/report/status").text
    r = client.post("/reports/decide", headers=analyst, follow_redirects=False, data={
        "domain": "shop-x.example", "action": "close", "outcome": "no-action",
        "reason": "a duplicate of an earlier report"})
    assert r.status_code == 303 and "message=close" in r.headers["location"]
    status = client.get(f"/api/reports/status?code={code}").json()
    assert (status["outcome"], status["outcome_reason"]) == (
        "no-action", "a duplicate of an earlier report")
    r = client.post("/reports/decide", headers=analyst, follow_redirects=False, data={
        "code": code, "action": "route"})
    assert "error=" in r.headers["location"]  # a closed report is not routed
