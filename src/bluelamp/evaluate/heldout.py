"""Held-out material for honest traffic evaluation (needs the `train` extra).

- `train_without(families)`: the DGA scorer trained exactly like the shipped one
  (`models.train_dga`) but with whole families left out, so that `evaluate --traffic
  --model` measures the infected-client detector on families its name model never saw.
- `wordlist_family()`: names of a dictionary-word DGA (two English words and a TLD, in the
  manner of suppobox/matsnu), a family that is in no training data, for `simulate
  --dga-names` (the hard case: the names do not look generated).

    python -m bluelamp.evaluate.heldout --exclude banjori,simda --model held.npz \
        --wordlist wordlist.tsv
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def train_without(families: Sequence[str], out: Path, seed: int = 0) -> dict[str, object]:
    """Fit the DGA scorer without `families` and save it to `out`; returns its metadata."""
    from bluelamp.models import train_dga as T

    corpus = T.load_corpus()
    known = set(corpus.family.tolist()) - {""}
    unknown = sorted(set(families) - known)
    if unknown:
        raise ValueError(f"not in the training data: {unknown}")
    keep = ~np.isin(corpus.family, list(families))
    model = T.fit(T.reweighted(corpus.subset(keep)), c=T.DEFAULT_C, seed=seed,
                  meta={"excluded_families": sorted(families)})
    model.save(out)
    return dict(model.meta)


def wordlist_family(n: int = 400, seed: int = 0) -> list[str]:
    """`n` distinct names of two dictionary words (4-7 letters each) under .net/.com."""
    from english_words import get_english_words_set

    words = sorted(w for w in get_english_words_set(["web2"], alpha=True, lower=True)
                   if 4 <= len(w) <= 7)
    g = np.random.default_rng(seed)
    names: dict[str, None] = {}
    while len(names) < n:
        a, b = g.choice(len(words), size=2, replace=False)
        names[f"{words[a]}{words[b]}.{('net', 'com')[int(g.integers(2))]}"] = None
    return list(names)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exclude", required=True, help="comma-separated DGA families")
    ap.add_argument("--model", type=Path, required=True, help="weights file to write")
    ap.add_argument("--wordlist", type=Path, help="also write a word-list family file")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    meta = train_without([f for f in args.exclude.split(",") if f], args.model, args.seed)
    print(f"wrote {args.model}: {meta['n_train']} labels, without {meta['excluded_families']}")
    if args.wordlist:
        lines = [f"wordlist\t{name}\n" for name in wordlist_family(seed=args.seed)]
        args.wordlist.write_text("".join(lines), encoding="utf-8")
        print(f"wrote {args.wordlist}: {len(lines)} word-list DGA names")


if __name__ == "__main__":
    main()
