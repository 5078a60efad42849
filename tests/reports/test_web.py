"""The public flow over HTTP on SQLite and PostgreSQL: intake (form and API) with its
anti-abuse layers, the status page, triage, routing (referral, X-ARF, proposed suspension),
outcomes, metrics and the health check."""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.act.cases.desk import Desk
from bluelamp.act.reports.pow import solve
from bluelamp.settings import Settings, SuspensionSettings
from bluelamp.store.db import session_factory, transaction
from bluelamp.store.models.accounts import Role, User
from bluelamp.store.models.suspensions import SuspensionItem
from bluelamp.web.app import create_app

from .conftest import Account, csrf_of


def _anon(client: TestClient) -> dict[str, str]:
    client.get("/report")
    return {"x-csrf-token": client.cookies["bl_csrf"]}


def _bearer(accounts: dict[Role, Account], role: Role) -> dict[str, str]:
    return {"authorization": f"Bearer {accounts[role].token}"}


def _submit(client: TestClient, headers: dict[str, str], url: str, **extra: Any) -> Any:
    challenge = client.get("/api/reports/challenge").json()
    body = {"url": url, "pow_challenge": challenge["challenge"],
            "pow_nonce": solve(challenge["challenge"], challenge["bits"]), **extra}
    return client.post("/api/reports", json=body, headers=headers)


def test_form_flow_with_proof_of_work(make_settings: Callable[..., Settings],
                                      accounts_by_role: dict[Role, Account]) -> None:
    with TestClient(create_app(make_settings(pow_bits=8))) as client:
        page = client.get("/report").text
        found = re.search(r'name="pow_challenge" value="([^"]+)"', page)
        assert found is not None
        challenge = found.group(1)
        form = {"url": "hxxps://secure-paypa1[.]example/login", "category": "phishing",
                "description": "an SMS sent me there", "email": "me@citizen.example",
                "website": "", "csrf_token": csrf_of(client, "/report"),
                "pow_challenge": challenge, "pow_nonce": solve(challenge, 8)}
        r = client.post("/report", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        status = client.get(r.headers["location"]).text
        shown = re.search(r'id="tracking-code">([^<]+)<', status)
        assert shown is not None
        code = shown.group(1)
        assert "secure-paypa1[.]example" in status and "Received" in status
        # the same solution cannot be used twice
        again = client.post("/report", data=form, follow_redirects=False)
        assert again.status_code == 422 and "already used" in again.text
        # no proof-of-work, or the honeypot filled in: refused, nothing stored
        assert client.post("/report", data={**form, "pow_nonce": ""}).status_code == 422
        bot = {**form, "website": "http://spam.example", "pow_challenge": challenge}
        assert client.post("/report", data=bot).status_code == 422
        assert client.get(f"/api/reports/status?code={code.lower()}").json()["code"] == code


def test_api_intake_and_refusals(client: TestClient) -> None:
    headers = _anon(client)
    r = _submit(client, headers, "http://rx-cheap-pills.example/buy", email="a@b.example")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["category"] == "unlicensed-medicines" and out["code"].startswith("BL-")
    assert _submit(client, headers, "javascript:alert(1)").status_code == 422
    assert _submit(client, headers, "http://x.example/", email="not-an-address").status_code == 422
    assert _submit(client, headers, "http://x.example/", category="nope").status_code == 422
    # no CSRF header from a cookie-holding client: refused
    assert _submit(client, {}, "http://x.example/").status_code == 403
    big = client.post("/api/reports", content=b"x" * (65 * 1024), headers={
        **headers, "content-type": "application/json"})
    assert big.status_code == 413
    assert client.get("/api/reports/status?code=BL-0000-0000-0000-0000").status_code == 404


def test_rate_limit(make_settings: Callable[..., Settings],
                    accounts_by_role: dict[Role, Account]) -> None:
    with TestClient(create_app(make_settings(submit_per_minute=3))) as client:
        headers = _anon(client)
        codes = [_submit(client, headers, f"http://s{i}.example/").status_code for i in range(5)]
        assert codes == [201, 201, 201, 429, 429]


def _xarf_fields(path: str) -> tuple[Any, dict[str, Any]]:
    msg = email.message_from_bytes(Path(path).read_bytes())
    report = next(p for p in msg.walk() if p.get_filename() == "report.txt")
    payload = report.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return msg, yaml.safe_load(payload.decode())


def test_triage_route_and_outcomes(make_settings: Callable[..., Settings], tmp_path: Path,
                                   accounts_by_role: dict[Role, Account],
                                   engine: Engine) -> None:
    contacts = tmp_path / "registrars.csv"
    contacts.write_text("domain,registrar,abuse_email\n*.example,Example Registrar,"
                        "abuse@registrar.example\n")
    settings = make_settings(registrar_contacts=str(contacts))
    with TestClient(create_app(settings)) as client:
        headers = _anon(client)
        phish = _submit(client, headers, "https://login.hosting.example/x",
                        email="me@citizen.example").json()["code"]
        own = _submit(client, headers, "http://shop.pills.reg.example/", category="fraud",
                      description="cheap pills").json()["code"]
        analyst = _bearer(accounts_by_role, Role.analyst)
        # the public may not triage
        assert client.post("/api/reports/triage/run", headers=headers).status_code == 401
        assert client.post("/api/reports/triage/run", headers=analyst).json()["checked"] == 2
        r = client.post("/api/reports/decide", headers=analyst,
                        json={"codes": [phish, own], "action": "route"})
        assert r.status_code == 200, r.text
        by_code = {v["code"]: v for v in r.json()}
        kinds = {a["kind"]: a for a in by_code[phish]["actions"]}
        assert set(kinds) == {"referral", "xarf-registrar"}
        assert kinds["referral"]["recipient"] == "takedown@localhost"
        msg, fields = _xarf_fields(kinds["xarf-registrar"]["path"])
        assert msg["X-XARF"] == "PLAIN" and msg["To"] == "abuse@registrar.example"
        assert fields["Report-Type"] == "phishing" and fields["Category"] == "fraud"
        assert fields["Source"] == "https://login.hosting.example/x"
        assert fields["Source-Type"] == "uri" and fields["Report-ID"] == f"{phish}@bluelamp"
        own_kinds = {a["kind"] for a in by_code[own]["actions"]}
        assert "proposal" in own_kinds
        assert by_code[own]["category"] == "unlicensed-medicines"
        proposals = client.get("/api/reports/proposals",
                               headers=_bearer(accounts_by_role, Role.officer)).json()
        assert [(p["domain"], p["status"]) for p in proposals] == [("pills.reg.example",
                                                                   "proposed")]
        assert client.get("/api/reports/proposals", headers=headers).status_code == 401
        # the reporter sees it was passed on, and to whom (no addresses)
        seen = client.get(f"/api/reports/status?code={phish}").json()
        assert seen["status"] == "routed"
        assert seen["routed_to"] == ["takedown-team", "the registrar"]
        # an officer of an agency adopts it: the desk files a request for the domain ...
        officer = _bearer(accounts_by_role, Role.officer)
        body = {"proposal_id": proposals[0]["id"], "legal_basis": "Medicines Act s.1"}
        assert client.post("/api/reports/proposals/adopt", headers=officer,
                           json=body).status_code == 409  # not linked to an agency yet
        _link_officer(engine, accounts_by_role[Role.officer].email)
        adopted = client.post("/api/reports/proposals/adopt", headers=officer, json=body)
        assert adopted.status_code == 200, adopted.text
        again = client.post("/api/reports/proposals/adopt", headers=officer, json=body)
        assert again.status_code == 409  # once only
        # ... and when the registry suspends the domain, the report closes
        _execute(engine, adopted.json()["request_id"])
        done = client.post("/api/reports/triage/run", headers=analyst).json()
        assert done["closed_by_suspension"] == 1
        status = client.get(f"/api/reports/status?code={own}").json()
        assert status["outcome"] == "suspended" and "suspended pills.reg.example" in \
            status["outcome_reason"]
        proposal = client.get("/api/reports/proposals", headers=officer).json()[0]
        assert proposal["reports"] == 1
        assert proposal["request_id"] == adopted.json()["request_id"]
        assert proposal["status"] == "adopted" and proposal["request_id"]
        # closing without a reason is refused; with one, the reporter sees it
        bad = client.post("/api/reports/decide", headers=analyst, json={
            "codes": [phish], "action": "close", "outcome": "no-action"})
        assert bad.status_code == 409
        client.post("/api/reports/decide", headers=analyst, json={
            "codes": [phish], "action": "close", "outcome": "no-action",
            "reason": "the page was already gone when we checked"})
        page = client.get(f"/report/status?code={phish}").text
        assert "No action was taken" in page and "already gone" in page
        update = (tmp_path / "outbox" / f"{phish}-reporter-update.eml").read_text()
        assert "To: me@citizen.example" in update and "already gone" in update
        m = client.get("/api/reports/metrics", headers=analyst).json()
        assert (m["total"], m["routed"], m["share_routed"]) == (2, 2, 1.0)
        assert m["median_hours_to_takedown"] is not None
        assert "<svg" in client.get("/reports/metrics", headers=analyst).text
        assert client.get("/reports/proposals", headers=officer).status_code == 200


def _link_officer(engine: Engine, email: str) -> None:
    with transaction(session_factory(engine)) as db:
        desk = Desk(db, SuspensionSettings())
        agency = desk.create_agency("test", "Medicines Regulator", None)
        user = db.scalars(select(User).where(User.email == email)).one()
        desk.add_officer("test", agency, user.id, email)


def _execute(engine: Engine, request_id: int) -> None:
    """What the desk records once the registry has suspended the names of a request."""
    with transaction(session_factory(engine)) as db:
        for item in db.scalars(select(SuspensionItem).where(
                SuspensionItem.request_id == request_id)):
            item.status = "suspended"
            item.suspended_at = dt.datetime.now(dt.UTC)


def test_health_check(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    public = client.get("/api/check", params={"q": "login.hosting.example"}).json()
    assert public["listed"] and public["events"][0]["classification_type"] == "phishing"
    assert public["events"][0]["advice"]["title"].startswith("A phishing site")
    # an AMBER event is not shown to the public ...
    assert not client.get("/api/check", params={"q": "198.51.100.7"}).json()["listed"]
    # ... but to the subscriber that proved it owns 198.51.100.0/24
    owner = _bearer(accounts_by_role, Role.subscriber)
    mine = client.get("/api/check", params={"q": "198.51.100.0/24"}, headers=owner).json()
    assert mine["visibility"].startswith("owner")
    assert {e["id"] for e in mine["events"]} == {"e-own-ip"}  # the RED one stays hidden
    # a subscriber asking about someone else's network sees the public view only
    other = client.get("/api/check", params={"q": "203.0.113.50"}, headers=owner).json()
    assert other["visibility"].startswith("public") and other["listed"]  # e-other is CLEAR
    assert client.get("/api/check", params={"q": "10.0.0.0/8"}).status_code == 422
    assert client.get("/api/check", params={"q": "not a thing!"}).status_code == 422
    page = client.get("/check", params={"q": "hxxp://login[.]hosting[.]example/"}).text
    assert "is listed" in page and "phishing" in page


def test_health_check_rate_limit(make_settings: Callable[..., Settings],
                                 accounts_by_role: dict[Role, Account]) -> None:
    with TestClient(create_app(make_settings(check_per_minute=2))) as client:
        codes = [client.get("/api/check", params={"q": "192.0.2.1"}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
