"""End to end with the real Knot server, on SQLite and PostgreSQL: request → approve → a
DNS query shows the name held or redirected → complaint → reinstatement (by the agency's
withdrawal, or by the 10-working-day clock) → the original RRsets are back, compared
exactly. Plus four-eyes for bulk, officers seeing only their agency's cases, and the audit
log covering every step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dns.rcode
import dns.tsig
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bluelamp.act.cases.desk import CaseError, build_desk
from bluelamp.registry.base import rrsets_of
from bluelamp.registry.rfc2136 import DnsUpdateAdapter
from bluelamp.settings import Settings
from bluelamp.store import audit
from bluelamp.store.db import session_factory, transaction
from bluelamp.store.models.audit import AuditEntry
from bluelamp.store.models.suspensions import SuspensionRequest

from .conftest import People
from .knot import KEY_NAME, ZONE, Knot


def zone_state(knot: Knot, domain: str) -> list[Any]:
    """What the zone holds at and below `domain`, read by a TSIG-signed AXFR."""
    adapter = DnsUpdateAdapter([ZONE], "127.0.0.1", knot.port,
                               dns.tsig.Key(KEY_NAME, knot.secret, "hmac-sha256"))
    return rrsets_of(adapter.snapshot([domain])[domain])


def file(client: TestClient, who: dict[str, str], domains: list[str], **extra: Any
         ) -> dict[str, Any]:
    body = {"domains": domains, "category": "unlicensed-medicines",
            "legal_basis": "Medicines Act 1968 s.7; court order 2026/123", **extra}
    r = client.post("/api/suspensions", json=body, headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def public_headers(client: TestClient) -> dict[str, str]:
    client.get("/")
    return {"x-csrf-token": client.cookies["bl_csrf"]}


def test_hold_complaint_lapses_and_the_clock_reinstates(
        desk_client: TestClient, people: People, knot: Knot, engine: Engine,
        desk_settings: Settings) -> None:
    domain = f"pharma-shop.{ZONE}"
    before = zone_state(knot, domain)
    assert len(before) == 4  # NS, DS, glue A and AAAA
    case = file(desk_client, people.officer, [domain], urgency="high")
    assert case["items"][0]["status"] == "requested"
    assert case["sla"]["hours_left"] > 23 and case["sla"]["hours_left"] <= 24

    r = desk_client.post(f"/api/suspensions/{case['id']}/approve", headers=people.reviewer)
    assert r.status_code == 200, r.text
    item = r.json()["items"][0]
    assert item["status"] == "suspended", item["note"]
    assert "NXDOMAIN" in item["note"]
    assert knot.query(domain, "NS").rcode() == dns.rcode.NXDOMAIN  # a real DNS query
    assert knot.query(f"www.{domain}").rcode() == dns.rcode.NXDOMAIN
    assert zone_state(knot, domain) == []
    assert rrsets_of(item["undo"]) == before  # the undo record is exact
    assert "National Crime Agency" in item["notice"]

    # the registrant complains through the public API (anyone may; CSRF as in a browser)
    r = desk_client.post("/api/complaints", headers=public_headers(desk_client), json={
        "domain": domain, "contact": "owner@shop.example", "text": "We are a real pharmacy."})
    assert r.status_code == 201, r.text
    complaint = r.json()
    # routed to the requesting agency only
    mine = desk_client.get("/api/suspensions/complaints", headers=people.officer).json()
    assert [c["id"] for c in mine] == [complaint["id"]]
    assert desk_client.get("/api/suspensions/complaints", headers=people.other_officer
                           ).json() == []

    deadline = dt.datetime.fromisoformat(complaint["deadline"])
    assert deadline - dt.datetime.now(dt.UTC) >= dt.timedelta(days=12)  # 10 working days
    with transaction(session_factory(engine)) as db:  # not yet due: nothing happens
        assert build_desk(db, desk_settings, now=lambda: deadline - dt.timedelta(
            minutes=1)).tick() == []
    assert zone_state(knot, domain) == []
    with transaction(session_factory(engine)) as db:
        done = build_desk(db, desk_settings, now=lambda: deadline).tick()
    assert [d for d, _ in done] == [domain]
    assert zone_state(knot, domain) == before  # exactly the original RRsets, TTLs included
    assert knot.query(domain, "NS").rcode() == dns.rcode.NOERROR

    case = desk_client.get(f"/api/suspensions/{case['id']}", headers=people.officer).json()
    assert case["items"][0]["status"] == "reinstated"
    assert case["items"][0]["complaints"][0]["status"] == "lapsed"
    with session_factory(engine)() as db:
        assert audit.verify(db) == []
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    for step in ("suspension.requested", "suspension.approved", "suspension.executed",
                 "complaint.received", "complaint.lapsed", "suspension.reinstated"):
        assert step in actions


def test_redirect_landing_page_and_withdrawal(desk_client: TestClient, people: People,
                                              knot: Knot) -> None:
    domain = f"shop.{ZONE}"
    before = zone_state(knot, domain)
    case = file(desk_client, people.officer, [domain], action="redirect",
                category="counterfeit-goods")
    context = case["items"][0]["context"]
    assert context["resolves"] is True and "198.51.100.20" in context["addresses"]
    r = desk_client.post(f"/api/suspensions/{case['id']}/approve", headers=people.reviewer)
    assert r.json()["items"][0]["status"] == "suspended", r.text
    answer = knot.query(domain).answer
    assert [rd.to_text() for rrs in answer for rd in rrs] == ["192.0.2.99"]
    assert not knot.query(domain, "MX").answer  # the old records are gone

    page = desk_client.get(f"/suspended/{domain}")
    assert page.status_code == 200 and "National Crime Agency" in page.text

    r = desk_client.post("/api/complaints", headers=public_headers(desk_client), json={
        "domain": domain, "contact": "owner@shop.example", "text": "Genuine goods."})
    complaint_id = r.json()["id"]
    again = desk_client.post("/api/complaints", headers=public_headers(desk_client), json={
        "domain": domain, "contact": "owner@shop.example", "text": "Me again."})
    assert again.status_code == 409 and "already open" in again.text  # one clock at a time
    # another agency cannot answer it (it looks absent), the requesting one can
    r = desk_client.post(f"/api/suspensions/complaints/{complaint_id}/answer",
                         headers=people.other_officer, json={"decision": "withdraw"})
    assert r.status_code == 404
    r = desk_client.post(f"/api/suspensions/complaints/{complaint_id}/answer",
                         headers=people.officer, json={"decision": "withdraw",
                                                       "text": "Test purchase was genuine."})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    assert zone_state(knot, domain) == before
    assert desk_client.get(f"/suspended/{domain}").status_code == 404


def test_validation_refuses_and_merges(desk_client: TestClient, people: People,
                                       knot: Knot) -> None:
    case = file(desk_client, people.officer, [f"fake-bank.{ZONE}", f"FAKE-BANK.{ZONE}.",
                                              "outside.example", ZONE])
    items = {i["domain"]: i for i in case["items"]}
    assert items[f"fake-bank.{ZONE}"]["merged"] == 1
    assert items[f"fake-bank.{ZONE}"]["status"] == "requested"
    assert items["outside.example"]["status"] == "refused"
    assert items[ZONE]["status"] == "refused"  # the zone apex is not a registered name
    again = file(desk_client, people.other_officer, [f"fake-bank.{ZONE}"])
    assert again["items"][0]["status"] == "refused"
    assert "already requested" in again["items"][0]["note"]


def test_four_eyes_for_bulk(desk_client: TestClient, people: People, knot: Knot) -> None:
    csv = (b"domain,reason\n"
           b"fake-bank.reg.test,phishing kit\n"
           b"not a name,\n"
           b"innocent.reg.test,\n"
           b"fake-bank.reg.test,duplicate\n")
    r = desk_client.post("/api/suspensions/bulk", headers=people.officer,
                         files={"file": ("names.csv", csv, "text/csv")},
                         data={"category": "phishing", "legal_basis": "Fraud Act 2006"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["bulk"] and case["names"] == {"requested": 2}
    assert [(e["line"], e["field"]) for e in case["errors"]] == [(3, "domain")]
    url = f"/api/suspensions/{case['id']}/approve"
    assert desk_client.post(url, headers=people.reviewer).json()["status"] == "second-review"
    assert knot.query(f"fake-bank.{ZONE}", "NS").rcode() == dns.rcode.NOERROR  # not yet
    r = desk_client.post(url, headers=people.reviewer)  # the same reviewer again
    assert r.status_code == 403 and "four-eyes" in r.text
    r = desk_client.post(url, headers=people.second_reviewer)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert {i["status"] for i in r.json()["items"]} == {"suspended"}
    assert knot.query(f"innocent.{ZONE}").rcode() == dns.rcode.NXDOMAIN


def test_officers_see_only_their_agency(desk_client: TestClient, people: People,
                                        knot: Knot) -> None:
    case = file(desk_client, people.officer, [f"innocent.{ZONE}"])
    assert desk_client.get(f"/api/suspensions/{case['id']}",
                           headers=people.other_officer).status_code == 404
    assert desk_client.get("/api/suspensions", headers=people.other_officer).json() == []
    assert [c["id"] for c in desk_client.get("/api/suspensions", headers=people.officer
                                             ).json()] == [case["id"]]
    assert len(desk_client.get("/api/suspensions", headers=people.reviewer).json()) == 1
    # officers cannot approve, reviewers cannot file
    assert desk_client.post(f"/api/suspensions/{case['id']}/approve",
                            headers=people.officer).status_code == 403
    assert desk_client.post("/api/suspensions", headers=people.reviewer, json={
        "domains": ["x.reg.test"], "category": "fraud", "legal_basis": "x"}).status_code == 403


def test_reject_needs_a_reason_and_counts_as_refused(desk_client: TestClient, people: People,
                                                     knot: Knot) -> None:
    case = file(desk_client, people.officer, [f"innocent.{ZONE}"], category="fraud")
    url = f"/api/suspensions/{case['id']}/reject"
    assert desk_client.post(url, headers=people.reviewer, json={"reason": ""}
                            ).status_code == 422
    r = desk_client.post(url, headers=people.reviewer, json={"reason": "no evidence of fraud"})
    assert r.json()["status"] == "rejected"
    year = dt.datetime.now(dt.UTC).year
    report = desk_client.get(f"/api/suspensions/stats?year={year}").json()
    assert report["names"]["refused"] == 1 and report["names"]["suspended"] == 0
    assert report["by_category"] == [{"name": "fraud", "requested": 1, "suspended": 0,
                                      "refused": 1, "reversed": 0}]
    page = desk_client.get(f"/reports/suspensions?year={year}")
    assert page.status_code == 200 and "<svg" in page.text


def test_a_big_approved_bulk_request_is_executed_by_the_tick(
        desk_client: TestClient, people: People, knot: Knot, engine: Engine,
        desk_settings: Settings) -> None:
    desk_settings.suspensions.execute_inline_max = 1  # the app holds this settings object
    names = [f"fake-bank.{ZONE}", f"innocent.{ZONE}"]
    case = file(desk_client, people.officer, names)
    url = f"/api/suspensions/{case['id']}/approve"
    desk_client.post(url, headers=people.reviewer)
    r = desk_client.post(url, headers=people.second_reviewer)
    assert r.json()["status"] == "approved"
    assert {i["status"] for i in r.json()["items"]} == {"requested"}  # queued, not run
    assert knot.query(f"innocent.{ZONE}").answer
    with transaction(session_factory(engine)) as db:
        done = build_desk(db, desk_settings).tick()
    assert sorted(done) == [(n, "executed: suspended") for n in sorted(names)]
    assert knot.query(f"innocent.{ZONE}").rcode() == dns.rcode.NXDOMAIN
    with transaction(session_factory(engine)) as db:
        assert build_desk(db, desk_settings).tick() == []  # idempotent


def test_two_reviewers_at_once_execute_once(desk_client: TestClient, people: People,
                                            knot: Knot, engine: Engine,
                                            desk_settings: Settings) -> None:
    """Two sessions read the same pending request; only the first decision counts."""
    case = file(desk_client, people.officer, [f"innocent.{ZONE}"])
    factory = session_factory(engine)
    with factory() as first, factory() as second:
        a = build_desk(first, desk_settings)
        b = build_desk(second, desk_settings)
        mine = a.db.get(SuspensionRequest, case["id"])
        theirs = b.db.get(SuspensionRequest, case["id"])
        assert mine is not None and theirs is not None
        b.reject("reviewer2@test.example", theirs, "not enough evidence")
        second.commit()
        with pytest.raises(CaseError, match="changed by someone else"):
            a.approve("reviewer@test.example", mine)
        first.rollback()
    assert knot.query(f"innocent.{ZONE}").answer  # never executed
