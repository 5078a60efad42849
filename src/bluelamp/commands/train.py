"""`bluelamp train dga`: retrain the DGA name scorer (needs the `train` extra)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from bluelamp.errors import ConfigError

train_app = typer.Typer(help="Train the models Bluelamp ships.", no_args_is_help=True)


@train_app.command("dga")
def train_dga(
    out: Annotated[Path, typer.Option("--out", "-o", help="Weights file to write (.npz).")] = Path(
        "dga_weights.npz"),
    seed: Annotated[int, typer.Option(help="Seed (drives --sample; the fit is deterministic).")
                    ] = 0,
    c: Annotated[float | None, typer.Option("--c", help="Inverse regularisation strength "
                                            "(default: the value the evaluation selects most).")
                 ] = None,
    bits: Annotated[int, typer.Option(min=8, max=24, help="log2 of the n-gram hash buckets.")
                    ] = 18,
    sample: Annotated[int | None, typer.Option(
        help="Train on a random subsample of this many labels (for quick checks).")] = None,
    max_iter: Annotated[int, typer.Option(min=1, help="Cap on optimiser iterations (quick "
                                          "checks use fewer).")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Train the DGA scorer on every embedded DGA family against both benign lists and write
    the weights. The shipped file is src/bluelamp/models/dga_weights.npz.

    Example: bluelamp train dga --out src/bluelamp/models/dga_weights.npz --seed 0
    """
    try:
        from bluelamp.models import train_dga as T
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(f"training needs the train extra (pip install 'bluelamp[train]'): "
                          f"{exc}") from None
    started = time.perf_counter()
    corpus = T.load_corpus()
    if sample is not None and sample < len(corpus):
        corpus = T.subsample(corpus, sample, seed)
    model = T.fit(corpus, c=T.DEFAULT_C if c is None else c, bits=bits, seed=seed,
                  max_iter=max_iter)
    model.save(out)
    summary = {**model.meta, "out": str(out), "seconds": round(time.perf_counter() - started, 1),
               "bytes": out.stat().st_size}
    summary.pop("families", None)
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    else:
        typer.echo(f"trained on {summary['n_train']} labels ({summary['n_dga']} DGA) "
                   f"in {summary['seconds']} s; wrote {out} ({summary['bytes']} bytes)")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
