"""`bluelamp lake`: keep the Parquet lake tidy (compaction, retention)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from bluelamp.commands.analyze import parse_duration
from bluelamp.commands.query import LakeOption, open_lake
from bluelamp.store.lake import KINDS

lake_app = typer.Typer(help="Maintain the Parquet lake: compact small files, apply retention.",
                       no_args_is_help=True)

KindOption = Annotated[list[str] | None, typer.Option(
    "--kind", help=f"Kind to work on ({', '.join(KINDS)}); repeatable; default all.")]


def _kinds(kinds: list[str] | None) -> list[str]:
    chosen = kinds or list(KINDS)
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown:
        raise typer.BadParameter(f"unknown kind(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(KINDS)}")
    return chosen


@lake_app.command("compact")
def compact(kind: KindOption = None, lake: LakeOption = None) -> None:
    """Merge the files of each day into one (live input writes many small ones).

    Example: [bold]bluelamp lake compact --lake lake --kind finding[/bold]
    """
    store = open_lake(lake)
    result = {k: store.compact(k) for k in _kinds(kind)}
    typer.echo(json.dumps({"files_merged": result}))


@lake_app.command("prune")
def prune(
    keep: Annotated[str, typer.Option(help="Keep this much history, e.g. 90d; older days "
                                      "are deleted.")],
    kind: KindOption = None,
    lake: LakeOption = None,
) -> None:
    """Delete whole days older than --keep (retention of personal data such as DNS logs).

    Example: [bold]bluelamp lake prune --keep 90d --kind dns --lake lake[/bold]
    """
    before = (dt.datetime.now(dt.UTC) - parse_duration(keep)).date()
    store = open_lake(lake)
    result = {k: store.prune(k, before) for k in _kinds(kind)}
    typer.echo(json.dumps({"before": before.isoformat(), "days_removed": result}))


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
