from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.lookalike import Lookalike, lookalike
from bluelamp.domains import split_names
from bluelamp.settings import DetectSettings

from .helpers import at, dns, run

BRANDS = {"paypal": ["paypal.com"], "hmrc": ["hmrc.gov.uk", "gov.uk"],
          "microsoft": ["microsoft.com"], "apple": ["apple.com"], "dhl": ["dhl.com"]}
KEYWORDS = ("login", "secure", "refund", "verify")


def detector() -> Lookalike:
    return Lookalike(brands=BRANDS, keywords=KEYWORDS)


def rows(names: dict[str, int]) -> list[dict]:
    return [{"ts": at(i), "client": f"10.0.0.{i}", "qname": name, "qtype": 1,
             "rcode": rcode, "sensor": "s1"} for i, (name, rcode) in enumerate(names.items())]


def test_golden_kinds() -> None:
    table = dns(rows({
        "www.paypal-login-secure.com": 0,   # combosquat (brand token + keyword)
        "hmrc-refund.co.uk": 0,             # combosquat, brand shorter than five letters
        "xn--pypal-4ve.com": 0,             # homoglyph: Cyrillic а
        "rnicrosoft.net": 0,                # homoglyph: rn → m
        "micros0ft-verify.org": 0,          # combosquat after skeleton (0 → o)
        "paypall.com": 0,                   # typosquat
        "dhll.com": 0,                      # short brand: doubled letter only
        "amicrosoft.com": 0,                # typosquat (one insertion)
        "paypa.com": 3,                     # NXDOMAIN: a user's typo, not a live site
        "www.paypal.com": 0, "hmrc.gov.uk": 0, "login.microsoft.com": 0,  # genuine
        "applebees.com": 0, "apple-pie.com": 0, "dhs.gov": 0,  # unrelated
        "snapple.com": 0,                                      # brand inside a word
        "apply.com": 0,  # an ordinary word one edit from "apple": the documented weakness
    }))
    found = {f.subject: f for f in run(detector(), table)}
    kinds = {s: (f.evidence["brand"], f.evidence["kind"]) for s, f in found.items()}
    assert kinds == {
        "paypal-login-secure.com": ("paypal", "combosquat"),
        "hmrc-refund.co.uk": ("hmrc", "combosquat"),
        "xn--pypal-4ve.com": ("paypal", "homoglyph"),
        "rnicrosoft.net": ("microsoft", "homoglyph"),
        "micros0ft-verify.org": ("microsoft", "combosquat"),
        "paypall.com": ("paypal", "typosquat"),
        "dhll.com": ("dhl", "typosquat"),
        "amicrosoft.com": ("microsoft", "typosquat"),
        "apply.com": ("apple", "typosquat"),
    }
    f = found["xn--pypal-4ve.com"]
    assert (f.detector, f.type, f.subject_kind, f.score, f.count) == (
        "lookalike", "brand-lookalike", "domain", 0.95, 1)
    assert f.evidence["unicode_label"] == "pаypal" and f.evidence["skeleton"] == "paypal"
    assert f.evidence["genuine_domains"] == ["paypal.com"]
    assert f.evidence["sample_clients"] == ["10.0.0.2"]
    assert "paypal" in f.explanation and "look-alike characters" in f.explanation
    assert found["paypal-login-secure.com"].evidence["sample_name"] == \
        "www.paypal-login-secure.com"


def test_query_log_without_rcode_still_checked() -> None:
    table = dns([{"ts": at(0), "client": "10.0.0.1", "qname": "paypal-secure.com"}])
    assert [f.subject for f in run(detector(), table)] == ["paypal-secure.com"]


def test_settings_brands_and_keywords() -> None:
    table = dns(rows({"bluelamp-login.com": 0, "paypal-secure.com": 0}))
    det = lookalike(settings=DetectSettings(protected_brands={"bluelamp": []},
                                            lookalike_keywords=["login"]))
    assert [f.subject for f in run(det, table)] == ["bluelamp-login.com"]
    assert run(lookalike(settings=DetectSettings(protected_brands={})), table) == []


def test_default_settings_leave_the_benign_lists_alone() -> None:
    from bluelamp import resources

    names = sorted({n.strip(".") for kind in ("top", "random")
                    for n in resources.benign_domains(kind)})
    _, label, suffix = split_names(pa.array(names))
    domain = pa.compute.binary_join_element_wise(label, suffix, ".")
    assert lookalike(settings=DetectSettings()).match(domain, label).num_rows == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=25), min_size=1, max_size=20))
def test_match_never_raises_on_arbitrary_labels(labels: list[str]) -> None:
    labels = labels + ["xn--" + x for x in labels]
    out = detector().match(pa.array([x + ".com" for x in labels]), pa.array(labels))
    assert set(out.column_names) == {"domain", "brand", "kind"}
    assert set(out.column("kind").to_pylist()) <= {"homoglyph", "typosquat", "combosquat"}
