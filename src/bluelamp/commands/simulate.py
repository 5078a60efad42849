"""`bluelamp simulate`: write a labelled, realistic day of DNS traffic in any format."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bluelamp.errors import ConfigError
from bluelamp.simulate.config import DEFAULT_START, SimConfig
from bluelamp.simulate.day import Simulation
from bluelamp.simulate.registry import BEHAVIOURS
from bluelamp.simulate.writers import FILE_NAMES, FORMATS, open_writer


def _start(text: str | None) -> dt.datetime:
    if not text:
        return DEFAULT_START
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time like "
                                 "2025-03-03T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _list(text: str | None) -> tuple[str, ...] | None:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else None


def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")],
    clients: Annotated[int, typer.Option(help="Number of clients.")] = 100,
    hours: Annotated[float, typer.Option(help="Hours of traffic.")] = 24.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}."
                                     )] = "parquet",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    start: Annotated[str | None, typer.Option(
        help=f"Start time, ISO 8601 (default {DEFAULT_START.isoformat()}).")] = None,
    dga_families: Annotated[str | None, typer.Option(
        help="Comma-separated DGA families for infected clients (default: all); "
             "-name leaves a family out.")] = None,
    dga_names: Annotated[Path | None, typer.Option(
        help="Extra DGA names, a family<TAB>domain file (e.g. held-out families).")] = None,
    benign_names: Annotated[Path | None, typer.Option(
        help="Benign long-tail names, one per line (replace the embedded sample).")] = None,
    extra: Annotated[str | None, typer.Option(
        help=f"Extra behaviours, comma-separated ({', '.join(sorted(BEHAVIOURS))}).")] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Gzip the traffic file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Simulate labelled DNS traffic: benign clients, DGA-infected clients, C2 beacons and
    tunnels. Writes the traffic file and labels.parquet into --out.

    Example: bluelamp simulate --out sim --clients 1000 --hours 24 --format zeek --seed 7
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    try:
        cfg = SimConfig(clients=clients, hours=hours, seed=seed, start=_start(start),
                        dga_families=_list(dga_families), extra=_list(extra) or (),
                        dga_names_file=str(dga_names) if dga_names else None,
                        benign_names_file=str(benign_names) if benign_names else None)
        sim = Simulation(cfg)
    except (ValueError, OSError) as exc:
        raise ConfigError(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = out / (FILE_NAMES[fmt] + (".gz" if gzip else ""))
    began = time.perf_counter()
    progress = Progress(TextColumn("simulating {task.completed}/{task.total} h"), BarColumn(),
                        TextColumn("{task.fields[rows]:,} queries"), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
    with progress, open_writer(path, fmt) as writer:
        task = progress.add_task("simulate", total=len(cfg.slices()), rows=0)
        for table in sim.tables():
            writer.write(table)
            progress.update(task, advance=1, rows=sim.rows)
    labels = sim.labels()
    pq.write_table(labels, out / "labels.parquet")
    seconds = time.perf_counter() - began
    summary = {"traffic": str(path), "labels": str(out / "labels.parquet"),
               "format": fmt, "rows": sim.rows, "labels_rows": labels.num_rows,
               "seconds": round(seconds, 2), "rows_per_second": round(sim.rows / seconds)}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"wrote {sim.rows:,} queries to {path} and {labels.num_rows} labels in "
                   f"{seconds:.1f} s ({summary['rows_per_second']:,} rows/s)")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
