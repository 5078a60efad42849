"""`bluelamp picture`: every compromised host in national address space, by region, sector,
event type and network."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bluelamp.attribute.attributor import Attributor
from bluelamp.attribute.picture import DIMENSIONS, Picture, national_picture
from bluelamp.commands.query import since_time
from bluelamp.errors import BluelampError
from bluelamp.settings import load_settings
from bluelamp.store.lake import Lake


def picture(
    country: Annotated[str | None, typer.Option(
        help="ISO 3166-1 alpha-2 code of the national address space (default: the "
        "attribution.country setting).")] = None,
    since: Annotated[str, typer.Option(
        help="How far back (24h, 7d) or from when (2025-03-01, ISO 8601, UTC).")] = "7d",
    lake: Annotated[Path | None, typer.Option(
        help="Lake folder (default: the lake.path setting).")] = None,
    routing: Annotated[list[Path] | None, typer.Option(
        "--routing", exists=True, dir_okay=False,
        help="Routing file: CAIDA pfx2as, iptoasn ip2asn, CAIDA as-org2info or ASN→abuse "
        "(repeatable; recognised by content).")] = None,
    delegated: Annotated[list[Path] | None, typer.Option(
        "--delegated", exists=True, dir_okay=False,
        help="RIR delegated(-extended) statistics file (repeatable).")] = None,
    orgs: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Organisations file (TOML or CSV).")] = None,
    geo: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="MaxMind-format City database (.mmdb).")] = None,
    event_type: Annotated[list[str] | None, typer.Option(
        "--type", help="Only these classification types (repeatable), e.g. infected-system.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows per table in the text output.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="The picture as one JSON object.")]
    = False,
    as_csv: Annotated[bool, typer.Option(
        "--csv", help="One CSV row per (dimension, key): hosts and events.")] = False,
) -> None:
    """The national picture: every compromised host in the country's address space, counted
    by region, sector, event type, network and organisation, with a one-line headline.

    Events come from the lake (attributed here where a feed did not); national address space
    is what the RIR delegation files (else ip2asn, else geolocation) give the country, plus
    networks registered organisations declared.

    Example: [bold]bluelamp picture --country GB --since 7d --delegated
    delegated-ripencc-extended-latest --routing routeviews-rv2.pfx2as --orgs orgs.toml[/bold]
    """
    try:
        settings = load_settings()
        attributor = Attributor.from_settings(
            settings, country=country, routing=routing or (), delegated=delegated or (),
            orgs=orgs, geo=geo)
        start = since_time(since)
        events = Lake(lake or settings.lake.path).read("event", since=start)
        result = national_picture(events, attributor, since=start, types=event_type)
    except BluelampError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    errors = attributor.load_errors
    if errors:
        err = Console(stderr=True)
        err.print(f"{len(errors):,} bad lines in attribution files were skipped; first: "
                  f"{errors[0]}", style="yellow", markup=False, highlight=False)
    if as_json:
        payload = result.to_json()
        payload["attribution_file_errors"] = [e.to_json() for e in errors[:20]]
        sys.stdout.write(json.dumps(payload) + "\n")
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, ["dimension", "key", "name", "hosts", "events"])
        writer.writeheader()
        writer.writerows(result.csv_rows())
    else:
        _print(result, top)


def _print(result: Picture, top: int) -> None:
    console = Console()
    console.print(f"[bold]{result.headline()}[/bold]", highlight=False)
    console.print(
        f"{result.events_read:,} events read since {result.since:%Y-%m-%d %H:%M} UTC; "
        f"{result.events:,} in {result.country} address space, {result.out_of_scope:,} "
        f"outside it, {result.without_address:,} without an address, "
        f"{result.invalid_addresses:,} with an invalid one.", highlight=False)
    for dim in DIMENSIONS:
        rows = result.breakdowns.get(dim, [])
        if not rows:
            continue
        table = Table(title=f"by {dim}", title_justify="left")
        table.add_column(dim)
        if dim == "network":
            table.add_column("name", overflow="fold")
        table.add_column("hosts", justify="right")
        table.add_column("events", justify="right")
        table.add_column("share", justify="right")
        for row in rows[:top] if top > 0 else rows:
            share = f"{row['hosts'] / result.hosts:.0%}" if result.hosts else ""
            cells = [str(row["key"])]
            if dim == "network":
                cells.append(row.get("name") or "")
            cells += [f"{row['hosts']:,}", f"{row['events']:,}", share]
            table.add_row(*cells)
        if top > 0 and len(rows) > top:
            table.caption = f"{len(rows) - top:,} more"
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("picture")(picture)
