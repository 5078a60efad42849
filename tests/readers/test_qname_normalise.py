"""Name normalisation (contract 2)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluelamp.sources.names import normalize_qname, normalize_qnames


@pytest.mark.parametrize(("raw", "escapes", "want"), [
    ("Example.COM.", "zone", "example.com"),
    (".", "zone", "."),
    ("", "zone", "."),
    ("Bücher.DE", "zone", "xn--bcher-kva.de"),        # Unicode text -> A-label
    ("xn--bcher-kva.de", "zone", "xn--bcher-kva.de"),
    ("a\\032b.com", "zone", "a\\032b.com"),            # zone escape kept
    ("a\\065b.com", "zone", "aab.com"),                 # printable escape resolved, folded
    ("a\\.b.com", "zone", "a\\.b.com"),                 # escaped dot stays in its label
    ("x\\206\\189y.com", "zone", "x\\206\\189y.com"),  # escaped wire bytes are not IDNA'd
    (b"\xff\xfe.com", "zone", "\\255\\254.com"),        # invalid UTF-8 bytes
    ("a\\x2eB\\x09.test", "zeek", "a\\.b\\009.test"),   # Zeek \xHH escapes
    ("a\\b", "none", "a\\\\b"),
])
def test_normalize_qname(raw: str | bytes, escapes: str, want: str) -> None:
    assert normalize_qname(raw, escapes) == want  # type: ignore[arg-type]


def test_vectorised_matches_scalar_and_keeps_nulls() -> None:
    values = ["A.Example.", None, "Bücher.de", "x\\000y", "plain.test", "."]
    got = normalize_qnames(pa.array(values)).to_pylist()
    assert got == [None if v is None else normalize_qname(v) for v in values]
    binary = normalize_qnames(pa.array([b"A.b", None, b"\xc3\xbc.de"], pa.binary()))
    assert binary.to_pylist() == ["a.b", None, "xn--tda.de"]


@given(st.lists(st.one_of(st.none(), st.text(max_size=30), st.binary(max_size=30)
                          .map(lambda b: b.decode("latin-1"))), max_size=30))
def test_property_vectorised_equals_scalar_and_output_is_printable(values: list) -> None:
    got = normalize_qnames(pa.array(values, pa.string())).to_pylist()
    for value, out in zip(values, got, strict=True):
        if value is None:
            assert out is None
            continue
        assert out == normalize_qname(value)
        assert all(0x21 <= ord(c) <= 0x7E for c in out)
        assert out == normalize_qname(out)  # idempotent
        assert out == "." or not out.endswith(".") or out.endswith("\\.")
