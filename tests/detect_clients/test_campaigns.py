"""Property tests of the campaign helpers against brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.campaigns import components, pair_strength

edges = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20)
holdings = st.sets(st.tuples(st.integers(0, 6), st.integers(0, 9)), max_size=40)


@given(edges)
@settings(max_examples=200, deadline=None)
def test_components_match_union_find(pairs: list[tuple[int, int]]) -> None:
    parent = list(range(8))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in pairs:
        parent[find(x)] = find(y)
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    got = components(left, right, 8)
    for x, y in combinations(range(8), 2):
        assert (got[x] == got[y]) == (find(x) == find(y))
    for x in range(8):  # each component is named by its smallest node
        assert got[x] == min(y for y in range(8) if find(y) == find(x))


@given(holdings, st.integers(1, 5))
@settings(max_examples=200, deadline=None)
def test_pair_strength_counts_common_items(held: set[tuple[int, int]], cap: int) -> None:
    client = np.array([c for c, _ in held], dtype=np.int64)
    item = np.array([i for _, i in held], dtype=np.int64)
    a, b, common = pair_strength(client, item, 7, max_prevalence=cap)
    got = {(int(x), int(y)): int(n) for x, y, n in zip(a, b, common, strict=True)}
    holders: dict[int, set[int]] = {}
    for c, i in held:
        holders.setdefault(i, set()).add(c)
    want: dict[tuple[int, int], int] = {}
    for group in holders.values():
        if 2 <= len(group) <= cap:
            for x in group:
                for y in group - {x}:
                    want[(x, y)] = want.get((x, y), 0) + 1
    assert got == want
