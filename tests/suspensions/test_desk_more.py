"""Evidence over the API, yearly statistics with an injected clock, the CLI, the pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from bluelamp.act.cases.desk import NewRequest, build_desk
from bluelamp.cli import app as cli_app
from bluelamp.settings import Settings
from bluelamp.store.db import session_factory, transaction
from bluelamp.store.models.accounts import Role
from bluelamp.store.models.suspensions import Agency
from bluelamp.web.app import create_app
from web.conftest import Account, sign_in

from .conftest import People
from .knot import ZONE, Knot

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def test_evidence_upload_and_download(desk_client: TestClient, people: People,
                                      knot: Knot) -> None:
    r = desk_client.post("/api/suspensions", headers=people.officer, json={
        "domains": [f"shop.{ZONE}"], "category": "counterfeit-goods", "legal_basis": "TMA 1994",
        "urls": [f"https://shop.{ZONE}/fake-bags"]})
    case_id = r.json()["id"]
    url = f"/api/suspensions/{case_id}/evidence"
    r = desk_client.post(url, headers=people.officer, files={"file": ("order.pdf", PDF)})
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert r.json() == {"sha256": sha, "size": len(PDF), "media_type": "application/pdf"}
    r = desk_client.post(url, headers=people.officer,
                         files={"file": ("x.pdf", b"\x00\x01binary")})
    assert r.status_code == 415
    r = desk_client.post(url, headers=people.officer, files={"file": ("big.txt", b"a" * 200_000)})
    assert r.status_code == 413
    # the other agency cannot add to or read this case
    assert desk_client.post(url, headers=people.other_officer,
                            files={"file": ("o.pdf", PDF)}).status_code == 404
    got = desk_client.get(f"{url}/{sha}", headers=people.reviewer)
    assert got.status_code == 200 and got.content == PDF
    assert desk_client.get(f"{url}/{sha}", headers=people.other_officer).status_code == 404
    case = desk_client.get(f"/api/suspensions/{case_id}", headers=people.reviewer).json()
    assert [e["sha256"] for e in case["evidence"]] == [sha]
    assert case["urls"] == [f"https://shop.{ZONE}/fake-bags"]


def test_yearly_statistics_with_known_delays(engine: Engine, desk_settings: Settings,
                                             people: People, knot: Knot) -> None:
    """Three single requests filed at 09:00 and approved 2, 4 and 30 hours later: median
    4 h, p90 = 4 + 0.8 * (30 - 4) = 24.8 h (linear interpolation)."""
    clock = {"now": dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)}
    names = ["shop", "fake-bank", "pharma-shop"]
    with transaction(session_factory(engine)) as db:
        desk = build_desk(db, desk_settings, now=lambda: clock["now"])
        nca = db.scalar(select(Agency).where(Agency.name == "National Crime Agency"))
        assert nca is not None
        for name, hours in zip(names, (2, 4, 30), strict=True):
            clock["now"] = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
            req = desk.file("officer@test.example", nca, NewRequest(
                [f"{name}.{ZONE}"], "phishing" if name != "shop" else "fraud", "Fraud Act"))
            clock["now"] += dt.timedelta(hours=hours)
            desk.approve("reviewer@test.example", req)
        desk.reinstate("reviewer@test.example", req.items[0], "court order set aside")
        desk.file("officer@test.example", nca, NewRequest(["elsewhere.example"], "fraud", "x"))
    result = CliRunner().invoke(cli_app, ["suspensions", "stats", "--year", "2026", "--json"],
                                env={"BLUELAMP_DATABASE__URL": desk_settings.database.url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["hours_to_suspension"] == {"median": 4.0, "p90": 24.8}
    assert report["names"] == {"requested": 4, "suspended": 3, "refused": 1, "pending": 0,
                               "failed": 0, "reversed": 1}
    assert report["by_agency"] == [{"name": "National Crime Agency", "requested": 4,
                                    "suspended": 3, "refused": 1, "reversed": 1}]
    assert {r["name"]: r["suspended"] for r in report["by_category"]} == {"phishing": 2,
                                                                           "fraud": 1}
    assert report["suspended_by_month"] == {"2026-03": 3}
    empty = CliRunner().invoke(cli_app, ["suspensions", "stats", "--year", "2025", "--json"],
                               env={"BLUELAMP_DATABASE__URL": desk_settings.database.url})
    assert json.loads(empty.stdout)["names"]["requested"] == 0


def test_tick_command_with_nothing_due(desk_settings: Settings, people: People) -> None:
    env = {"BLUELAMP_DATABASE__URL": desk_settings.database.url}
    result = CliRunner().invoke(cli_app, ["suspensions", "tick", "--json", "--now",
                                          "2030-01-01T00:00:00"], env=env)
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_request_and_review_in_a_browser_session(
        desk_settings: Settings, people: People, knot: Knot,
        accounts_by_role: dict[Role, Account]) -> None:
    app = create_app(desk_settings)
    with TestClient(app) as officer, TestClient(app) as reviewer:
        sign_in(officer, accounts_by_role[Role.officer])
        form = officer.get("/suspensions/new")
        assert form.status_code == 200
        csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = officer.post("/suspensions/new", data={
            "csrf_token": csrf, "domains": f"fake-bank.{ZONE}\n", "category": "phishing",
            "legal_basis": "Fraud Act 2006", "urgency": "immediate", "action": "redirect"},
            files={"evidence_file": ("mail.txt", b"Dear customer, verify your account")},
            follow_redirects=False)
        assert r.status_code == 303 and "/suspensions/" in r.headers["location"], r.text
        case_path = r.headers["location"].split("?")[0]
        sign_in(reviewer, accounts_by_role[Role.reviewer])
        queue = reviewer.get("/suspensions?sort=urgency")
        assert queue.status_code == 200 and "immediate" in queue.text
        page = reviewer.get(case_path)
        assert "mail.txt" in page.text and "Approve" in page.text
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = reviewer.post(f"{case_path}/decide", data={"csrf_token": csrf,
                                                       "decision": "approve"},
                          follow_redirects=True)
        assert "suspended" in r.text and "192.0.2.99" in r.text
        assert knot.query(f"fake-bank.{ZONE}").answer
        landing = TestClient(app).get(f"/suspended/fake-bank.{ZONE}")
        assert "National Crime Agency" in landing.text and "complaint" in landing.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_admin_manages_agencies(desk_client: TestClient, people: People, knot: Knot) -> None:
    r = desk_client.post("/api/agencies", headers=people.admin, json={
        "name": "Trading Standards", "contact_email": "ts@council.example"})
    assert r.status_code == 201, r.text
    agency = r.json()
    r = desk_client.post(f"/api/agencies/{agency['id']}/officers", headers=people.admin,
                         json={"email": "officer2@test.example"})
    assert r.json()["officers"] == ["officer2@test.example"]
    assert desk_client.post(f"/api/agencies/{agency['id']}/officers", headers=people.admin,
                            json={"email": "reviewer@test.example"}).status_code == 422
    assert desk_client.post("/api/agencies", headers=people.admin, json={
        "name": "Trading Standards"}).status_code == 409
    names = {a["name"]: a["officers"] for a in desk_client.get(
        "/api/agencies", headers=people.admin).json()}
    assert names["City Police"] == []  # an officer acts for one agency: moved
    assert desk_client.get("/api/agencies", headers=people.reviewer).status_code == 403
    page = desk_client.get("/admin/agencies", headers=people.admin)
    assert page.status_code == 200 and "Trading Standards" in page.text
