"""Subscriptions API and page, REST pull (JSON, CSV, NDJSON, STIX; paging; since), the daily
report, the law-enforcement share and the STIX download — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from stix2validator import ValidationOptions, validate_string

from bluelamp.store.models.accounts import Role
from web.conftest import sign_in

from .conftest import NOW, SECRETS, Account, bearer

SINCE = (NOW - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")


def subscribe(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "main", **fields}
    r = client.post("/api/subscriptions", json=body, headers=bearer(account))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _no_secrets(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert leaked == [], f"TLP-restricted data leaked: {leaked}"


def test_create_list_update_cancel(client: TestClient,
                                   accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    made = subscribe(client, sub, event_types=["phishing"], min_confidence=0.5)
    assert made["event_types"] == ["phishing"] and made["webhook_secret"] is None
    listed = client.get("/api/subscriptions", headers=bearer(sub)).json()
    assert [s["id"] for s in listed] == [made["id"]]
    r = client.put(f"/api/subscriptions/{made['id']}", headers=bearer(sub),
                   json={"name": "main", "tlp_clearance": "green"})
    assert r.status_code == 200 and r.json()["tlp_clearance"] == "green"
    r = client.delete(f"/api/subscriptions/{made['id']}", headers=bearer(sub))
    assert r.json()["active"] is False


@pytest.mark.parametrize(("field", "value"), [("tlp_clearance", "red"),
                                              ("tlp_clearance", "amber+strict"),
                                              ("event_types", ["no-such-type"]),
                                              ("min_confidence", 2),
                                              ("channel", "webhook")])
def test_bad_subscriptions_are_refused(client: TestClient,
                                       accounts_by_role: dict[Role, Account], field: str,
                                       value: Any) -> None:
    r = client.post("/api/subscriptions", json={"name": "x", field: value},
                    headers=bearer(accounts_by_role[Role.subscriber]))
    assert r.status_code == 422, r.text


def test_webhook_subscription_returns_its_secret_once(
        client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    made = subscribe(client, sub, channel="webhook", webhook_url="https://soc.example/hook")
    assert made["webhook_secret"].startswith("whsec_")
    listed = client.get("/api/subscriptions", headers=bearer(sub)).text
    assert made["webhook_secret"] not in listed


def test_pull_json_pages_with_cursor_and_since(client: TestClient,
                                               accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub)["id"]
    ids: list[str] = []
    url: str | None = f"/api/subscriptions/{sid}/events?since={SINCE}&limit=2"
    pages = 0
    while url:
        r = client.get(url, headers=bearer(sub))
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [e["id"] for e in body["events"]]
        url = (f"/api/subscriptions/{sid}/events?since={SINCE}&limit=2&cursor={body['next']}"
               if body["next"] else None)
        pages += 1
        _no_secrets(r.text)
    # the subscriber's proven scope, oldest first; not the other org's event, not red/strict
    assert ids == ["s-ip-amber", "s-c2-green", "s-phish-clear", "s-v6-green"]
    assert pages == 2
    later = (NOW - dt.timedelta(minutes=45)).isoformat().replace("+00:00", "Z")
    r = client.get(f"/api/subscriptions/{sid}/events", params={"since": later},
                   headers=bearer(sub))
    assert [e["id"] for e in r.json()["events"]] == ["s-phish-clear", "s-v6-green"]


def test_pull_csv_ndjson_and_stix(client: TestClient,
                                  accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub, tlp_clearance="green")["id"]
    base = f"/api/subscriptions/{sid}/events?since={SINCE}"
    r = client.get(base + "&format=csv", headers=bearer(sub))
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == ["s-c2-green", "s-phish-clear", "s-v6-green"]
    r = client.get(base + "&format=ndjson&limit=1", headers=bearer(sub))
    assert [json.loads(line)["id"] for line in r.text.splitlines()] == ["s-c2-green"]
    assert 'rel="next"' in r.headers["link"]
    r = client.get(base + "&format=stix", headers=bearer(sub))
    assert validate_string(r.text, ValidationOptions(strict=True)).is_valid
    assert "198.51.100.7" not in r.text  # amber, above this subscription's clearance


def test_filters_by_type_and_confidence(client: TestClient,
                                        accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub, event_types=["infected-system"], min_confidence=0.6)["id"]
    r = client.get(f"/api/subscriptions/{sid}/events?since={SINCE}", headers=bearer(sub))
    assert [e["id"] for e in r.json()["events"]] == ["s-ip-amber"]


def test_bad_cursor_is_a_clear_error(client: TestClient,
                                     accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub)["id"]
    r = client.get(f"/api/subscriptions/{sid}/events?cursor=nonsense", headers=bearer(sub))
    assert r.status_code == 422 and "cursor" in r.text


def test_daily_report(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub)["id"]
    day = (NOW - dt.timedelta(hours=1)).date().isoformat()
    r = client.get(f"/api/subscriptions/{sid}/report.csv?day={day}", headers=bearer(sub))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    _no_secrets(r.text)
    ids = {row["id"] for row in csv.DictReader(io.StringIO(r.text))}
    # events in the last hour may fall on the previous UTC day just after midnight
    assert ids <= {"s-ip-amber", "s-c2-green", "s-phish-clear", "s-v6-green"}
    assert ids or (NOW - dt.timedelta(hours=1)).date() != NOW.date()


def test_another_orgs_subscription_looks_absent(client: TestClient,
                                                accounts_by_role: dict[Role, Account],
                                                settings: Any) -> None:
    from bluelamp.store.db import make_engine, session_factory, transaction
    from bluelamp.web import accounts

    sub = accounts_by_role[Role.subscriber]
    sid = subscribe(client, sub)["id"]
    engine = make_engine(settings.database.url)
    with transaction(session_factory(engine)) as db:
        accounts.create_user(db, "test", "other@test.example", "subscriber", "x" * 20,
                             "Other Co")
        token = accounts.create_token(db, "test", "other@test.example")
    engine.dispose()
    other = {"authorization": f"Bearer {token}"}
    for path in (f"/api/subscriptions/{sid}/events", f"/api/subscriptions/{sid}/report.csv",
                 f"/api/subscriptions/{sid}/dead-letters"):
        assert client.get(path, headers=other).status_code == 404


def test_subscription_page_and_form(client: TestClient,
                                    accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.subscriber])
    page = client.get("/my/subscriptions")
    assert page.status_code == 200 and "New subscription" in page.text
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post("/my/subscriptions", data={"name": "web", "channel": "rest",
                                               "csrf_token": csrf.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303 and "subscribed" in r.headers["location"]
    assert "web" in client.get("/my/subscriptions").text
    r = client.post("/my/subscriptions", data={"name": "nocsrf"}, follow_redirects=False)
    assert r.status_code == 403


# ------------------------------------------------------------------ law enforcement

def test_analyst_shares_a_finding_with_law_enforcement(
        client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    analyst = accounts_by_role[Role.analyst]
    r = client.post("/api/share/law-enforcement", headers=bearer(analyst),
                    json={"kind": "finding", "id": "f-c2", "note": "C2 of case 42"})
    assert r.status_code == 201, r.text
    listed = client.get("/api/share/law-enforcement", headers=bearer(analyst)).json()
    assert [(s["record_id"], s["note"]) for s in listed] == [("f-c2", "C2 of case 42")]


@pytest.mark.parametrize(("kind", "record"), [("finding", "f-red"), ("event", "leak-red"),
                                              ("event", "leak-strict"), ("event", "nope")])
def test_restricted_or_missing_records_cannot_be_shared(
        client: TestClient, accounts_by_role: dict[Role, Account], kind: str,
        record: str) -> None:
    r = client.post("/api/share/law-enforcement", headers=bearer(accounts_by_role[
        Role.analyst]), json={"kind": kind, "id": record, "note": "x"})
    assert r.status_code == 422, r.text


def test_law_enforcement_page(client: TestClient,
                              accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/share/law-enforcement")
    assert page.status_code == 200
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post("/share/law-enforcement", data={
        "kind": "event", "record_id": "s-c2-green", "note": "seen in case 7",
        "csrf_token": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and "shared" in r.headers["location"]
    assert "seen in case 7" in client.get("/share/law-enforcement").text


def test_stix_download_for_analysts(client: TestClient,
                                    accounts_by_role: dict[Role, Account]) -> None:
    r = client.get("/api/share/stix?tlp=amber", headers=bearer(accounts_by_role[Role.analyst]))
    assert r.status_code == 200
    assert validate_string(r.text, ValidationOptions(strict=True)).is_valid
    _no_secrets(r.text)
    assert client.get("/api/share/stix", headers=bearer(
        accounts_by_role[Role.subscriber])).status_code == 403


def test_officer_reads_the_law_enforcement_bundle_with_evidence(
        client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    client.post("/api/share/law-enforcement", headers=bearer(accounts_by_role[Role.analyst]),
                json={"kind": "finding", "id": "f-c2", "note": "C2 of case 42"})
    r = client.get("/api/share/law-enforcement/bundle",
                   headers=bearer(accounts_by_role[Role.officer]))
    assert r.status_code == 200
    assert validate_string(r.text, ValidationOptions(strict=True)).is_valid
    notes = [o for o in r.json()["objects"] if o["type"] == "note"]
    assert len(notes) == 1 and "C2 of case 42" in notes[0]["content"]
    assert '"period_s": 60' in notes[0]["content"]  # the detector's evidence travels along
    assert "beacon.bad.example" in r.text
    for role in (Role.analyst, Role.subscriber, Role.reviewer):
        assert client.get("/api/share/law-enforcement/bundle",
                          headers=bearer(accounts_by_role[role])).status_code == 403


def test_bulk_filters_equal_one_by_one(client: TestClient,
                                       accounts_by_role: dict[Role, Account],
                                       settings: Any) -> None:
    from bluelamp.act.feeds import subscriptions
    from bluelamp.store.db import make_engine, session_factory

    sub = accounts_by_role[Role.subscriber]
    subscribe(client, sub, name="a")
    subscribe(client, sub, name="b", include_networks=False, event_types=["phishing"])
    engine = make_engine(settings.database.url)
    with session_factory(engine)() as db:
        rows = subscriptions.active(db)
        assert subscriptions.filters(db, rows) == [subscriptions.to_filter(db, r) for r in rows]
    engine.dispose()


def test_share_reports_command_writes_one_csv_per_subscription(
        client: TestClient, accounts_by_role: dict[Role, Account], settings: Any,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bluelamp.cli import app

    sid = subscribe(client, accounts_by_role[Role.subscriber])["id"]
    monkeypatch.setenv("BLUELAMP_DATABASE__URL", settings.database.url)
    day = (NOW - dt.timedelta(hours=1)).date().isoformat()
    r = CliRunner().invoke(app, ["share", "reports", "--out", str(tmp_path), "--day", day,
                                 "--lake", str(settings.lake.path)])
    assert r.exit_code == 0, r.output
    path = tmp_path / f"subscription-{sid}-{day}.csv"
    assert json.loads(r.output)["files"] == [str(path)]
    text = path.read_text()
    _no_secrets(text)
    assert text.startswith("id,")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://[::1]/x",
                                 "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://localhost/x", "ftp://soc.example/x"])
def test_webhooks_to_internal_addresses_are_refused(
        client: TestClient, accounts_by_role: dict[Role, Account], url: str) -> None:
    r = client.post("/api/subscriptions", headers=bearer(accounts_by_role[Role.subscriber]),
                    json={"name": "ssrf", "channel": "webhook", "webhook_url": url})
    assert r.status_code == 422 and "webhook_url" in r.text, r.text


def test_delivery_refuses_a_name_that_now_points_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from bluelamp.act.feeds import webhooks

    def fake(host: str, *args: object, **kwargs: object) -> list[tuple[Any, ...]]:
        address = "10.0.0.5" if host == "rebound.example" else "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert webhooks.url_problem("https://soc.example/x") is None
    problem = webhooks.url_problem("https://rebound.example/x")
    assert problem and "non-public 10.0.0.5" in problem
    assert webhooks.url_problem("https://rebound.example/x", allow_private=True) is None
