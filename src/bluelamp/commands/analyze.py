"""`bluelamp analyze`: run every detector over DNS files and show the findings."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bluelamp.detect.base import Finding, Limits, findings_table
from bluelamp.detect.engine import Engine, default_detectors, settings_window
from bluelamp.detect.metrics import EngineMetrics
from bluelamp.errors import BluelampError, InputError, Location, RecordError
from bluelamp.schema import DNS, FINDING
from bluelamp.sources.base import DEFAULT_BATCH_SIZE, Chunk, read_path, readers
from bluelamp.store.lake import Lake

#: error locations kept for the report (all are counted)
MAX_ERROR_SAMPLES = 100
#: error lines printed on stderr before summarising the rest
MAX_ERROR_LINES = 20
#: findings shown in the terminal table (all are in --json and the lake)
MAX_TABLE_ROWS = 50

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> dt.timedelta:
    """'90s', '15m', '1h', '90d', '2w' -> timedelta."""
    match = _DURATION.match(text.lower())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration like 30s, 15m, 1h, 90d or 2w")
    value = dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if value <= dt.timedelta(0):
        raise typer.BadParameter("a duration must be positive")
    return value


def input_files(paths: Sequence[Path]) -> list[Path]:
    """Files named, and files inside named directories (recursively, hidden ones skipped),
    in a stable order."""
    files: list[Path] = []
    for path in paths:
        if str(path) == "-" or path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in
                                        p.relative_to(path).parts))
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def read_chunks(path: Path, fmt: str | None, *, strict: bool,
                batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Chunk]:
    """Chunks of one file through the registered readers. Parquet in the `dns` schema is
    read directly while no reader named "parquet" is registered."""
    if "parquet" not in readers() and fmt in (None, "parquet") and _is_parquet(path):
        yield from _parquet_chunks(path, batch_size)
        return
    yield from read_path(path, fmt, strict=strict, batch_size=batch_size)


def _is_parquet(path: Path) -> bool:
    if str(path) == "-":
        return False
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _parquet_chunks(path: Path, batch_size: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    columns = [n for n in DNS.names if n in pf.schema_arrow.names]
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
        yield Chunk(DNS.conform(batch).to_batches()[0] if batch.num_rows else None)


@dataclass
class Analysis:
    """What one run over some inputs produced."""

    findings: list[Finding]
    metrics: EngineMetrics
    error_samples: list[RecordError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.findings, key=lambda f: (-f.score, f.detector, f.subject))
        return {
            "observations": self.metrics.rows,
            "errors": self.metrics.errors,
            "findings": FINDING.to_json_rows(findings_table(ordered)),
            "error_samples": [e.to_json() for e in self.error_samples],
            "metrics": self.metrics.to_dict(),
        }


def run_analysis(
    files: Sequence[Path],
    engine: Engine,
    *,
    fmt: str | None = None,
    strict: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_error: Callable[[RecordError], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Analysis:
    """Feed every file to `engine` and flush it. Bad records are counted and passed to
    `on_error`; with `strict` the first one raises InputError. A file that cannot be read
    at all counts as one error (and raises with `strict`)."""
    found: list[Finding] = []
    samples: list[RecordError] = []

    def note(error: RecordError) -> None:
        if len(samples) < MAX_ERROR_SAMPLES:
            samples.append(error)
        if on_error is not None:
            on_error(error)

    for path in files:
        try:
            for chunk in read_chunks(path, fmt, strict=strict, batch_size=batch_size):
                for error in chunk.errors:
                    note(error)
                found += engine.process(chunk)
                if on_chunk is not None:
                    on_chunk(engine.metrics.rows)
        except InputError as exc:
            if strict:
                raise
            # a file that cannot be read at all (unknown format, unreadable) is one bad
            # record; the other files still count
            engine.metrics.errors += 1
            note(exc.error if isinstance(exc.error, RecordError)
                 else RecordError(Location(str(path)),
                                  str(exc).removeprefix(f"{path}: ")))
        if on_file is not None:
            on_file(path)
    found += engine.flush()
    return Analysis(found, engine.metrics, samples)


def findings_console_table(findings: Sequence[Finding], limit: int = MAX_TABLE_ROWS) -> Table:
    table = Table(title=f"{len(findings)} finding(s)", show_lines=False)
    for name in ("score", "detector", "subject", "first seen (UTC)", "count", "explanation"):
        table.add_column(name, overflow="fold")
    for f in sorted(findings, key=lambda f: (-f.score, f.detector, f.subject))[:limit]:
        table.add_row(f"{f.score:.2f}", f.detector, f.subject,
                      f"{f.first_seen:%Y-%m-%d %H:%M:%S}", str(f.count), f.explanation)
    if len(findings) > limit:
        table.caption = f"{len(findings) - limit} more: use --json or query the lake"
    return table


def _progress(console: Console, total: int) -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def analyze(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to read ('-' is "
                                                "stdin).")],
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Input format (default: "
                                            "detected from the content).")] = None,
    lake: Annotated[Path | None, typer.Option(help="Also write observations and findings "
                                              "to this Parquet lake.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on "
                                          "stdout.")] = False,
    strict: Annotated[bool, typer.Option(help="Stop with an error at the first bad "
                                         "record.")] = False,
    indicators: Annotated[list[Path] | None, typer.Option(
        "--indicators", help="Indicator list (domains, IPs, CIDRs; one per line); "
        "repeatable.")] = None,
    window: Annotated[str | None, typer.Option(help="Window length for every detector, "
                                               "e.g. 15m, 1h (default: engine.window_seconds "
                                               "if set, else each detector's own).")] = None,
    grace: Annotated[str, typer.Option(help="How far out of time order rows may come "
                                       "before their window closes.")] = "1d",
) -> None:
    """Run every detector over DNS log files and show what they found.

    Example: [bold]bluelamp analyze dns.log.gz captures/ --indicators c2.txt --json[/bold]
    """
    from bluelamp.settings import load_settings

    err = Console(stderr=True)
    settings = load_settings()
    options: dict[str, Any] = {"indicators": list(indicators or [])}
    # a window given here or set in the settings overrides each detector's own default
    chosen = parse_duration(window) if window else settings_window(settings)
    if chosen is not None:
        options["window"] = chosen
    try:
        files = input_files(paths)
        engine = Engine(default_detectors(**options),
                        limits=Limits(max_keys=settings.engine.max_keys),
                        lake=Lake(lake) if lake else None, grace=parse_duration(grace))
        printed = [0]

        def report(error: RecordError) -> None:
            printed[0] += 1
            if printed[0] <= MAX_ERROR_LINES:
                err.print(f"[yellow]bad record[/yellow] {error}", markup=True, highlight=False,
                          soft_wrap=True)

        sizes = {p: (p.stat().st_size if str(p) != "-" else 0) for p in files}
        with _progress(err, sum(sizes.values())) as progress:
            task = progress.add_task("analysing", total=sum(sizes.values()) or None)
            result = run_analysis(files, engine, fmt=fmt, strict=strict,
                                  batch_size=settings.engine.batch_size, on_error=report,
                                  on_file=lambda p: progress.advance(task, sizes[p]),
                                  on_chunk=lambda rows: progress.update(
                                      task, description=f"analysing: {rows:,} rows"))
    except BluelampError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if printed[0] > MAX_ERROR_LINES:
        err.print(f"... and {printed[0] - MAX_ERROR_LINES} more bad record(s)")
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        return
    Console().print(findings_console_table(result.findings))
    _summary(err, result)


def _summary(console: Console, result: Analysis) -> None:
    m = result.metrics
    console.print(
        f"{m.rows:,} observations, {m.errors:,} bad record(s), {m.late_rows:,} late row(s), "
        f"{len(result.findings):,} finding(s) in {m.elapsed:.1f}s "
        f"({m.rows_per_second:,.0f} rows/s); dropped to stay in limits: {m.dropped_total:,}",
        highlight=False)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
