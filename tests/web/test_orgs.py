"""Organisations: claims, ownership proofs (DNS TXT through a real resolver, admin approval),
and what a subscriber then sees."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from bluelamp.settings import Settings
from bluelamp.store.db import session_factory
from bluelamp.store.models import AuditEntry, Role
from bluelamp.web import orgs
from bluelamp.web.app import create_app

from .conftest import Account


def _bearer(account: Account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.token}"}


def _actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ----------------------------------------------------------------------------- parsers

@given(st.ip_addresses(), st.integers(0, 128))
def test_parse_network_accepts_exactly_valid_cidrs(address: object, prefix: int) -> None:
    text = f"{address}/{prefix}"
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        with pytest.raises(orgs.ClaimError):
            orgs.parse_network(text)
        return
    try:
        assert orgs.parse_network(text) == str(net)
    except orgs.ClaimError as exc:
        assert "private" in str(exc)  # refused only as unclaimable space


@given(st.text(max_size=60))
def test_parsers_never_fail_otherwise(text: str) -> None:
    for parse in (orgs.parse_network, orgs.parse_asn, orgs.parse_domain):
        with contextlib.suppress(orgs.ClaimError):  # anything else would fail the test
            parse(text)


@pytest.mark.parametrize("text, expected", [("AS64500", 64500), ("as 1", None),
                                            ("4294967295", 4294967295), ("4294967296", None),
                                            ("0", None), ("12a", None)])
def test_parse_asn(text: str, expected: int | None) -> None:
    if expected is None:
        with pytest.raises(orgs.ClaimError):
            orgs.parse_asn(text)
    else:
        assert orgs.parse_asn(text) == expected


@pytest.mark.parametrize("text, expected", [("Example.COM.", "example.com"),
                                            ("bücher.example", "xn--bcher-kva.example"),
                                            ("localhost", None), ("a..b", None),
                                            ("-bad-.example", "-bad-.example")])
def test_parse_domain(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(orgs.ClaimError):
            orgs.parse_domain(text)
    else:
        assert orgs.parse_domain(text) == expected


def test_private_space_cannot_be_claimed() -> None:
    for net in ("10.1.0.0/16", "192.168.0.0/24", "fd00::/8", "127.0.0.1/32"):
        with pytest.raises(orgs.ClaimError):
            orgs.parse_network(net)


# ----------------------------------------------------------------------------- DNS proof

def test_domain_is_verified_by_a_txt_record(make_settings: Callable[..., Settings],
                                            accounts_by_role: dict[Role, Account],
                                            unbound_txt: Callable[[str, str], int],
                                            engine: Engine) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    # first against a resolver that knows no such record
    wrong_port = unbound_txt("_bluelamp-challenge.other.test", "nothing")
    with TestClient(create_app(make_settings(dns_nameservers=["127.0.0.1"],
                                             dns_port=wrong_port))) as c:
        made = c.post("/api/my/org/claims", json={"kind": "domain", "value": "Shop.Test."},
                      headers=sub)
        assert made.status_code == 201, made.text
        claim_id = made.json()["id"]
        org = c.get("/api/my/org", headers=sub).json()
        domain = next(d for d in org["domains"] if d["id"] == claim_id)
        assert domain["domain"] == "shop.test" and domain["status"] == "pending"
        assert domain["txt_name"] == "_bluelamp-challenge.shop.test"
        r = c.post(f"/api/my/org/domains/{claim_id}/check", headers=sub).json()
        assert r["verified"] is False
    # now the organisation publishes its token; the check goes through a real resolver
    port = unbound_txt(domain["txt_name"], domain["txt_value"])
    with TestClient(create_app(make_settings(dns_nameservers=["127.0.0.1"],
                                             dns_port=port))) as c:
        r = c.post(f"/api/my/org/domains/{claim_id}/check", headers=sub).json()
        assert r == {"domain": "shop.test", "verified": True, "reason": "token found"}
        statuses = {d["domain"]: d["status"] for d in c.get("/api/my/org",
                                                             headers=sub).json()["domains"]}
        assert statuses["shop.test"] == "verified"
    assert "org.domain_check_failed" in _actions(engine)
    assert _actions(engine)[-1] == "org.domain_verified"


def test_a_txt_record_with_another_token_does_not_verify(
        make_settings: Callable[..., Settings], accounts_by_role: dict[Role, Account],
        unbound_txt: Callable[[str, str], int]) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    port = unbound_txt("_bluelamp-challenge.shop.test", "somebody-elses-token")
    with TestClient(create_app(make_settings(dns_nameservers=["127.0.0.1"],
                                             dns_port=port))) as c:
        claim_id = c.post("/api/my/org/claims", json={"kind": "domain", "value": "shop.test"},
                          headers=sub).json()["id"]
        r = c.post(f"/api/my/org/domains/{claim_id}/check", headers=sub).json()
    assert r["verified"] is False and "no TXT record with the token" in r["reason"]


# ----------------------------------------------------------------------------- approvals

def test_network_events_flow_only_after_admin_approval(
        client: TestClient, accounts_by_role: dict[Role, Account], engine: Engine) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    admin = _bearer(accounts_by_role[Role.admin])
    seen = {e["id"] for e in client.get("/api/my/events", headers=sub).json()}
    assert "e-other" not in seen  # 203.0.113.50 is not the subscriber's
    made = client.post("/api/my/org/claims", json={"kind": "network",
                                                   "value": "203.0.113.0/24"}, headers=sub)
    assert made.status_code == 201 and made.json()["status"] == "pending"
    # pending: still nothing from that network
    assert "e-other" not in {e["id"] for e in client.get("/api/my/events", headers=sub).json()}
    # the subscriber cannot approve its own claim
    claim = made.json()["id"]
    assert client.post(f"/api/admin/claims/network/{claim}", headers=sub).status_code == 403
    assert client.post(f"/api/admin/claims/network/{claim}", headers=admin).status_code == 200
    assert "e-other" in {e["id"] for e in client.get("/api/my/events", headers=sub).json()}
    assert "org.network_verified" in _actions(engine)


def test_asn_events_flow_after_approval(client: TestClient,
                                        accounts_by_role: dict[Role, Account]) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    admin = _bearer(accounts_by_role[Role.admin])
    assert "e-asn" not in {e["id"] for e in client.get("/api/my/events", headers=sub).json()}
    claim = client.post("/api/my/org/claims", json={"kind": "asn", "value": "AS64999"},
                        headers=sub).json()["id"]
    assert client.post(f"/api/admin/claims/asn/{claim}", headers=admin).status_code == 200
    events = {e["id"]: e for e in client.get("/api/my/events", headers=sub).json()}
    assert "e-asn" in events and events["e-asn"]["advice"]["title"] == "Your system sends spam"


def test_rejected_claims_give_nothing(client: TestClient,
                                      accounts_by_role: dict[Role, Account]) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    admin = _bearer(accounts_by_role[Role.admin])
    claim = client.post("/api/my/org/claims", json={"kind": "network", "value":
                                                    "203.0.113.0/24"}, headers=sub).json()["id"]
    r = client.post(f"/api/admin/claims/network/{claim}?approve=false", headers=admin)
    assert r.status_code == 200
    assert "e-other" not in {e["id"] for e in client.get("/api/my/events", headers=sub).json()}


def test_duplicate_and_malformed_claims(client: TestClient,
                                        accounts_by_role: dict[Role, Account]) -> None:
    sub = _bearer(accounts_by_role[Role.subscriber])
    r = client.post("/api/my/org/claims", json={"kind": "network", "value": "198.51.100.0/24"},
                    headers=sub)
    assert r.status_code == 422 and "already registered" in r.json()["detail"]
    r = client.post("/api/my/org/claims", json={"kind": "network", "value": "198.51.100.1/24"},
                    headers=sub)
    assert r.status_code == 422 and "CIDR" in r.json()["detail"]
    r = client.post("/api/my/org/claims", json={"kind": "planet", "value": "x"}, headers=sub)
    assert r.status_code == 422


def test_one_org_cannot_check_anothers_domain(client: TestClient, engine: Engine,
                                              accounts_by_role: dict[Role, Account]) -> None:
    from bluelamp.store.db import transaction
    from bluelamp.web import accounts

    with transaction(session_factory(engine)) as db:
        other = accounts.find_org(db, "Other Co")
        assert other is not None
        row = orgs.claim(db, "test", other, "domain", "other.example")
        accounts.create_user(db, "test", "sub2@other.example", "subscriber",
                             "another long password", "Other Co")
        token = accounts.create_token(db, "test", "sub2@other.example")
        theirs = row.id
    mine = _bearer(accounts_by_role[Role.subscriber])
    assert client.post(f"/api/my/org/domains/{theirs}/check", headers=mine).status_code == 404
    # and the other org sees none of the first one's events
    events = client.get("/api/my/events", headers={"authorization": f"Bearer {token}"}).json()
    assert events == []
