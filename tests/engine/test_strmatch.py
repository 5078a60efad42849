from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.strmatch import StringSet

text = st.text(alphabet="ab.-é\x00", max_size=8)


def slow_parent(name: str | None, members: set[str]) -> str | None:
    if name is None:
        return None
    candidates = [name] + [name[i + 1:] for i, c in enumerate(name) if c == "."]
    return next((c for c in candidates if c and c in members), None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | text, max_size=40), st.lists(text, max_size=10),
       st.integers(min_value=0, max_value=5))
def test_agrees_with_python_sets(names: list[str | None], members: list[str],
                                 skip: int) -> None:
    string_set = StringSet(members)
    # a sliced array has a non-zero offset into its buffers
    arr = pa.array([None] * skip + names, pa.string()).slice(skip)
    assert string_set.contains(arr).tolist() == [n is not None and n in set(members)
                                                 for n in names]
    assert string_set.match_domains(arr).to_pylist() == [slow_parent(n, set(members))
                                                         for n in names]


def test_large_set_and_chunked_input() -> None:
    members = [f"d{i}.example" for i in range(100_000)]
    string_set = StringSet(members)
    names = pa.chunked_array([["x.d99999.example", "d5.example"], ["nope.example", None]])
    assert string_set.match_domains(names).to_pylist() == ["d99999.example", "d5.example",
                                                           None, None]
    assert len(string_set) == 100_000


def test_empty_set_and_empty_input() -> None:
    assert StringSet([]).match_domains(pa.array(["a.b"])).to_pylist() == [None]
    assert StringSet(["a"]).contains(pa.array([], pa.string())).tolist() == []
