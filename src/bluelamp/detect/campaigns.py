"""Campaign helpers for the infected-client detector: grouping clients that fail on the same
generated domains, lexical features of registered labels, and the nearest known DGA family.

Everything here is vectorised over arrays of names or of (client, domain) edges; the detector
module only decides and explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp import resources
from bluelamp.domains import registered_domains, split_names
from bluelamp.models import features as F

#: lexical features of a registered label, in this order (see `label_features`)
FEATURES = ("length", "digits", "vowels", "hyphens", "distinct")
_VOWEL = np.zeros(F.ALPHABET, dtype=bool)
_VOWEL[[1, 5, 9, 15, 21]] = True  # a e i o u
_HYPHEN = 37


def components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected components of an undirected graph on nodes 0..n-1 given as edges
    (a[i], b[i]); returns a component number per node (its smallest node).

    Min-label propagation along both edge directions until nothing changes: as many rounds
    as the graph's diameter, which is small for campaigns (bots share most names).
    """
    labels = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return labels
    left, right = np.concatenate((a, b)), np.concatenate((b, a))
    while True:
        new = labels.copy()
        np.minimum.at(new, left, labels[right])
        new = new[new]  # pointer jumping: follow the label's own label
        if np.array_equal(new, labels):
            return labels
        labels = new


def pair_strength(client: np.ndarray, item: np.ndarray, n: int,
                  max_prevalence: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (client, item) rows (each pair once): how many items each client has in common
    with each other client, as pair arrays (a, b, common) with a != b, both orders.

    Items held by more than `max_prevalence` clients are left out (the pairs would grow with
    its square); `item_prevalence` lets the caller count those separately.
    """
    order = np.lexsort((client, item))
    c, it = client[order], item[order]
    counts = np.bincount(it)
    keep = (counts[it] >= 2) & (counts[it] <= max_prevalence)
    c, it = c[keep], it[keep]
    if len(c) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # all ordered pairs within each item's group: group sizes k give k*k candidates
    starts = np.flatnonzero(np.r_[True, it[1:] != it[:-1]])
    sizes = np.diff(np.r_[starts, len(it)])
    group_of = np.repeat(np.arange(len(starts)), sizes)
    rep = sizes[group_of]
    first = np.repeat(np.arange(len(c)), rep)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(rep) - rep, rep)
    second = starts[group_of[first]] + offset
    a, b = c[first], c[second]
    differ = a != b
    key = a[differ] * n + b[differ]
    pairs, common = np.unique(key, return_counts=True)
    return pairs // n, pairs % n, common


def label_features(names: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Per name: the features of its registered label (`FEATURES`) as a float matrix, and
    its public suffix (for the TLD profile). Names without a registered label give zeros.
    Computed on the label's character codes in numpy (`models.features.encode`)."""
    _, label, suffix = split_names(names)
    codes, length = F.encode(label)
    safe = np.maximum(length, 1).astype(np.float64)
    digits = F._IS_DIGIT[codes].sum(axis=1)
    letters = F._IS_LETTER[codes].sum(axis=1)
    vowels = _VOWEL[codes].sum(axis=1)
    hyphens = (codes == _HYPHEN).sum(axis=1)
    present = np.zeros((len(codes), F.ALPHABET), dtype=bool)
    rows = np.repeat(np.arange(len(codes)), codes.shape[1])
    present[rows, codes.ravel()] = True
    distinct = present[:, 1:].sum(axis=1)  # column 0 is padding
    matrix = np.column_stack([length.astype(np.float64), digits / safe,
                              vowels / np.maximum(letters, 1), hyphens / safe,
                              distinct / safe])
    return matrix, suffix


@dataclass(frozen=True)
class Profile:
    """A family's (or campaign's) lexical profile: mean features and its suffixes."""

    mean: np.ndarray
    suffixes: frozenset[str]


@dataclass(frozen=True)
class FamilyGuess:
    family: str | None
    distance: float
    runner_up: str | None


@dataclass(frozen=True)
class Families:
    """Profiles of the known DGA families (from `resources.dga_names()`), and the per-feature
    spread used to put features on one scale."""

    profiles: dict[str, Profile]
    scale: np.ndarray

    def guess(self, profile: Profile, max_distance: float = 1.0,
              margin: float = 1.5) -> FamilyGuess:
        """The nearest family if it is near enough and clearly nearer than the runner-up
        (distance ratio ≥ `margin`); family None otherwise ("unknown DGA")."""
        scored = sorted((self.distance(profile, p), name) for name, p in self.profiles.items())
        (best, name), (second, other) = scored[0], scored[1]
        confident = best <= max_distance and second >= margin * best
        return FamilyGuess(name if confident else None, round(best, 3), other)

    def distance(self, a: Profile, b: Profile) -> float:
        """Scaled Euclidean distance of the mean features plus the Jaccard distance of the
        suffix sets (families register under their own few TLDs)."""
        lexical = float(np.sqrt(np.sum(((a.mean - b.mean) / self.scale) ** 2)))
        union = a.suffixes | b.suffixes
        jaccard = 1.0 - len(a.suffixes & b.suffixes) / len(union) if union else 1.0
        return lexical + jaccard


def profile_of(names: pa.Array) -> Profile:
    matrix, suffix = label_features(names)
    suffixes = frozenset(s for s in suffix.to_pylist() if s)
    return Profile(matrix.mean(axis=0) if len(matrix) else np.zeros(len(FEATURES)), suffixes)


@cache
def known_families() -> Families:
    """Profiles of every embedded DGA family (computed once per process)."""
    pairs = resources.dga_names()
    family = np.array([f for f, _ in pairs], dtype=object)
    names = pa.array([n for _, n in pairs], pa.string())
    matrix, suffix = label_features(names)
    suffixes = np.array(suffix.to_pylist(), dtype=object)
    profiles = {}
    for fam in sorted(set(family.tolist())):
        mask = family == fam
        profiles[fam] = Profile(matrix[mask].mean(axis=0),
                                frozenset(s for s in suffixes[mask].tolist() if s))
    means = np.array([p.mean for p in profiles.values()])
    scale = np.maximum(means.std(axis=0), 1e-3)
    return Families(profiles, scale)


@cache
def popular_domains() -> pa.Array:
    """The embedded top list as registered domains, plus the listed names themselves (a
    listed name that is a private public suffix, `googleapis.com`, has no registered domain
    of its own). Used to skip or down-weight domains no malware campaign owns."""
    names = pa.array(resources.benign_domains("top"), pa.string())
    both = pa.concat_arrays([names, registered_domains(names)])
    return pc.unique(both.filter(pc.is_valid(both)))
