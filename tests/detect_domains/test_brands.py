"""The one lookalike decision (`bluelamp.detect.brands`) shared by the detector, report
triage and the suspension desk."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.brands import KIND_SCORE, Brands

BRANDS = {"paypal": ["paypal.com"], "hmrc": ["hmrc.gov.uk", "gov.uk"],
          "microsoft": ["microsoft.com"], "dhl": ["dhl.com"], "barclays": ["barclays.co.uk"]}
KEYWORDS = ("login", "secure", "refund", "verify")
DOMAINS = Brands(BRANDS, KEYWORDS)
HOSTS = Brands(BRANDS, KEYWORDS, host_kinds=True)


@pytest.mark.parametrize(("name", "brand", "kind", "label"), [
    ("xn--pypal-4ve.com", "paypal", "homoglyph", "xn--pypal-4ve"),
    ("www.rnicrosoft.net", "microsoft", "homoglyph", "rnicrosoft"),
    ("paypal-login.example", "paypal", "combosquat", "paypal-login"),
    ("paypall.com", "paypal", "typosquat", "paypall"),
    ("mircosotf.com", "microsoft", "typosquat", "mircosotf"),  # two edits: 8+ letters
    ("dhll.com", "dhl", "typosquat", "dhll"),
])
def test_domain_kinds(name: str, brand: str, kind: str, label: str) -> None:
    for checker in (DOMAINS, HOSTS):
        found = checker.verdict(name)
        assert found is not None
        assert (found.brand, found.kind, found.label) == (brand, kind, label)
        assert found.score == KIND_SCORE[kind] and found.name == name


def test_host_kinds_only_when_asked() -> None:
    assert DOMAINS.verdict("paypal.support") is None
    assert DOMAINS.verdict("paypal.com.account-check.example") is None
    swap = HOSTS.verdict("paypal.support")
    sub = HOSTS.verdict("paypal.com.account-check.example")
    assert swap is not None and (swap.kind, swap.label) == ("tld-swap", "paypal")
    assert sub is not None and (sub.kind, sub.label, sub.domain) == (
        "subdomain", "paypal", "account-check.example")
    sub = HOSTS.verdict("secure.paypal-verify.account-check.example")
    assert sub is not None and (sub.kind, sub.label) == ("subdomain", "paypal-verify")


@pytest.mark.parametrize("name", [
    "paypal.com", "www.paypal.com", "hmrc.gov.uk", "hmrc-refund.gov.uk",  # genuine or under
    "paypal-fans.example",  # brand without a keyword
    "hdl.example", "dh.example", "adhlx.com",  # short brand: only a doubled letter counts
    "paypalabc.com", "example.com", "192.0.2.1", "", "com",
])
def test_not_lookalikes(name: str) -> None:
    assert HOSTS.verdict(name) is None and DOMAINS.verdict(name) is None


def test_strongest_kind_then_first_brand() -> None:
    # a combosquat (0.85) outranks a typosquat (0.8)
    found = DOMAINS.verdict("paypal-login.com")
    assert found is not None and found.kind == "combosquat"
    # the same label imitates two brands of one kind: the first brand in the list wins
    twins = {"paypal": ["paypal.com"], "paypa1": ["paypa1.example"]}  # one skeleton
    for order in (twins, dict(reversed(twins.items()))):
        found = Brands(order, ()).verdict("xn--pypal-4ve.com")
        assert found is not None and found.brand == next(iter(order))


def test_no_brands() -> None:
    assert Brands({}).verdicts(["paypa1.com"]) == [None]
    assert Brands({}).match([], []).num_rows == 0


def test_vectorised_equals_one_by_one() -> None:
    names = ["paypa1.com", "example.com", "www.paypal-secure.net", "paypal.support",
             "dhll.com", "paypa1.com", "not a name", "xn--pypal-4ve.com"]
    assert HOSTS.verdicts(names) == [HOSTS.verdict(n) for n in names]


def test_threads_each_get_their_own_connection() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert HOSTS.verdict("paypa1.com") is not None
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), max_size=20))
def test_never_raises_on_arbitrary_names(names: list[str]) -> None:
    out = HOSTS.verdicts(names)
    assert len(out) == len(names)
    assert {v.kind for v in out if v} <= set(KIND_SCORE)
