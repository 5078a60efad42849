"""Held-out material for the traffic evaluation."""

from __future__ import annotations

import re

import pytest

from bluelamp.domains import registered_domain


def test_wordlist_family_names_are_two_words_and_distinct() -> None:
    pytest.importorskip("english_words")
    from bluelamp.evaluate.heldout import wordlist_family

    names = wordlist_family(n=60, seed=1)
    assert len(names) == len(set(names)) == 60
    assert all(re.fullmatch(r"[a-z]{8,14}\.(net|com)", n) for n in names)
    assert all(registered_domain(n) == n for n in names)
    assert wordlist_family(n=60, seed=1) == names  # reproducible from the seed
