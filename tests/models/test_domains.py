"""Registered-domain extraction: golden cases for tricky PSL rules, bulk versions, fuzzing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.domains import (
    NameParts,
    is_ip,
    is_ips,
    labels,
    public_suffix,
    registered_domain,
    registered_domains,
    registered_labels,
    split_name,
    split_names,
    subdomains,
)

GOLDEN = [
    # name, registered domain (ICANN + private), registered domain (ICANN only)
    ("www.example.com", "example.com", "example.com"),
    ("EXAMPLE.COM.", "example.com", "example.com"),
    ("a.b.example.co.uk", "example.co.uk", "example.co.uk"),
    ("co.uk", None, None),  # a public suffix has no registered domain
    ("com", None, None),
    ("localhost", None, None),
    # wildcard rule *.ck: every second-level name is a suffix
    ("a.b.c.ck", "b.c.ck", "b.c.ck"),
    ("c.ck", None, None),
    # exception rule !www.ck: www.ck is registrable
    ("www.ck", "www.ck", "www.ck"),
    ("x.www.ck", "www.ck", "www.ck"),
    # wildcard + exception in Japan: *.kawasaki.jp, !city.kawasaki.jp
    ("b.a.kawasaki.jp", "b.a.kawasaki.jp", "b.a.kawasaki.jp"),
    ("x.city.kawasaki.jp", "city.kawasaki.jp", "city.kawasaki.jp"),
    # private-section suffixes: a customer of a hosting service is its own domain
    ("foo.blogspot.com", "foo.blogspot.com", "blogspot.com"),
    ("x.y.github.io", "y.github.io", "github.io"),
    # unknown TLD: the default "*" rule makes the last label the suffix
    ("host.corp.internal", "corp.internal", "corp.internal"),
    # IDNA A-labels are handled like any label
    ("www.xn--bcher-kva.de", "xn--bcher-kva.de", "xn--bcher-kva.de"),
    # no registered domain
    ("1.2.3.4", None, None),
    ("2001:db8::1", None, None),
    ("a..b.com", None, None),
    ("", None, None),
    (".", None, None),
]


@pytest.mark.parametrize(("name", "private", "icann"), GOLDEN)
def test_registered_domain_golden(name: str, private: str | None, icann: str | None) -> None:
    assert registered_domain(name) == private
    assert registered_domain(name, private=False) == icann


def test_split_name() -> None:
    assert split_name("a.b.example.co.uk") == NameParts("a.b", "example", "co.uk")
    assert split_name("example.com") == NameParts("", "example", "com")
    assert split_name("co.uk") is None
    assert split_name(None) is None
    assert public_suffix("foo.blogspot.com") == "blogspot.com"
    assert public_suffix("foo.blogspot.com", private=False) == "com"


def test_labels_and_ip() -> None:
    assert labels("a.b.c.") == ["a", "b", "c"]
    assert labels("") == []
    assert is_ip("10.0.0.1") and is_ip("::1") and is_ip("[2001:db8::1]")
    assert not is_ip("1.2.3.4.example.com") and not is_ip("example.com") and not is_ip("")


def test_bulk_matches_scalar_and_keeps_nulls() -> None:
    names = [g[0] for g in GOLDEN] + [None, "www.example.com"]
    got = registered_domains(pa.array(names)).to_pylist()
    assert got == [None if n is None else registered_domain(n) for n in names]
    chunked = pa.chunked_array([pa.array(names[:5]), pa.array(names[5:])])
    assert registered_domains(chunked).to_pylist() == got
    assert registered_domains(names, private=False).to_pylist() == [
        None if n is None else registered_domain(n, private=False) for n in names
    ]


def test_bulk_parts() -> None:
    arr = pa.array(["a.b.example.co.uk", None, "1.2.3.4", "foo.blogspot.com"])
    sub, label, suffix = split_names(arr)
    assert sub.to_pylist() == ["a.b", None, None, ""]
    assert label.to_pylist() == ["example", None, None, "foo"]
    assert suffix.to_pylist() == ["co.uk", None, None, "blogspot.com"]
    assert subdomains(arr).to_pylist() == sub.to_pylist()
    assert registered_labels(arr).to_pylist() == label.to_pylist()
    assert is_ips(arr).tolist() == [False, False, True, False]
    assert is_ips(pa.array([], pa.string())).dtype == np.bool_


def test_bulk_accepts_dictionary_and_large_string() -> None:
    arr = pa.array(["www.example.com", "x.example.com"])
    assert registered_domains(arr.dictionary_encode()).to_pylist() == ["example.com"] * 2
    assert registered_domains(arr.cast(pa.large_string())).to_pylist() == ["example.com"] * 2
    with pytest.raises(TypeError):
        registered_domains(pa.array([1, 2]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40),
                          st.from_regex(r"[a-z0-9.\-*!]{0,30}", fullmatch=True)), max_size=20))
def test_never_crashes(names: list[str | None]) -> None:
    out = registered_domains(names).to_pylist()
    assert len(out) == len(names)
    for name, reg in zip(names, out, strict=True):
        if reg is not None:
            assert name is not None
            norm = name.lower().rstrip(".")
            assert norm == reg or norm.endswith("." + reg)


def _official_cases() -> list[tuple[str | None, str | None]]:
    """The PSL project's own test cases, shipped with the publicsuffixlist package."""
    import re
    from importlib import resources

    text = resources.files("publicsuffixlist").joinpath("test_psl.txt").read_text("utf-8")
    cases = []
    pattern = re.compile(r"^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);", re.M)
    for m in pattern.finditer(text):  # commented-out cases start with // and do not match
        name, expected = (None if g == "null" else g.strip("'") for g in m.groups())
        cases.append((name, expected))
    return cases


def test_official_psl_test_cases() -> None:
    cases = _official_cases()
    assert len(cases) > 60
    got = registered_domains([n for n, _ in cases]).to_pylist()
    for (name, expected), reg in zip(cases, got, strict=True):
        if name is not None and name.startswith("."):
            assert reg is None  # leading dot: not a valid name
        else:
            assert reg == (expected.lower() if expected else None), name


def test_bulk_agrees_with_publicsuffixlist_package() -> None:
    """Our vectorised PSL algorithm against the package's own per-name implementation."""
    from publicsuffixlist import PublicSuffixList

    from bluelamp.resources import benign_domains, dga_names

    names = [d for _, d in dga_names()][::4] + list(benign_domains("top"))[::4] + list(
        benign_domains("random"))[::4]
    names += ["x." + n for n in names[::3]] + [g[0] for g in GOLDEN if g[0] and "." in g[0]]
    for private in (True, False):
        psl = PublicSuffixList(only_icann=not private)
        got = registered_domains(names, private=private).to_pylist()
        want = [None if is_ip(n) else psl.privatesuffix(n) for n in names]
        assert got == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"[a-zA-Z0-9.\-*!:\[\]]{0,30}", fullmatch=True), max_size=20))
def test_bulk_equals_scalar_on_ascii(names: list[str]) -> None:
    got = registered_domains(names).to_pylist()
    assert got == [registered_domain(n) for n in names]
    sub, label, suffix = split_names(names, private=False)
    want = [split_name(n, private=False) for n in names]
    assert [None if w is None else w.subdomain for w in want] == sub.to_pylist()
    assert [None if w is None else w.label for w in want] == label.to_pylist()
    assert [None if w is None else w.suffix for w in want] == suffix.to_pylist()
