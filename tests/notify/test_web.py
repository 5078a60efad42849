"""The notice pages and API: every notice route × every role against the policy, review and
sending by a notifier, the portal of the recipient, the signed acknowledgement link, and
the clean-up page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.act.notify import run
from bluelamp.act.notify.compose import ack_url
from bluelamp.settings import Settings
from bluelamp.store.db import session_factory
from bluelamp.store.lake import Lake
from bluelamp.store.models.accounts import Role
from bluelamp.store.models.notifications import Notice
from bluelamp.store.models.orgs import Organisation
from bluelamp.web.app import create_app
from bluelamp.web.policy import POLICY, all_routes, route_permission
from notify.conftest import SmtpHandler, notify_settings
from notify.helpers import event, write_events
from web.conftest import Account, sign_in

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def app_settings(db_url: str, tmp_path: Path, smtp: tuple[SmtpHandler, int]) -> Settings:
    return notify_settings(db_url, tmp_path / "lake", smtp[1], auto_send_types=[])


@pytest.fixture
def notices(engine: Engine, app_settings: Settings,
            accounts_by_role: dict[Role, Account]) -> dict[str, int]:
    """A draft for Hosting Co (the subscriber's org) and one for Other Co."""
    lake = Lake(app_settings.lake.path)
    write_events(lake, event("e1", NOW), event("e2", NOW, source_org="Other Co",
                                               source_ip="203.0.113.9"))
    with session_factory(engine)() as db:
        run(db, lake, app_settings, NOW)
        db.commit()
        by_org = {}
        for n in db.scalars(select(Notice)):
            org = db.get(Organisation, n.org_id)
            assert org is not None
            by_org[org.name] = n.id
    return {"own": by_org["Hosting Co"], "other": by_org["Other Co"]}


@pytest.fixture
def client(app_settings: Settings, accounts_by_role: dict[Role, Account],
           notices: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        yield c


def _bearer(account: Account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.token}"}


def test_notice_routes_for_every_role(client: TestClient,
                                      accounts_by_role: dict[Role, Account]) -> None:
    mine = [(r, route_permission(r)) for r in all_routes(client.app)
            if isinstance(r, APIRoute) and "notices" in r.path]
    assert len(mine) >= 14
    client.get("/")
    anonymous = {"x-csrf-token": client.cookies["bl_csrf"]}
    wrong = []
    for role in Role:
        headers = anonymous if role is Role.public else _bearer(accounts_by_role[role])
        for route, permission in mine:
            assert permission is not None
            path = re.sub(r"{\w+}", "999", route.path)
            for method in route.methods or ():
                r = client.request(method, path, headers=headers, follow_redirects=False)
                denied = r.status_code in (401, 403) or (
                    r.status_code == 303 and r.headers["location"].startswith("/login"))
                if (role in POLICY[permission].roles) == denied or r.status_code >= 500:
                    wrong.append(f"{role.value} {method} {path}: {r.status_code}")
    assert wrong == []


def test_notifier_reviews_and_sends(client: TestClient, accounts_by_role: dict[Role, Account],
                                    notices: dict[str, int],
                                    smtp: tuple[SmtpHandler, int]) -> None:
    handler, _ = smtp
    notifier = accounts_by_role[Role.notifier]
    drafts = client.get("/api/notices?status=draft", headers=_bearer(notifier)).json()
    assert {d["id"] for d in drafts} == set(notices.values())
    sign_in(client, notifier)
    page = client.get(f"/notices/{notices['own']}")
    assert page.status_code == 200 and "198.51.100.7" in page.text
    assert "Approve and send" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(f"/notices/{notices['own']}/send", data={"csrf_token": csrf.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303 and "message=sent" in r.headers["location"]
    assert [m.recipients for m in handler.received] == [["subscriber@test.example"]]
    detail = client.get(f"/api/notices/{notices['own']}", headers=_bearer(notifier)).json()
    assert detail["status"] == "sent" and detail["reviewed_by"] == notifier.email
    assert client.get("/notices").status_code == 200


def test_subscriber_sees_only_own_sent_notices(
        client: TestClient, accounts_by_role: dict[Role, Account],
        notices: dict[str, int]) -> None:
    subscriber = accounts_by_role[Role.subscriber]
    notifier = accounts_by_role[Role.notifier]
    assert client.get("/api/my/notices", headers=_bearer(subscriber)).json() == []  # draft
    for n in notices.values():
        client.post(f"/api/notices/{n}/send", headers=_bearer(notifier))
    mine = client.get("/api/my/notices", headers=_bearer(subscriber)).json()
    assert [n["id"] for n in mine] == [notices["own"]]
    assert mine[0]["items"][0]["host"] == "198.51.100.7"
    other = client.get(f"/my/notices/{notices['other']}", headers=_bearer(subscriber))
    assert other.status_code == 404
    sign_in(client, subscriber)
    page = client.get(f"/my/notices/{notices['own']}")
    assert page.status_code == 200 and "Why it matters" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(f"/my/notices/{notices['own']}/ack", data={"csrf_token": csrf.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303
    again = client.get("/api/my/notices", headers=_bearer(subscriber)).json()
    assert again[0]["status"] == "acknowledged" and again[0]["acknowledged_at"]


def test_signed_acknowledgement_link(client: TestClient, engine: Engine,
                                     app_settings: Settings,
                                     accounts_by_role: dict[Role, Account],
                                     notices: dict[str, int]) -> None:
    client.post(f"/api/notices/{notices['own']}/send",
                headers=_bearer(accounts_by_role[Role.notifier]))
    with session_factory(engine)() as db:
        notice = db.get(Notice, notices["own"])
        assert notice is not None
        link = ack_url(app_settings, notice).removeprefix("https://bluelamp.example")
    page = client.get(link)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Confirm that we received" in page.text
    assert "nosniff" in page.headers["x-content-type-options"]
    n, sig = re.findall(r"n=(\d+)&sig=(\w+)", link)[0]
    assert client.get(f"/notices/ack?n={n}&sig={'0' * len(sig)}").status_code == 404
    assert client.get(f"/notices/ack?n={notices['other']}&sig={sig}").status_code == 404
    with session_factory(engine)() as db:
        pending = db.get(Notice, notices["own"])
        assert pending is not None and pending.acknowledged_at is None
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = client.post("/notices/ack", data={"n": n, "sig": sig,
                                             "csrf_token": csrf.group(1)})
    assert done.status_code == 200 and "Thank you" in done.text
    with session_factory(engine)() as db:
        notice = db.get(Notice, notices["own"])
        assert notice is not None and notice.status == "acknowledged"


def test_cleanup_page_has_plots(client: TestClient,
                                accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/notices/stats")
    assert page.status_code == 200 and "<svg" in page.text and "Clean-up rate" in page.text
    stats = client.get("/api/notices/stats").json()
    assert stats["funnel"]["draft"] == 2
