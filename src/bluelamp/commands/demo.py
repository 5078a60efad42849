"""`bluelamp demo`: one realistic day through the whole flow, then the web UI on it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from bluelamp.commands.analyze import findings_console_table
from bluelamp.detect.base import Finding
from bluelamp.errors import BluelampError


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
    out: Annotated[Path, typer.Option(help="Folder for the traffic, the lake, the database "
                                      "and the demo's bluelamp.toml.")] = Path("bluelamp-demo"),
    clients: Annotated[int, typer.Option(help="Simulated clients.")] = 200,
    hours: Annotated[float, typer.Option(help="Simulated hours.")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same day).")] = 0,
    indicators: Annotated[list[Path] | None, typer.Option(
        "--indicators", help="Indicator list to match as well; repeatable.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do not start the web "
                                           "UI afterwards.")] = False,
    port: Annotated[int | None, typer.Option(help="Web UI port (default web.port, "
                                             "8000).")] = None,
) -> None:
    """Simulate a realistic day of DNS traffic from the demo organisations' networks (with
    infected clients, beacons and tunnels), analyse it, turn the findings and simulated
    Shadowserver reports into attributed events, create demo accounts, print what was found
    and serve the web UI on 127.0.0.1.

    Example: [bold]bluelamp demo --clients 500 --hours 6 --no-serve[/bold]
    """
    from bluelamp.demo import run_demo

    err = Console(stderr=True)
    try:
        with err.status(f"simulating {hours:g} h of DNS traffic from {clients} clients and "
                        "analysing it"):
            result = run_demo(out, clients=clients, hours=hours, seed=seed,
                              indicators=list(indicators or []))
    except BluelampError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console = Console()
    console.print(findings_console_table(result.findings))
    _print_summary(console, result, out)
    if result.credentials:
        console.print(_credentials_table(result.credentials))
    config = out / "bluelamp.toml"
    console.print(f"Every command works on these results with [bold]BLUELAMP_CONFIG={config}"
                  "[/bold], e.g. [bold]bluelamp picture --since 2d[/bold].")
    if no_serve:
        return
    from bluelamp.web.server import serve

    settings = result.settings
    host, bind_port = settings.web.host, port or settings.web.port
    console.print(f"Serving on http://{host}:{bind_port}/ (Ctrl-C stops it)")
    serve(settings, host=host, port=bind_port)


def _credentials_table(credentials: dict[str, str]) -> Table:
    table = Table(title="Demo accounts (shown only here)", title_justify="left")
    for col in ("e-mail", "password", "TOTP secret"):
        table.add_column(col, overflow="fold")
    for email, cred in credentials.items():
        password, _, totp = cred.partition(" totp:")
        table.add_row(email, password, totp or "-")
    table.caption = ("Privileged roles sign in with a TOTP code: enrol the secret in an "
                     "authenticator app, or print the current code with python -c \"import "
                     "pyotp; print(pyotp.TOTP('SECRET').now())\".")
    return table


def _print_summary(console: Console, result: Any, out: Path) -> None:
    dns, findings = result.dns, result.findings
    span = dt.timedelta(0)
    if dns.num_rows:
        ts = dns.column("ts")
        span = ts[-1].as_py() - ts[0].as_py()
    by_type = Counter(f.type for f in findings)
    console.print(f"Simulated {dns.num_rows:,} queries over {span}; "
                  f"{len(findings)} finding(s): "
                  + (", ".join(f"{n} {t}" for t, n in by_type.most_common()) or "none"))
    summary = label_summary(result.labels, findings)
    for label, (total, hit) in sorted(summary["by_label"].items()):
        console.print(f"  {label}: {hit} of {total} simulated client(s) flagged")
    console.print(f"  benign clients flagged: {summary['benign_flagged']} of "
                  f"{summary['benign']}")
    console.print(f"Events: {result.events_from_findings} from findings, "
                  f"{result.feed_events} from simulated Shadowserver reports, attributed to "
                  "the demo organisations.")
    console.print(f"Traffic: {out / 'traffic.parquet'}; lake: {result.settings.lake.path} "
                  f"({result.engine.metrics.rows_per_second:,.0f} rows/s)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
