from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect import lexical
from bluelamp.detect.seenset import SeenSet


def test_hash_equal_strings_equal_and_slices_consistent() -> None:
    arr = pa.array(["abc", "", None, "abc", "xyz" * 10, "abd"])
    h = lexical.string_hash64(arr)
    assert h[0] == h[3] and h[1] == h[2]  # null hashes as ""
    assert len({h[0], h[4], h[5], h[1]}) == 4
    assert (lexical.string_hash64(arr.slice(2)) == h[2:]).all()
    chunked = pa.chunked_array([arr.slice(0, 2), arr.slice(2)])
    assert (lexical.string_hash64(chunked) == h).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40) | st.none(), max_size=30))
def test_hash_and_entropy_any_strings(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    h = lexical.string_hash64(arr)
    ent = lexical.entropy(arr)
    assert h.shape == ent.shape == (len(values),)
    for v, e in zip(values, ent, strict=True):
        data = (v or "").encode()
        if not data:
            assert e == 0
            continue
        counts = np.unique(np.frombuffer(data, np.uint8), return_counts=True)[1]
        p = counts / len(data)
        assert math.isclose(e, float(-(p * np.log2(p)).sum()), abs_tol=1e-9)
    by_value: dict[str | None, int] = {}
    for v, x in zip(values, h.tolist(), strict=True):
        assert by_value.setdefault(v or "", x) == x


def test_entropy_known_values() -> None:
    assert lexical.entropy(pa.array(["aaaa", "abab", "abcd", ""])).tolist() == [0, 1, 2, 0]


def _estimate(values: list[str], k: int = 32) -> float:
    cols = lexical.sketch_columns(lexical.string_hash64(pa.array(values * 3)), k)
    mins = pa.table({c: [pc.min(v).as_py()] for c, v in cols.items()})
    return float(lexical.estimate(mins, k)[0])


def test_sketch_estimates_distinct_counts() -> None:
    # relative standard error 1/sqrt(k - 2) ≈ 18 % for k = 32: each estimate within 60 %,
    # and unbiased on average
    assert _estimate(["only"]) < 3
    for true in (10, 300, 5000):
        errors = [(_estimate([f"s{s}-{i}" for i in range(true)]) - true) / true
                  for s in range(20)]
        assert max(abs(e) for e in errors) < 0.6, (true, errors)
        assert abs(float(np.mean(errors))) < 0.12, (true, errors)


def test_distinct_values_first_last_counts() -> None:
    names, idx, counts, first, last = lexical.distinct_values(
        pa.array(["b", "a", None, "b", "c", "b"]))
    assert names.to_pylist() == ["b", "a", "c"]
    assert idx.tolist() == [0, 1, -1, 0, 2, 0]
    assert counts.tolist() == [3, 1, 1]
    assert first.tolist() == [0, 1, 4] and last.tolist() == [5, 1, 4]


def test_skeleton_folds_homoglyphs_and_idn() -> None:
    assert lexical.skeleton("xn--pypal-4ve") == "paypal"      # Cyrillic а
    assert lexical.skeleton("раураl") == "paypal"
    assert lexical.skeleton("paypa1") == "paypal"
    assert lexical.skeleton("rnicrosoft") == "microsoft"
    assert lexical.skeleton("pay-pal") == "paypal"
    assert lexical.unicode_label("xn--broken!") == "xn--broken!"  # undecodable: as is


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=30))
def test_skeleton_never_raises(label: str) -> None:
    assert isinstance(lexical.skeleton(label), str)
    assert isinstance(lexical.skeleton("xn--" + label), str)


def test_seen_set_no_false_negatives() -> None:
    seen = SeenSet(capacity=1000, fp_rate=0.01)
    first = pa.array([f"d{i}.example" for i in range(1000)])
    seen.add(first)
    assert seen.contains(first).all()
    other = seen.contains(pa.array([f"x{i}.example" for i in range(5000)]))
    assert other.mean() < 0.03  # sized for 1 % false "seen"
    assert not seen.saturated
