"""`bluelamp demo`: simulate a day of DNS traffic, analyse it, show what was found."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console

from bluelamp.commands.analyze import findings_console_table
from bluelamp.detect.base import Finding
from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.errors import BluelampError
from bluelamp.store.lake import Lake


def simulate(clients: int, hours: float, seed: int) -> tuple[pa.Table, pa.Table]:
    try:
        from bluelamp.simulate import simulate_day
    except ImportError as exc:  # the simulator is an optional part of a partial install
        raise BluelampError(f"the traffic simulator is not available: {exc}") from None
    return simulate_day(clients=clients, hours=hours, seed=seed)


def analyse(dns: pa.Table, lake: Lake, indicators: list[Path]) -> tuple[list[Finding], Engine]:
    engine = Engine(default_detectors(indicators=indicators), lake=lake)
    found: list[Finding] = []
    for batch in dns.to_batches(max_chunksize=65_536):
        found += engine.process(batch)
    return found + engine.flush(), engine


def label_summary(labels: pa.Table, findings: list[Finding]) -> dict[str, Any]:
    """How many simulated malicious clients some finding names (clients as subjects)."""
    flagged = {f.subject for f in findings if f.subject_kind == "client"}
    rows = [r for r in labels.select(["label", "malicious", "client"]).to_pylist()
            if r["malicious"] and r["client"]]
    by_label: dict[str, list[int]] = {}
    for r in rows:
        seen = by_label.setdefault(r["label"], [0, 0])
        seen[0] += 1
        seen[1] += r["client"] in flagged
    benign = {r["client"] for r in labels.select(["malicious", "client"]).to_pylist()
              if not r["malicious"]} - {r["client"] for r in rows}
    return {"by_label": by_label, "benign_flagged": len(benign & flagged),
            "benign": len(benign)}


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the traffic file and the lake.")] =
    Path("bluelamp-demo"),
    clients: Annotated[int, typer.Option(help="Simulated clients.")] = 200,
    hours: Annotated[float, typer.Option(help="Simulated hours.")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same day).")] = 0,
    indicators: Annotated[list[Path] | None, typer.Option(
        "--indicators", help="Indicator list to match as well; repeatable.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do not start the web "
                                           "UI afterwards.")] = False,
) -> None:
    """Simulate a realistic day of DNS traffic with infected clients, analyse it and show
    the findings.

    Example: [bold]bluelamp demo --clients 500 --hours 6 --no-serve[/bold]
    """
    err = Console(stderr=True)
    try:
        with err.status("simulating traffic"):
            dns, labels = simulate(clients, hours, seed)
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(dns, out / "traffic.parquet")
        with err.status(f"analysing {dns.num_rows:,} queries"):
            findings, engine = analyse(dns, Lake(out / "lake"), list(indicators or []))
    except BluelampError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console = Console()
    console.print(findings_console_table(findings))
    _print_summary(console, dns, labels, findings, engine, out)
    if not no_serve:
        # starting the web UI from here comes with a later issue; say how to open it
        console.print("Explore the results: [bold]bluelamp query --lake "
                      f"{out / 'lake'} \"SELECT * FROM finding\"[/bold], or the web UI with "
                      f"[bold]BLUELAMP_LAKE__PATH={out / 'lake'} bluelamp serve[/bold].")


def _print_summary(console: Console, dns: pa.Table, labels: pa.Table,
                   findings: list[Finding], engine: Engine, out: Path) -> None:
    span = dt.timedelta(microseconds=0)
    if dns.num_rows:
        ts = dns.column("ts")
        span = ts[-1].as_py() - ts[0].as_py()
    by_type = Counter(f.type for f in findings)
    console.print(f"Simulated {dns.num_rows:,} queries over {span}; "
                  f"{len(findings)} finding(s): "
                  + (", ".join(f"{n} {t}" for t, n in by_type.most_common()) or "none"))
    summary = label_summary(labels, findings)
    for label, (total, hit) in sorted(summary["by_label"].items()):
        console.print(f"  {label}: {hit} of {total} simulated client(s) flagged")
    console.print(f"  benign clients flagged: {summary['benign_flagged']} of "
                  f"{summary['benign']}")
    console.print(f"Traffic: {out / 'traffic.parquet'}; lake: {out / 'lake'} "
                  f"({engine.metrics.rows_per_second:,.0f} rows/s)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
