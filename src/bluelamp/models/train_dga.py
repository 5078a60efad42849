"""Training of the DGA name scorer (needs the `train` extra: scikit-learn, english-words).

Data: `bluelamp.resources.dga_names()` (positives) against both benign lists (negatives), each
name reduced to the label the scorer sees (`bluelamp.models.dga.scoring_labels`), deduplicated.
DGA names hosted under a provider (a registered domain seen with 3+ distinct subdomains in the
DGA list, e.g. kraken's ``*.yi.org``) are left out of training: their registered label is the
provider's, not generated. Each family is weighted by 1/sqrt(size), so that big families do
not drown small ones, and the two classes carry equal total weight.

The dictionary features use the `web2` word list (Webster's Second International, public
domain) shipped by the `english-words` package; only a hashed bitset and a character-trigram
table derived from it go into the weights file.

Reproducible: the same data, seed and options give the same weights (lbfgs is deterministic;
the seed only drives subsampling).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from bluelamp import resources
from bluelamp.domains import registered_domains, split_names
from bluelamp.models import features as F
from bluelamp.models.dga import DGAModel, Head, scoring_labels

DEFAULT_BITS = 18
DEFAULT_C = 3.0
DEFAULT_MAX_ITER = 1000
HEAD_GROUPS = 3  # family groups for the out-of-family logits the head learns from
HEAD_HIDDEN = 32
HEAD_ALPHA = 1e-3
WORD_BITS = 24
PROVIDER_MIN_SUBDOMAINS = 3


@dataclass(frozen=True)
class Corpus:
    """Labels to learn from: text, class (1 = DGA), family ("" for benign), sample weight."""

    labels: list[str]
    y: np.ndarray
    family: np.ndarray
    weight: np.ndarray

    def subset(self, mask: np.ndarray) -> Corpus:
        idx = np.flatnonzero(mask)
        labels = [self.labels[i] for i in idx]
        return Corpus(labels, self.y[idx], self.family[idx], self.weight[idx])

    def __len__(self) -> int:
        return len(self.labels)


def stable_fraction(texts: Sequence[str], salt: str = "") -> np.ndarray:
    """A deterministic pseudo-random number in [0, 1) per text (for splits by hash)."""
    out = np.empty(len(texts), dtype=np.float64)
    for i, t in enumerate(texts):
        digest = hashlib.blake2b((salt + t).encode("utf-8", "replace"), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / 2.0**64
    return out


def _provider_domains(names: Sequence[str]) -> set[str]:
    sub, label, suffix = split_names(list(names))
    subs: dict[str, set[str]] = {}
    for s, lab, suf in zip(sub.to_pylist(), label.to_pylist(), suffix.to_pylist(), strict=True):
        if s:
            subs.setdefault(f"{lab}.{suf}", set()).add(s)
    return {d for d, s in subs.items() if len(s) >= PROVIDER_MIN_SUBDOMAINS}


def load_corpus() -> Corpus:
    """DGA and benign labels, deduplicated per class, with family-balanced weights."""
    pairs = resources.dga_names()
    providers = _provider_domains([n for _, n in pairs])
    seen: set[tuple[str, str]] = set()
    labels: list[str] = []
    families: list[str] = []
    dga_labels = scoring_labels([n for _, n in pairs]).to_pylist()
    registered = registered_domains([n for _, n in pairs]).to_pylist()
    for (family, _), label, reg in zip(pairs, dga_labels, registered, strict=True):
        if reg in providers:
            continue
        if label and (family, label) not in seen:
            seen.add((family, label))
            labels.append(label)
            families.append(family)
    n_dga = len(labels)
    benign = resources.benign_domains("top") + resources.benign_domains("random")
    for label in dict.fromkeys(scoring_labels(list(benign)).to_pylist()):
        if label:
            labels.append(label)
            families.append("")
    fam = np.array(families, dtype=object)
    y = np.r_[np.ones(n_dga), np.zeros(len(labels) - n_dga)].astype(np.int64)
    return Corpus(labels, y, fam, balanced_weights(y, fam))


def balanced_weights(y: np.ndarray, family: np.ndarray) -> np.ndarray:
    """1/sqrt(family size) per DGA row, then both classes scaled to the same total."""
    counts = Counter(family.tolist())
    w = np.array([1.0 / np.sqrt(counts[f]) if f else 1.0 for f in family.tolist()])
    for cls in (0, 1):
        sel = y == cls
        if sel.any():
            w[sel] *= len(y) / 2.0 / w[sel].sum()
    return w


@dataclass(frozen=True)
class Lexicon:
    word_bitset: np.ndarray
    trigram_logp: np.ndarray


@cache
def lexicon() -> Lexicon:
    from english_words import get_english_words_set

    words = sorted(get_english_words_set(["web2"], alpha=True, lower=True))
    return Lexicon(F.make_bitset(words, WORD_BITS), F.english_trigram_table(words))


def design(labels: Sequence[str], lex: Lexicon, bits: int) -> tuple[Any, np.ndarray]:
    """(sparse hashed n-grams [n, 2**bits], raw dense features [n, d])."""
    from scipy import sparse

    codes, lengths = F.encode(list(labels))
    grams = F.hashed_ngrams(F.framed(codes, lengths), lengths, bits)
    matrix = sparse.csr_matrix(
        (grams.values, (grams.rows, grams.cols)), shape=(len(labels), 1 << bits)
    )
    matrix.sum_duplicates()
    dense = F.dense_features(codes, lengths, lex.trigram_logp, lex.word_bitset)
    return matrix, dense


@dataclass(frozen=True)
class Linear:
    """Fitted logistic regression over [hashed n-grams, standardised dense features]."""

    ngram_weights: np.ndarray
    dense_mean: np.ndarray
    dense_scale: np.ndarray
    dense_weights: np.ndarray
    bias: float

    def logits(self, grams: Any, dense: np.ndarray) -> np.ndarray:
        std = (dense - self.dense_mean) / self.dense_scale
        out: np.ndarray = grams @ self.ngram_weights.astype(np.float64) + std @ self.dense_weights
        return out + self.bias


def fit_linear(grams: Any, dense: np.ndarray, y: np.ndarray, weight: np.ndarray, *, c: float,
               seed: int, max_iter: int) -> Linear:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    x = sparse.hstack([grams, sparse.csr_matrix((dense - mean) / scale)]).tocsr()
    clf = LogisticRegression(C=c, max_iter=max_iter, tol=1e-4, random_state=seed)
    clf.fit(x, y, sample_weight=weight)
    coef = clf.coef_.ravel()
    n = grams.shape[1]
    return Linear(coef[:n].astype(np.float32), mean, scale, coef[n:], float(clf.intercept_[0]))


def out_of_family_logits(corpus: Corpus, grams: Any, dense: np.ndarray, *, c: float, seed: int,
                         max_iter: int, groups: int = HEAD_GROUPS) -> np.ndarray | None:
    """The linear logit of every label from a model that saw neither its family (DGA) nor its
    hash slice (benign): what the regression says about a family it does not know. None when
    there are fewer families than groups."""
    from bluelamp.models.evaluate_dga import family_folds

    fams = [f for f in corpus.family.tolist() if f]
    if len(set(fams)) < groups:
        return None
    slices = np.floor(stable_fraction(corpus.labels, "head") * groups)
    z = np.zeros(len(corpus))
    for g, held_fams in enumerate(family_folds(fams, groups, seed + 7)):
        held = np.isin(corpus.family, held_fams) | ((corpus.y == 0) & (slices == g))
        keep = np.flatnonzero(~held)
        part = linear_on(corpus, keep, grams, dense, c=c, seed=seed, max_iter=max_iter)
        z[held] = part.logits(grams[np.flatnonzero(held)], dense[held])
    return z


def linear_on(corpus: Corpus, rows: np.ndarray, grams: Any, dense: np.ndarray, *, c: float,
              seed: int, max_iter: int) -> Linear:
    weight = balanced_weights(corpus.y[rows], corpus.family[rows])
    return fit_linear(grams[rows], dense[rows], corpus.y[rows], weight, c=c, seed=seed,
                      max_iter=max_iter)


def fit_head(dense: np.ndarray, z: np.ndarray, y: np.ndarray, weight: np.ndarray,
             seed: int) -> Head:
    from sklearn.neural_network import MLPClassifier

    x = np.column_stack([dense, z])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    mlp = MLPClassifier(hidden_layer_sizes=(HEAD_HIDDEN,), alpha=HEAD_ALPHA, max_iter=300,
                        random_state=seed)
    mlp.fit((x - mean) / scale, y, sample_weight=weight / weight.mean())
    return Head(mean=mean, scale=scale, w1=mlp.coefs_[0], b1=mlp.intercepts_[0],
                w2=mlp.coefs_[1].ravel(), b2=float(mlp.intercepts_[1][0]))


def fit(
    corpus: Corpus, *, c: float = DEFAULT_C, bits: int = DEFAULT_BITS, seed: int = 0,
    max_iter: int = DEFAULT_MAX_ITER, head: bool = True, meta: dict[str, Any] | None = None,
) -> DGAModel:
    """Fit the logistic regression on `corpus` (and, with `head`, the head on out-of-family
    logits) and return a scorer. `max_iter` caps the lbfgs iterations (quick checks use fewer;
    the result stays deterministic)."""
    lex = lexicon()
    grams, dense = design(corpus.labels, lex, bits)
    lin = fit_linear(grams, dense, corpus.y, corpus.weight, c=c, seed=seed, max_iter=max_iter)
    z = out_of_family_logits(corpus, grams, dense, c=c, seed=seed, max_iter=max_iter) \
        if head else None
    info = {"c": c, "bits": bits, "seed": seed, "n_train": len(corpus),
            "n_dga": int(corpus.y.sum()), "families": sorted(set(corpus.family) - {""}),
            "head": z is not None}
    return DGAModel(
        ngram_weights=lin.ngram_weights,
        dense_mean=lin.dense_mean,
        dense_scale=lin.dense_scale,
        dense_weights=lin.dense_weights,
        bias=lin.bias,
        word_bitset=lex.word_bitset,
        trigram_logp=lex.trigram_logp,
        meta={**info, **(meta or {})},
        head=None if z is None else fit_head(dense, z, corpus.y, corpus.weight, seed),
    )


def subsample(corpus: Corpus, n: int, seed: int) -> Corpus:
    """A random subsample of `n` labels (both classes kept in proportion), weights recomputed."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(corpus), size=n, replace=False))
    mask = np.zeros(len(corpus), dtype=bool)
    mask[idx] = True
    return reweighted(corpus.subset(mask))


def reweighted(corpus: Corpus) -> Corpus:
    """The same labels with `balanced_weights` recomputed for this subset."""
    return Corpus(corpus.labels, corpus.y, corpus.family,
                  balanced_weights(corpus.y, corpus.family))
