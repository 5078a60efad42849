"""The RFC 2136 adapter against a real Knot DNS: hold and redirect change what the server
answers, reinstatement restores the exact RRsets, a wrong TSIG key changes nothing."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import pytest

from bluelamp.registry.base import RegistryError, rrsets_of
from bluelamp.registry.rfc2136 import DnsUpdateAdapter
from conftest import require_binary

from .knot import KEY_NAME, ZONE, Knot

Make = Callable[..., DnsUpdateAdapter]


@pytest.fixture(params=["python", "kdig"])
def make_adapter(request: pytest.FixtureRequest) -> Make:
    """Every test runs with both zone readers: the built-in AXFR and Knot's kdig."""
    kdig = require_binary("/usr/bin/kdig", "knot-dnsutils") if request.param == "kdig" else None

    def make(knot: Knot, secret: str | None = None) -> DnsUpdateAdapter:
        key = dns.tsig.Key(KEY_NAME, secret or knot.secret, "hmac-sha256")
        return DnsUpdateAdapter([ZONE], "127.0.0.1", knot.port, key, timeout=3,
                                redirect_v4=["192.0.2.99"], redirect_v6=["2001:db8::99"],
                                kdig=kdig)

    return make


def test_snapshot_reads_the_delegation_with_glue_and_ds(knot: Knot, make_adapter: Make) -> None:
    undo = make_adapter(knot).snapshot([f"pharma-shop.{ZONE}"])[f"pharma-shop.{ZONE}"]
    types = {(r.owner, r.rdtype) for r in rrsets_of(undo)}
    assert types == {(f"pharma-shop.{ZONE}.", "NS"), (f"pharma-shop.{ZONE}.", "DS"),
                     (f"ns1.pharma-shop.{ZONE}.", "A"), (f"ns1.pharma-shop.{ZONE}.", "AAAA")}


@pytest.mark.parametrize("name", ["pharma-shop", "shop"])
def test_hold_then_reinstate_restores_exact_rrsets(knot: Knot, make_adapter: Make,
                                                   name: str) -> None:
    a = make_adapter(knot)
    domain = f"{name}.{ZONE}"
    undo = a.snapshot([domain])[domain]
    assert knot.query(domain, "NS").rcode() == dns.rcode.NOERROR
    seen = a.suspend(domain, "hold", undo)
    assert "NXDOMAIN" in seen
    assert knot.query(domain, "A").rcode() == dns.rcode.NXDOMAIN
    assert rrsets_of(a.snapshot([domain])[domain]) == []
    a.reinstate(domain, undo)
    assert rrsets_of(a.snapshot([domain])[domain]) == rrsets_of(undo)  # TTLs included
    assert knot.query("innocent." + ZONE).answer  # neighbours untouched


def test_redirect_answers_the_landing_address(knot: Knot, make_adapter: Make) -> None:
    a = make_adapter(knot)
    domain = f"fake-bank.{ZONE}"
    undo = a.snapshot([domain])[domain]
    a.suspend(domain, "redirect", undo)
    answer = knot.query(f"www.{domain}").answer
    assert [rd.to_text() for rrs in answer for rd in rrs] == ["192.0.2.99"]
    a.reinstate(domain, undo)
    assert rrsets_of(a.snapshot([domain])[domain]) == rrsets_of(undo)
    assert knot.query(f"www.{domain}").rcode() == dns.rcode.NOERROR  # a referral again
    assert not knot.query(f"www.{domain}").answer


def test_a_wrong_tsig_key_is_refused_and_changes_nothing(knot: Knot,
                                                        make_adapter: Make) -> None:
    good = make_adapter(knot)
    domain = f"shop.{ZONE}"
    undo = good.snapshot([domain])[domain]
    bad = make_adapter(knot, base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(RegistryError):
        bad.suspend(domain, "hold", undo)
    with pytest.raises(RegistryError):
        bad.snapshot([domain])
    assert good.snapshot([domain])[domain]["rrsets"] == undo["rrsets"]
    assert knot.query(domain).answer


def test_a_changed_zone_fails_the_prerequisite(knot: Knot, make_adapter: Make) -> None:
    a = make_adapter(knot)
    domain = f"shop.{ZONE}"
    stale = a.snapshot([domain])[domain]
    stale["rrsets"][0][3] = ["192.0.2.1"]  # not what the zone holds
    with pytest.raises(RegistryError, match=r"NXRRSET|answered"):
        a.suspend(domain, "hold", stale)
    assert knot.query(domain).answer


def test_names_outside_the_zone_are_refused(knot: Knot, make_adapter: Make) -> None:
    with pytest.raises(RegistryError, match="not in a zone"):
        make_adapter(knot).snapshot(["example.com"])


@pytest.fixture
def signed_knot(tmp_path: Path) -> Iterator[Knot]:
    server = Knot(require_binary("/usr/sbin/knotd", "knot"), tmp_path, signed=True)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("name", ["pharma-shop", "shop"])
def test_a_signed_zone_is_re_signed_and_restored(signed_knot: Knot, make_adapter: Make,
                                                 name: str) -> None:
    """With automatic DNSSEC signing, signatures are the signer's business: they are left
    out of the undo record, and after reinstatement the server has signed the records."""
    a = make_adapter(signed_knot)
    domain = f"{name}.{ZONE}"
    undo = a.snapshot([domain])[domain]
    assert undo["rrsets"] and all(r[1] not in ("RRSIG", "NSEC") for r in undo["rrsets"])
    a.suspend(domain, "hold", undo)
    assert signed_knot.query(domain).rcode() == dns.rcode.NXDOMAIN
    a.reinstate(domain, undo)
    assert rrsets_of(a.snapshot([domain])[domain]) == rrsets_of(undo)
    rdtype = "DS" if name == "pharma-shop" else "A"
    query = dns.message.make_query(domain, rdtype, want_dnssec=True)
    reply = dns.query.udp(query, "127.0.0.1", port=signed_knot.port, timeout=2)
    assert {dns.rdatatype.to_text(r.rdtype) for r in reply.answer} == {rdtype, "RRSIG"}
