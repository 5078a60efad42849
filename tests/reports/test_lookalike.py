"""The brand-lookalike check, including on the simulator's independently generated imitations."""

from __future__ import annotations

import numpy as np
import pytest

from bluelamp.act.reports.lookalike import LookalikeChecker, edit_distance, skeleton
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


def test_helpers() -> None:
    assert skeleton("xn--pypal-4ve") == "paypal"  # Cyrillic а
    assert edit_distance("paypal", "pyapal") == 1
    assert edit_distance("a", "abcdef") == 3
