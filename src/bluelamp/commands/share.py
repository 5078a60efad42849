"""`bluelamp share`: write STIX 2.1 bundles, MISP feeds, RPZ zones and the daily subscriber
reports from the lake. Every output is TLP-gated (nothing above --tlp, never above amber)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from bluelamp.commands.analyze import parse_duration
from bluelamp.commands.query import LakeOption, open_lake

share_app = typer.Typer(help="Share indicators: STIX 2.1, MISP feed, RPZ zone, daily reports.",
                        no_args_is_help=True)

SinceOption = Annotated[str, typer.Option(help="Events observed in this last period, e.g. 7d.")]
TlpOption = Annotated[str, typer.Option(
    "--tlp", help="Highest TLP level written: clear, green or amber (amber+strict and red "
    "never leave).")]


def _events(lake: Path | None, since: str) -> pa.Table:
    start = dt.datetime.now(dt.UTC) - parse_duration(since)
    return open_lake(lake).read("event", since=start)


def _level(level: str) -> str:
    from bluelamp.act.feeds import tlp

    try:
        return tlp.clearance(level)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@share_app.command("stix")
def stix_cmd(
    out: Annotated[Path, typer.Option(help="Bundle file to write (JSON).")],
    since: SinceOption = "7d", level: TlpOption = "amber", lake: LakeOption = None,
) -> None:
    """Write a STIX 2.1 bundle of current indicators (indicators, observables, malware,
    infrastructure, sightings, relationships, TLP 2.0 markings).

    Example: [bold]bluelamp share stix --out indicators.json --since 7d --tlp amber[/bold]
    """
    from bluelamp.act.share import stix

    bundle = stix.bundle(_events(lake, since), _level(level))
    out.write_text(json.dumps(bundle, indent=1))
    indicators = sum(1 for o in bundle["objects"] if o["type"] == "indicator")
    typer.echo(json.dumps({"out": str(out), "objects": len(bundle["objects"]),
                           "indicators": indicators}))


@share_app.command("misp")
def misp_cmd(
    out: Annotated[Path, typer.Option(help="Folder of the MISP feed (created).")],
    since: SinceOption = "7d", level: TlpOption = "amber", lake: LakeOption = None,
) -> None:
    """Write a MISP feed: manifest.json, one event file per event, hashes.csv.

    Example: [bold]bluelamp share misp --out misp-feed --since 30d[/bold]
    """
    from bluelamp.act.share import misp

    count = misp.write_feed(_events(lake, since), out, _level(level))
    typer.echo(json.dumps({"out": str(out), "events": count}))


@share_app.command("rpz")
def rpz_cmd(
    out: Annotated[Path, typer.Option(help="Zone file to write.")],
    zone: Annotated[str, typer.Option(help="Origin of the RPZ zone.")] = "rpz.bluelamp.",
    since: SinceOption = "30d", level: TlpOption = "amber", lake: LakeOption = None,
) -> None:
    """Write an RPZ zone that makes protective resolvers answer NXDOMAIN for listed domains
    (phishing, C2, malware distribution, DGA) and every name under them.

    Example: [bold]bluelamp share rpz --out bluelamp.rpz --zone rpz.bluelamp.[/bold]
    """
    from bluelamp.act.share import rpz

    count = rpz.write_zone(_events(lake, since), out, zone, _level(level))
    typer.echo(json.dumps({"out": str(out), "domains": count, "zone": zone}))


@share_app.command("reports")
def reports_cmd(
    out: Annotated[Path, typer.Option(help="Folder for one CSV per subscription.")],
    day: Annotated[str | None, typer.Option(help="UTC day YYYY-MM-DD; default yesterday.")]
    = None,
    lake: LakeOption = None,
) -> None:
    """Write the daily CSV report of every active subscription (run it from cron).

    Example: [bold]bluelamp share reports --out reports/ --day 2026-11-20[/bold]
    """
    from bluelamp.act.feeds import reports, subscriptions
    from bluelamp.settings import load_settings
    from bluelamp.store.db import make_engine, session_factory

    when = (dt.date.fromisoformat(day) if day else
            (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date())
    settings = load_settings()
    engine = make_engine(settings.database.url)
    with session_factory(engine)() as db:
        rows = subscriptions.active(db)
        named = [(f"subscription-{row.id}", subscriptions.to_filter(db, row)) for row in rows]
    written = reports.write_reports(open_lake(lake), named, when, out)
    engine.dispose()
    typer.echo(json.dumps({"day": when.isoformat(), "files": [str(p) for p in written]}))


def register(app: typer.Typer) -> None:
    app.add_typer(share_app, name="share")
