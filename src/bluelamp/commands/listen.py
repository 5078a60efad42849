"""`bluelamp listen`: live analysis of dnstap from a resolver."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console

from bluelamp.commands.analyze import parse_duration
from bluelamp.detect.base import Finding, Limits
from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.errors import BluelampError
from bluelamp.schema import FINDING
from bluelamp.sources.live import DnstapListener, Endpoint
from bluelamp.store.lake import Lake


class ObservationWriter:
    """Buffers live `dns` rows and writes them to the lake every `interval` seconds (and on
    `flush`), so a long-running listener produces a few files a minute, not one per batch."""

    def __init__(self, lake: Lake | None, interval: float) -> None:
        self.lake = lake
        self.interval = interval
        self.pending: list[pa.RecordBatch] = []
        self.written = 0
        self.last = time.monotonic()

    def add(self, batch: pa.RecordBatch | None) -> None:
        if self.lake is not None and batch is not None and batch.num_rows:
            self.pending.append(batch)
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if self.lake is None or not self.pending:
            return
        table = pa.Table.from_batches(self.pending)
        self.pending = []
        self.lake.write("dns", table)
        self.written += table.num_rows


def _printer(as_json: bool) -> Callable[[list[Finding]], None]:
    console = Console()

    def show(findings: list[Finding]) -> None:
        for f in findings:
            if as_json:
                row = FINDING.to_json_rows(FINDING.from_rows([f.to_row()]))[0]
                sys.stdout.write(json.dumps(row) + "\n")
                sys.stdout.flush()
            else:
                console.print(f"[bold]{f.score:.2f}[/bold] {f.detector} {f.subject}: "
                              f"{f.explanation}", highlight=False)
    return show


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def listen(
    dnstap: Annotated[str, typer.Option(help="Where resolvers connect: unix:PATH or "
                                        "tcp:HOST:PORT.")],
    lake: Annotated[Path | None, typer.Option(help="Write observations and findings to "
                                              "this Parquet lake.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON lines; "
                                          "a final JSON summary goes to stderr.")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="Checkpoint file: resume after a "
                                                    "restart, saved periodically.")] = None,
    indicators: Annotated[list[Path] | None, typer.Option(
        "--indicators", help="Indicator list (domains, IPs, CIDRs); repeatable.")] = None,
    window: Annotated[str, typer.Option(help="Window length for every detector.")] = "1m",
    grace: Annotated[str, typer.Option(help="How long to wait for late rows before a "
                                       "window closes.")] = "10s",
    batch_size: Annotated[int, typer.Option(help="Decode after this many frames...")] = 8192,
    flush_interval: Annotated[float, typer.Option(help="...or this many seconds after the "
                                                  "first waiting frame.")] = 0.5,
    lake_interval: Annotated[float, typer.Option(help="Seconds between lake writes of "
                                                 "observations.")] = 5.0,
) -> None:
    """Analyse live dnstap from BIND, Unbound or Knot Resolver (see docs/live.md).

    Keeps listening when a resolver restarts or a connection drops; SIGINT/SIGTERM flush
    every window and write everything before exiting.

    Example: [bold]bluelamp listen --dnstap unix:/run/bluelamp/dnstap.sock --lake lake
    --indicators c2.txt --json[/bold]
    """
    from bluelamp.settings import load_settings

    err = Console(stderr=True)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        settings = load_settings()
        options: dict[str, Any] = {"indicators": list(indicators or []),
                                   "window": parse_duration(window)}
        store = Lake(lake) if lake else None
        engine = Engine(default_detectors(**options),
                        limits=Limits(max_keys=settings.engine.max_keys), lake=store,
                        write_observations=False, checkpoint=checkpoint,
                        grace=parse_duration(grace))
        listener = DnstapListener(Endpoint.parse(dnstap), batch_size=batch_size,
                                  flush_interval=flush_interval)
    except BluelampError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    err.print(f"listening on {listener.address}", highlight=False)
    summary = _run(listener, engine, ObservationWriter(store, lake_interval), stop,
                   _printer(as_json), err)
    if as_json:
        err.print(json.dumps(summary), highlight=False, soft_wrap=True)
    else:
        err.print(f"{summary['rows']:,} observations, {summary['errors']:,} bad frame(s), "
                  f"{summary['connections']} connection(s), {summary['findings']} finding(s)",
                  highlight=False)


def _run(listener: DnstapListener, engine: Engine, writer: ObservationWriter,
         stop: threading.Event, show: Callable[[list[Finding]], None],
         err: Console) -> dict[str, Any]:
    found = 0
    saved = time.monotonic()
    with listener:
        for chunk in listener.chunks(stop):
            for error in chunk.errors:
                err.print(f"[yellow]bad input[/yellow] {error}", highlight=False)
            writer.add(chunk.batch)
            findings = engine.process(chunk) + engine.advance(dt.datetime.now(dt.UTC))
            found += len(findings)
            show(findings)
            if engine.checkpoint is not None and time.monotonic() - saved > 30:
                writer.flush()
                engine.save_checkpoint()
                saved = time.monotonic()
        writer.flush()
        last = engine.flush()
        found += len(last)
        show(last)
        if engine.checkpoint is not None:
            engine.save_checkpoint()
    return {"rows": engine.metrics.rows, "errors": engine.metrics.errors,
            "written": writer.written, "findings": found,
            "connections": listener.stats.connections, "frames": listener.stats.frames}


def register(app: typer.Typer) -> None:
    app.command("listen")(listen)
