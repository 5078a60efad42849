"""The brand-lookalike check, including on the simulator's independently generated imitations."""

from __future__ import annotations

import numpy as np
import pytest

from bluelamp.act.reports.lookalike import LookalikeChecker
from bluelamp.detect.lexical import skeleton
from bluelamp.simulate.phishing import BRANDS, lookalikes

CHECKER = LookalikeChecker({"paypal": ["paypal.com"], "microsoft": ["microsoft.com"],
                            "barclays": ["barclays.co.uk"], "dhl": ["dhl.com"]})


@pytest.mark.parametrize(("host", "brand", "kind"), [
    ("xn--ypal-43d9g.com", "paypal", "homoglyph"),  # раypal with Cyrillic р, а
    ("paypa1.com", "paypal", "homoglyph"),
    ("rnicrosoft.net", "microsoft", "homoglyph"),
    ("paypall.com", "paypal", "typosquat"),
    ("micorsoft.com", "microsoft", "typosquat"),
    ("paypal-secure-login.example", "paypal", "combosquat"),
    ("securebarclays.com", "barclays", "combosquat"),
    ("dhl-parcel.example", "dhl", "combosquat"),
    ("paypal.com.account-check.example", "paypal", "subdomain"),
    ("paypal.support", "paypal", "tld-swap"),
])
def test_lookalikes(host: str, brand: str, kind: str) -> None:
    found = CHECKER.check(host)
    assert found is not None and (found.brand, found.kind) == (brand, kind), found


@pytest.mark.parametrize("host", ["paypal.com", "www.paypal.com", "barclays.co.uk",
                                  "example.com", "adhlx.com", "paperclip.com", "192.0.2.1",
                                  "books.example", "dh.example", "hdl.example"])
def test_not_lookalikes(host: str) -> None:
    assert CHECKER.check(host) is None


def test_simulated_imitations_are_caught() -> None:
    """The simulator generates typo-, combo- and homoglyph squats on its own rules."""
    checker = LookalikeChecker({b: [f"{b}.com"] for b in BRANDS})
    g = np.random.default_rng(7)
    missed = [(brand, kind, domain) for brand in BRANDS for kind, domain in lookalikes(brand, g)
              if (found := checker.check(domain)) is None or found.brand != brand]
    assert missed == []


def test_skeleton_and_edit_distance() -> None:
    """The shared decision's helpers, through the checker: an IDN confusable reads as the
    brand, a transposition is one edit, three letters more is not a typo."""
    assert skeleton("xn--pypal-4ve") == "paypal"  # Cyrillic а
    found = CHECKER.check("pyapal.com")
    assert found is not None and (found.brand, found.kind) == ("paypal", "typosquat")
    assert CHECKER.check("paypalabc.com") is None


def test_brand_next_to_an_ordinary_word_is_not_a_combosquat() -> None:
    """The keyword is required (the detector's rule, now triage's too): a brand next to an
    arbitrary word is usually a fan site or a reseller."""
    assert CHECKER.check("paypal-fans.example") is None
    assert CHECKER.check("paypal-login.example") is not None
    checker = LookalikeChecker({"paypal": ["paypal.com"]}, keywords=["fans"])
    found = checker.check("paypal-fans.example")
    assert found is not None and found.kind == "combosquat"


def test_check_all_matches_check() -> None:
    hosts = ["paypal.com", "paypa1.com", "www.paypal-secure.example", "example.com",
             "paypal.support", "paypa1.com"]
    assert CHECKER.check_all(hosts) == [CHECKER.check(h) for h in hosts]


def test_remembered_verdicts_are_bounded_and_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from bluelamp.act.reports import lookalike

    monkeypatch.setattr(lookalike, "MEMO", 3)
    checker = LookalikeChecker({"paypal": ["paypal.com"]})
    asked: list[list[str]] = []
    verdicts = checker.brands.verdicts
    monkeypatch.setattr(checker.brands, "verdicts",
                        lambda names: asked.append(list(names)) or verdicts(names))
    first = checker.check_all(["paypa1.com", "example.com", "paypa1.com"])
    assert checker.check("paypa1.com") == first[0] is not None  # remembered: not asked again
    assert asked == [["paypa1.com", "example.com"]]
    checker.check_all(["a.example", "b.example"])  # past the bound: the memo starts again
    assert len(checker._memo) == 2
    assert checker.check("paypa1.com") == first[0] and asked[-1] == ["paypa1.com"]
