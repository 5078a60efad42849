"""Analyst searches, detail pages, dashboards, retro-hunt, and the subscriber's view."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.settings import Settings
from bluelamp.store.db import session_factory
from bluelamp.store.models import AuditEntry, Role
from bluelamp.web import charts
from bluelamp.web.advice import ADVICE

from .conftest import NOW, Account, sign_in


def _ids(client: TestClient, path: str, token: str, **params: object) -> list[str]:
    r = client.get(path, params=params, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()]


def test_finding_filters(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    t = accounts_by_role[Role.analyst].token
    assert _ids(client, "/api/findings", t) == ["f-dga-1", "f-tun-1", "f-beacon-1", "f-xss"]
    assert _ids(client, "/api/findings", t, type="dns-tunnel") == ["f-tun-1"]
    assert _ids(client, "/api/findings", t, min_score=0.8) == ["f-dga-1", "f-tun-1"]
    assert _ids(client, "/api/findings", t, subject="10.1.2") == ["f-dga-1"]
    since = (NOW - __import__("datetime").timedelta(hours=30)).isoformat()
    assert _ids(client, "/api/findings", t, since=since) == ["f-dga-1", "f-beacon-1", "f-xss"]
    assert _ids(client, "/api/findings", t, limit=1) == ["f-dga-1"]
    r = client.get("/api/findings", params={"min_score": 2},
                   headers={"authorization": f"Bearer {t}"})
    assert r.status_code == 422


def test_event_filters(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    t = accounts_by_role[Role.notifier].token
    assert set(_ids(client, "/api/events", t, region="North West")) == {"e-other"}
    assert set(_ids(client, "/api/events", t, feed="urlhaus")) == {"e-own-domain"}
    assert set(_ids(client, "/api/events", t, subject="198.51.100")) == {"e-own-ip",
                                                                         "e-own-red"}
    assert set(_ids(client, "/api/events", t, type="phishing")) == {"e-own-domain",
                                                                    "e-other-domain"}


def test_search_page_and_detail_page(client: TestClient,
                                     accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/findings", params={"type": "dga-infected-client", "min_score": ""})
    assert page.status_code == 200 and "1 findings" in page.text
    assert 'href="/findings/f-dga-1"' in page.text
    detail = client.get("/findings/f-dga-1")
    assert "91% NXDOMAIN" in detail.text and "nx_ratio" in detail.text
    assert "xkqjz.com" in detail.text
    assert client.get("/findings/nope").status_code == 404
    bad = client.get("/findings", params={"min_score": "lots"})
    assert bad.status_code == 200 and "min_score" in bad.text  # the error is shown
    assert "e-other" in client.get("/events", params={"region": "North West"}).text


def test_lake_text_is_escaped(client: TestClient,
                              accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.analyst])
    for html in (client.get("/findings").text, client.get("/findings/f-xss").text):
        assert "<script>" not in html and "<img src=x>" not in html
        assert "&lt;script&gt;" in html


def test_dashboard_has_plots(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/dashboard").text
    assert page.count("<svg") == 6
    assert "dga-infected-client" in page and "North West" in page
    assert "198.51.100.0/24" in page  # top networks
    stats = client.get("/api/stats").json()
    assert dict(map(tuple, stats["events_by_region"]))["London"] == 4  # type: ignore[arg-type]
    assert sum(v for _, v in stats["findings_by_type"]) == 4


def test_retro_hunt(client: TestClient, engine: Engine,
                    accounts_by_role: dict[Role, Account]) -> None:
    h = {"authorization": f"Bearer {accounts_by_role[Role.analyst].token}"}
    rows = client.get("/api/hunt", params={"domain": "Bad.Example."}, headers=h).json()
    assert {r["client"]: r["lookups"] for r in rows} == {"10.0.0.1": 2, "10.0.0.2": 1}
    assert client.get("/api/hunt", params={"domain": "bad.example", "days": 1},
                      headers=h).json() == []
    assert client.get("/api/hunt", params={"domain": "not a domain!"},
                      headers=h).status_code == 422
    with session_factory(engine)() as db:
        hunts = db.scalars(select(AuditEntry).where(AuditEntry.action == "hunt.run")).all()
    assert [e.subject for e in hunts] == ["bad.example", "bad.example"]
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/hunt", params={"domain": "bad.example"}).text
    assert "2 clients" in page and "10.0.0.2" in page


def test_subscriber_sees_only_its_own_threats_within_tlp(
        client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    t = accounts_by_role[Role.subscriber].token
    events = client.get("/api/my/events", headers={"authorization": f"Bearer {t}"}).json()
    # own IPv4, own IPv6, own domain; not TLP:RED, not other networks, not nothosting.example
    assert {e["id"] for e in events} == {"e-own-ip", "e-own-v6", "e-own-domain"}
    by_id = {e["id"]: e for e in events}
    assert by_id["e-own-domain"]["advice"]["title"] == ADVICE["phishing"].title
    assert by_id["e-own-ip"]["advice"]["steps"] == list(ADVICE["infected-system"].steps)
    # and the analyst search is not open to it
    assert client.get("/api/events", headers={"authorization": f"Bearer {t}"}
                      ).status_code == 403


def test_subscriber_page(client: TestClient, accounts_by_role: dict[Role, Account]) -> None:
    sign_in(client, accounts_by_role[Role.subscriber])
    page = client.get("/my/threats")
    assert page.status_code == 200
    assert ADVICE["phishing"].title in page.text and "login.hosting.example" in page.text
    assert "198.51.100.9" not in page.text and "203.0.113.50" not in page.text
    org = client.get("/my/org").text
    assert "198.51.100.0/24" in org and "verified" in org


def test_bar_chart_escapes_and_scales() -> None:
    svg = str(charts.bar_chart([("<b>x</b>", 10), ("y", 5)]))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == 2 * widths[1]
    assert "style=" not in svg  # CSP: no inline styles
    assert "no data" in str(charts.bar_chart([]))


def test_line_chart_points() -> None:
    svg = str(charts.line_chart([("2026-01-01", 0), ("2026-01-02", 10), ("2026-01-03", 5)]))
    assert svg.count("<circle") == 3 and "<polyline" in svg and "style=" not in svg
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher


def test_per_day_fills_quiet_days() -> None:
    import datetime as dt

    from bluelamp.web.lakeview import per_day

    since = dt.datetime(2026, 1, 30, 12, tzinfo=dt.UTC)
    until = dt.datetime(2026, 2, 2, 1, tzinfo=dt.UTC)
    assert per_day([("2026-02-01", 3.0)], since, until) == [
        ("2026-01-30", 0.0), ("2026-01-31", 0.0), ("2026-02-01", 3.0), ("2026-02-02", 0.0)]


def test_admin_changes_a_role_and_deactivates_a_user(
        client: TestClient, engine: Engine, accounts_by_role: dict[Role, Account]) -> None:
    from .conftest import csrf_of

    sign_in(client, accounts_by_role[Role.admin])
    assert "notifier@test.example" in client.get("/admin/users").text
    token = csrf_of(client, "/admin/users")
    target = accounts_by_role[Role.notifier]
    with session_factory(engine)() as db:
        from bluelamp.web.accounts import find_user

        user = find_user(db, target.email)
        me = find_user(db, accounts_by_role[Role.admin].email)
        assert user is not None and me is not None
        user_id, my_id = user.id, me.id
    r = client.post(f"/admin/users/{user_id}", data={"role": "analyst", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and "updated" in r.headers["location"]
    # the form went without the "active" box ticked: the user is now a deactivated
    # analyst, and its token no longer works
    headers = {"authorization": f"Bearer {target.token}"}
    assert client.get("/api/hunt", params={"domain": "bad.example"},
                      headers=headers).status_code == 401
    r = client.post(f"/admin/users/{my_id}", data={"role": "analyst", "csrf_token": token},
                    follow_redirects=False)
    assert "error" in r.headers["location"]  # an admin does not demote itself by a click
    with session_factory(engine)() as db:
        actions = db.scalars(select(AuditEntry.action).where(
            AuditEntry.subject == target.email)).all()
    assert "user.role_changed" in actions and "user.deactivated" in actions
    audit_page = client.get("/admin/audit").text
    assert "Hash chain verified" in audit_page and "user.role_changed" in audit_page


def test_every_event_type_our_findings_become_has_advice() -> None:
    from bluelamp.events import FINDING_CLASSES

    types = {t for _, _, _, t in FINDING_CLASSES} - {"undetermined"}
    assert types - set(ADVICE) == set()


def test_a_fresh_install_with_an_empty_lake(make_settings: Callable[..., Settings],
                                            tmp_path: Path,
                                            accounts_by_role: dict[Role, Account]) -> None:
    """`bluelamp serve` before any analysis: pages work and say there is nothing yet."""
    from bluelamp.web.app import create_app

    settings = make_settings()
    settings.lake.path = tmp_path / "empty-lake"
    h = {"authorization": f"Bearer {accounts_by_role[Role.admin].token}"}
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/findings", headers=h).json() == []
        assert c.get("/api/hunt", params={"domain": "x.example"}, headers=h).json() == []
        sub = {"authorization": f"Bearer {accounts_by_role[Role.subscriber].token}"}
        assert c.get("/api/my/events", headers=sub).json() == []
        sign_in(c, accounts_by_role[Role.analyst])
        page = c.get("/dashboard").text
        assert page.count("<svg") == 6 and "no data" in page
