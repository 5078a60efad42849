"""`bluelamp evaluate`: measure detectors on labelled data.

`--domains FILE` scores a labelled list of names with the DGA model; `--leave-families-out`
retrains the DGA model with whole families held out (the honest figures of docs/detection.md);
`--traffic DIR` runs every detector over a labelled `simulate` output (`bluelamp.evaluate.traffic`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bluelamp.errors import ConfigError, InputError, Location, RecordError

LABELS = {"1": 1, "dga": 1, "0": 0, "benign": 0}


def read_labelled(path: Path) -> tuple[list[str], np.ndarray, list[RecordError]]:
    """Read `label<TAB>domain` lines; blank lines and # comments are skipped, bad lines are
    collected as errors (with file and line) and the good ones kept."""
    names: list[str] = []
    labels: list[int] = []
    errors: list[RecordError] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    for line_no, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split("\t") if "\t" in text else text.split()
        label = LABELS.get(fields[0].strip().lower()) if len(fields) == 2 else None
        if label is None or not fields[1].strip():
            errors.append(RecordError(Location(str(path), line=line_no),
                                      "expected label<TAB>domain with label 1/0/dga/benign",
                                      sample=line))
            continue
        labels.append(label)
        names.append(fields[1].strip())
    return names, np.array(labels, dtype=np.int64), errors


def _print_metrics(m: dict[str, Any]) -> None:
    typer.echo(f"names: {m['n_dga']} DGA, {m['n_benign']} benign")
    typer.echo(f"AUC: {m['auc']:.4f}")
    for key, value in m.items():
        if key.startswith("tpr_at_fpr_"):
            typer.echo(f"TPR at FPR {key.removeprefix('tpr_at_fpr_')}: {value:.4f}")


def _evaluate_domains(path: Path, model: Path | None, as_json: bool) -> None:
    from bluelamp.models.dga import DGAModel
    from bluelamp.models.evaluate_dga import metrics

    names, y, errors = read_labelled(path)
    for err in errors[:20]:
        typer.echo(f"warning: {err}", err=True)
    if len(errors) > 20:
        typer.echo(f"warning: {len(errors) - 20} more bad lines", err=True)
    if not names:
        raise InputError(f"{path}: no labelled names")
    m = metrics(y, DGAModel.load(model).score(names))
    m["bad_lines"] = len(errors)
    if as_json:
        typer.echo(json.dumps(m, sort_keys=True))
    else:
        _print_metrics(m)


def _evaluate_traffic(folder: Path, model: Path | None, as_json: bool) -> None:
    from bluelamp.evaluate.traffic import evaluate_traffic, print_report

    result = evaluate_traffic(folder, dga_model=model,
                              progress=lambda msg: typer.echo(msg, err=True))
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True, default=str))
    else:
        print_report(result, typer.echo)


def _leave_families_out(folds: int, seed: int, as_json: bool, head: bool,
                        c_grid: list[float] | None) -> None:
    try:
        from bluelamp.models.evaluate_dga import leave_families_out
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(f"needs the train extra: {exc}") from None
    grid = tuple(c_grid) if c_grid else (1.0, 3.0, 10.0)
    result = leave_families_out(k=folds, seed=seed, head=head, c_grid=grid,
                                progress=lambda msg: typer.echo(msg, err=True))
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True, indent=1))
        return
    for kind in ("unseen", "seen"):
        typer.echo(f"{kind} families (mean over {folds} folds):")
        for key, value in result[f"{kind}_mean_over_folds"].items():
            typer.echo(f"  {key}: {value:.4f}")
    typer.echo("recall of unseen families at FPR 1e-3:")
    for fam, v in sorted(result["recall_by_unseen_family"].items()):
        typer.echo(f"  {fam}: {v['recall_at_fpr_0.001']:.3f} (n={v['n']})")


def evaluate(
    domains: Annotated[Path | None, typer.Option(
        help="File of label<TAB>domain lines (label 1/0 or dga/benign).")] = None,
    traffic: Annotated[Path | None, typer.Option(
        help="Folder written by `bluelamp simulate` (traffic + labels.parquet): per-detector "
        "precision, recall, FPR and time to detect.")] = None,
    leave_families_out: Annotated[bool, typer.Option(
        "--leave-families-out", help="Retrain with whole DGA families held out and report "
        "seen/unseen-family figures (needs the train extra; minutes).")] = False,
    folds: Annotated[int, typer.Option(help="Family folds for --leave-families-out.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the family folds.")] = 0,
    linear_only: Annotated[bool, typer.Option(
        "--linear-only", help="--leave-families-out: evaluate the DGA model without its head "
        "(the logistic regression alone).")] = False,
    c_grid: Annotated[list[float] | None, typer.Option(
        "--c", help="--leave-families-out: regularisation C to choose from on the inner "
        "split (repeat the option; one value fixes C; default 1, 3, 10).")] = None,
    model: Annotated[Path | None, typer.Option(
        help="DGA weights file (default: the shipped model).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print AUC and TPR at FPR 1e-2 and 1e-3 of the DGA scorer on labelled names.

    Example: bluelamp evaluate --domains labelled.tsv --json
    """
    chosen = [x for x in (domains, traffic) if x is not None] + (
        [True] if leave_families_out else [])
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --domains, --traffic, "
                                 "--leave-families-out")
    if traffic is not None:
        _evaluate_traffic(traffic, model, as_json)
        return
    if domains is not None:
        _evaluate_domains(domains, model, as_json)
    else:
        _leave_families_out(folds, seed, as_json, head=not linear_only, c_grid=c_grid)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
