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
from bluelamp.models.dga import DGAModel, scoring_labels

DEFAULT_BITS = 18
DEFAULT_C = 3.0
DEFAULT_MAX_ITER = 1000
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


def fit(
    corpus: Corpus, *, c: float = DEFAULT_C, bits: int = DEFAULT_BITS, seed: int = 0,
    max_iter: int = DEFAULT_MAX_ITER, meta: dict[str, Any] | None = None,
) -> DGAModel:
    """Fit the logistic regression on `corpus` and return a scorer. `max_iter` caps the lbfgs
    iterations (quick checks use fewer; the result stays deterministic)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    lex = lexicon()
    grams, dense = design(corpus.labels, lex, bits)
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    x = sparse.hstack([grams, sparse.csr_matrix((dense - mean) / scale)]).tocsr()
    clf = LogisticRegression(C=c, max_iter=max_iter, tol=1e-4, random_state=seed)
    clf.fit(x, corpus.y, sample_weight=corpus.weight)
    coef = clf.coef_.ravel()
    info = {"c": c, "bits": bits, "seed": seed, "n_train": len(corpus),
            "n_dga": int(corpus.y.sum()), "families": sorted(set(corpus.family) - {""})}
    return DGAModel(
        ngram_weights=coef[: 1 << bits].astype(np.float32),
        dense_mean=mean,
        dense_scale=scale,
        dense_weights=coef[1 << bits :],
        bias=float(clf.intercept_[0]),
        word_bitset=lex.word_bitset,
        trigram_logp=lex.trigram_logp,
        meta={**info, **(meta or {})},
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
