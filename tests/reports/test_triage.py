"""Triage against a real resolver (Unbound on loopback) and the test lake: DNS checks,
lake hits, lookalikes, suggested categories, verification and campaign clustering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bluelamp.act.reports import routing, triage
from bluelamp.act.reports.intake import NewReport, create_report
from bluelamp.settings import ReportSettings
from bluelamp.store.db import session_factory
from bluelamp.store.lake import Lake

pytestmark = pytest.mark.system

RECORDS = {"www.shop-a.example": ["203.0.113.10"], "pay-b.example": ["203.0.113.10"],
           "other-c.example": ["203.0.113.99"]}


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # DNS is what is tested here; one back-end is enough
    return f"sqlite:///{tmp_path / 'triage.db'}"


@pytest.fixture
def conf(unbound_zone: Callable[[dict[str, list[str]]], int]) -> ReportSettings:
    port = unbound_zone(RECORDS)
    return ReportSettings(resolvers=["127.0.0.1"], resolver_port=port, resolver_timeout=2.0)


def test_resolves(conf: ReportSettings) -> None:
    assert triage.resolves("www.shop-a.example", conf) == {
        "resolves": True, "addresses": ["203.0.113.10"]}
    assert triage.resolves("gone.example", conf)["resolves"] is False
    dead = conf.model_copy(update={"resolver_port": 9, "resolver_timeout": 0.3})
    assert triage.resolves("www.shop-a.example", dead)["resolves"] is None  # unknown


def test_checks_and_campaigns(conf: ReportSettings, engine: Engine, lake_path: Path) -> None:
    with session_factory(engine)() as db:
        reports = [create_report(db, conf, NewReport(url=u, channel="web", category=c))
                   for u, c in (("http://www.shop-a.example/buy", None),
                                ("http://pay-b.example/", "fraud"),
                                ("http://other-c.example/", None),
                                ("https://login.hosting.example/x", None),
                                ("http://paypa1-verify.example/", "other"))]
        triage.Triage(conf, Lake(lake_path)).check(reports)
        campaigns = triage.assign_campaigns(reports)
        db.commit()
        shop, pay, other, known, phish = reports
        # two registered domains on one address are one campaign
        assert shop.campaign == pay.campaign != other.campaign
        assert triage.checks_of(other)["dns"]["addresses"] == ["203.0.113.99"]
        # the lake knows login.hosting.example as phishing (a TLP:CLEAR event)
        assert known.category == "phishing" and known.verified_at is not None
        assert triage.checks_of(known)["lake"][0]["type"] == "phishing"
        # a brand lookalike is phishing, whatever the reporter chose
        look = triage.checks_of(phish)["lookalike"]
        assert look["brand"] == "paypal" and phish.category == "phishing"
        assert phish.verified_at is not None
        # words only: a suggestion, not a verification
        assert shop.category != "phishing" and shop.verified_at is None
        assert all(r.status == "checked" for r in reports)
        assert sum(len(v) for v in campaigns.values()) == 5  # registered domains
        assert len(campaigns) == 4


def test_shared_address_links_domains(conf: ReportSettings, engine: Engine) -> None:
    with session_factory(engine)() as db:
        a = create_report(db, conf, NewReport(url="http://www.shop-a.example/", channel="web"))
        b = create_report(db, conf, NewReport(url="http://evil-two.example/", channel="web"))
        a.checks = '{"dns": {"addresses": ["198.51.100.1"]}}'
        b.checks = '{"dns": {"addresses": ["198.51.100.1"]}}'
        triage.assign_campaigns([a, b])
        assert a.campaign == b.campaign
        assert a.registered_domain != b.registered_domain


def test_recheck_closes_what_is_gone(conf: ReportSettings, engine: Engine) -> None:
    with session_factory(engine)() as db:
        gone, alive = (create_report(db, conf, NewReport(url=u, channel="web"))
                       for u in ("http://gone.example/x", "http://pay-b.example/"))
        for r in (gone, alive):
            r.status = "routed"
            r.routed_at = r.created_at
        dead = conf.model_copy(update={"resolver_port": 9, "resolver_timeout": 0.3})
        assert routing.recheck(db, dead) == 0  # no answer is not "gone"
        assert routing.recheck(db, conf) == 1
        assert (gone.status, gone.outcome) == ("closed", "taken-down")
        assert "no longer exists" in (gone.outcome_reason or "")
        assert alive.status == "routed"
