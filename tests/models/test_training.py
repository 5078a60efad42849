"""Training reproducibility and the evaluation metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bluelamp.models import train_dga as T
from bluelamp.models.dga import DGAModel
from bluelamp.models.evaluate_dga import auc, family_folds, metrics, tpr_at_fpr


def test_training_is_reproducible() -> None:
    corpus = T.load_corpus()
    a = T.fit(T.subsample(corpus, 800, seed=5), bits=12, seed=5)
    b = T.fit(T.subsample(corpus, 800, seed=5), bits=12, seed=5)
    np.testing.assert_array_equal(a.ngram_weights, b.ngram_weights)
    np.testing.assert_array_equal(a.dense_weights, b.dense_weights)
    assert a.bias == b.bias
    assert a.head is not None and b.head is not None
    np.testing.assert_array_equal(a.head.w1, b.head.w1)
    np.testing.assert_array_equal(a.head.w2, b.head.w2)
    c = T.fit(T.subsample(corpus, 800, seed=6), bits=12, seed=6)
    assert not np.array_equal(a.ngram_weights, c.ngram_weights)


def test_head_inference_matches_training_side(tmp_path: Path) -> None:
    """The numpy forward pass (linear logit, then head) equals what training computed, and
    survives a save/load round trip."""
    corpus = T.subsample(T.load_corpus(), 1500, seed=2)
    m = T.fit(corpus, bits=10, seed=2, max_iter=200)
    assert m.head is not None and m.meta["head"] is True
    labels = [*corpus.labels[:60], "", "x" * 70]
    grams, dense = T.design(labels, T.lexicon(), 10)
    lin = T.Linear(m.ngram_weights, m.dense_mean, m.dense_scale, m.dense_weights, m.bias)
    h = m.head  # the sklearn forward pass, written out in float64
    x = (np.column_stack([dense, lin.logits(grams, dense)]) - h.mean) / h.scale
    logit = np.maximum(x @ h.w1 + h.b1, 0.0) @ h.w2 + h.b2
    expected = 1.0 / (1.0 + np.exp(-logit))
    got = m.score_labels(labels)
    np.testing.assert_allclose(got[:-2], expected[:-2], atol=1e-5)  # float32 inference
    assert got[-2] == 0.0  # empty labels score 0
    m.save(tmp_path / "h.npz")
    back = DGAModel.load(tmp_path / "h.npz")
    np.testing.assert_array_equal(back.score_labels(labels), got)
    linear_only = T.fit(corpus, bits=10, seed=2, max_iter=200, head=False)
    assert linear_only.head is None
    np.testing.assert_array_equal(linear_only.ngram_weights, m.ngram_weights)


def test_corpus_excludes_provider_hosted_names() -> None:
    corpus = T.load_corpus()
    assert "yi" not in set(corpus.labels[: int(corpus.y.sum())])  # kraken's *.yi.org
    assert set(np.unique(corpus.y)) == {0, 1}
    for cls in (0, 1):
        assert corpus.weight[corpus.y == cls].sum() == pytest.approx(len(corpus) / 2)


def test_auc_matches_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) + y * 0.3, 2)  # rounding makes ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_tpr_at_fpr() -> None:
    benign = np.arange(1000) / 1000.0  # 0.000 .. 0.999
    dga = np.array([0.9975, 0.9985, 0.5, 0.99])
    y = np.r_[np.zeros(1000), np.ones(4)]
    s = np.r_[benign, dga]
    # FPR 1e-3 allows one benign above the threshold: threshold 0.998
    assert tpr_at_fpr(y, s, 1e-3) == 0.25
    assert tpr_at_fpr(y, s, 1e-2) == 0.75
    m = metrics(y, s)
    assert m["n_dga"] == 4 and m["n_benign"] == 1000


def test_family_folds_partition() -> None:
    fams = ["a"] * 10 + ["b"] * 5 + ["c"] * 5 + ["d"] * 1 + ["e"] * 9
    folds = family_folds(fams, 2, seed=0)
    assert sorted(f for fold in folds for f in fold) == ["a", "b", "c", "d", "e"]
    assert family_folds(fams, 2, seed=0) == folds


def test_leave_families_out_on_a_subsample() -> None:
    from bluelamp.models.evaluate_dga import leave_families_out

    corpus = T.subsample(T.load_corpus(), 3000, seed=1)
    result = leave_families_out(k=2, c_grid=(1.0,), bits=10, corpus=corpus)
    assert len(result["folds"]) == 2
    fams = [f for fold in result["folds"] for f in fold["test_families"]]
    assert sorted(fams) == sorted(set(corpus.family.tolist()) - {""})
    for kind in ("unseen", "seen", "unseen_vs_popular"):
        m = result[f"{kind}_mean_over_folds"]
        assert 0.5 < m["auc"] <= 1.0
    assert set(result["recall_by_unseen_family"]) == set(fams)
    assert len(result["folds"][0]["top_scoring_benign"]) == 15
