"""The DGA scorer: shipped weights, what is scored, features, and never crashing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.models import features as F
from bluelamp.models.dga import DGAModel, scoring_labels
from bluelamp.resources import benign_domains, dga_names

POPULAR = ["google.com", "facebook.com", "youtube.com", "wikipedia.org", "amazon.co.uk",
           "microsoft.com", "apple.com", "bbc.co.uk", "netflix.com", "linkedin.com"]


@pytest.fixture(scope="module")
def model() -> DGAModel:
    return DGAModel.load()


def test_load_is_cached_and_small(model: DGAModel) -> None:
    assert DGAModel.load() is model
    assert model.ngram_weights.dtype == np.float32
    assert model.dense_weights.shape == (len(F.DENSE_NAMES),)
    assert model.meta["n_train"] > 30_000
    assert model.head is not None and model.meta["head"] is True  # shipped with its head
    assert model.head.w1.shape == (len(F.DENSE_NAMES) + 1, model.head.b1.size)


def test_scores_in_range_and_dga_above_popular(model: DGAModel) -> None:
    rng = np.random.default_rng(1)
    pairs = dga_names()
    dga = [pairs[i][1] for i in rng.choice(len(pairs), 500, replace=False)]
    benign = list(POPULAR) + list(benign_domains("top")[:500])
    s_dga, s_benign = model.score(dga), model.score(benign)
    both = np.r_[s_dga, s_benign]
    assert ((both >= 0) & (both <= 1)).all()
    assert s_dga.mean() > s_benign.mean() + 0.5
    assert model.score(POPULAR).max() < 0.5


def test_repeated_and_null_names(model: DGAModel) -> None:
    names = ["xjwqkzvplm.com", None, "google.com", "xjwqkzvplm.com", "", "10.0.0.1"]
    s = model.score(pa.array(names))
    assert s.shape == (6,)
    assert s[0] == s[3]
    assert s[1] == 0.0 and s[4] == 0.0 and s[5] == 0.0


def test_scoring_labels_rules() -> None:
    names = ["www.example.co.uk", "abc.ddns.net", "akamaihd.net", "co.uk", "localhost",
             "1.2.3.4", "", "Foo.Example.COM."]
    assert scoring_labels(names).to_pylist() == [
        "example", "abc", "akamaihd", "co", "localhost", "", "", "example"]


def test_subdomains_do_not_change_the_score(model: DGAModel) -> None:
    s = model.score(["example.com", "qx7z9k2w8v.example.com", "a.b.c.example.com"])
    assert s[0] == s[1] == s[2]


def test_encode_edge_cases() -> None:
    codes, lengths = F.encode(pa.array(["aZ9-_", None, "é", "x" * 100, ""]))
    assert lengths.tolist() == [5, 0, 2, F.MAX_LEN, 0]
    assert codes[0, :5].tolist() == [1, 26, 36, 37, 38]
    assert codes[2, :2].tolist() == [39, 39]  # the two UTF-8 bytes of é: "other"
    # sliced arrays keep their offsets
    codes2, lengths2 = F.encode(pa.array(["zz", "ab", "c"]).slice(1))
    assert lengths2.tolist() == [2, 1] and codes2[0].tolist() == [1, 2]


def test_inference_ngram_score_matches_training_design() -> None:
    """The numpy forward pass must compute exactly what the sparse training matrix encodes."""
    labels = ["example", "xkq3zv", "a", "thanksgiving-turkey"]
    codes, lengths = F.encode(labels)
    frame = F.framed(codes, lengths)
    bits = 10
    w = np.random.default_rng(0).normal(size=1 << bits)
    grams = F.hashed_ngrams(frame, lengths, bits)
    dense = np.zeros((len(labels), 1 << bits))
    np.add.at(dense, (grams.rows, grams.cols), grams.values)
    np.testing.assert_allclose(F.ngram_scores(frame, lengths, w), dense @ w, rtol=1e-9)


def test_length_buckets_do_not_change_scores(model: DGAModel) -> None:
    labels = ["ab", "example", "x" * 20, "qwertyuiopasdfghjklzxcvbnm" * 2]
    together = model.score_labels(labels)
    alone = np.array([model.score_labels([lab])[0] for lab in labels])
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_word_coverage() -> None:
    bitset = F.make_bitset(["house", "garden", "blue"], bits=16)
    codes, lengths = F.encode(["bluehouse", "xqzv", "gardenhouse"])
    cover, longest = F.word_coverage(codes, lengths, bitset)
    assert cover[0, 0] == pytest.approx(1.0) and cover[1, 0] == 0.0
    assert cover[2, 1] == pytest.approx(6 / 11)  # only "garden" has 6+ letters
    assert longest.tolist() == [5, 0, 6]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80),
                          st.from_regex(r"[a-z0-9.\-]{0,70}", fullmatch=True)), max_size=30))
def test_arbitrary_strings_never_crash(names: list[str | None]) -> None:
    s = DGAModel.load().score(names)
    assert s.shape == (len(names),)
    assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all()
