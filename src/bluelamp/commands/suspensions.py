"""`bluelamp suspensions ...`: the suspension desk's scheduled clock, its yearly statistics,
and agencies from the command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import select

from bluelamp.act.cases import stats
from bluelamp.act.cases.desk import CaseError, Desk, build_desk
from bluelamp.settings import load_settings
from bluelamp.store.db import make_engine, session_factory, transaction
from bluelamp.store.models.accounts import User

suspensions_app = typer.Typer(help="The law-enforcement domain suspension desk.",
                              no_args_is_help=True)


@contextmanager
def _desk(now: dt.datetime | None = None) -> Iterator[Desk]:
    settings = load_settings()
    engine = make_engine(settings.database.url)
    try:
        with transaction(session_factory(engine)) as db:
            yield build_desk(db, settings, None, (lambda: now) if now else None)
    finally:
        engine.dispose()


def _utc(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@suspensions_app.command("tick")
def tick(now: str | None = typer.Option(None, "--now", help="Pretend it is this UTC time "
                                         "(ISO 8601); for replays and tests."),
         as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The scheduler's step: execute approved bulk requests too big to run inline, then run
    the complaint clock (lift every suspension whose complaint the requesting agency left
    unanswered for the configured number of working days). Run it from a scheduler (e.g.
    every few minutes); running it again does nothing more.

    Example: bluelamp suspensions tick --json"""
    with _desk(_utc(now)) as desk:
        done = desk.tick()
    if as_json:
        typer.echo(json.dumps([{"domain": d, "outcome": o} for d, o in done]))
    else:
        for domain, outcome in done:
            typer.echo(f"{domain}: {outcome}")
        typer.echo(f"{len(done)} name(s) changed")


@suspensions_app.command("stats")
def stats_command(year: int = typer.Option(..., "--year", help="Calendar year."),
                  as_json: bool = typer.Option(False, "--json", help="Machine-readable.")
                  ) -> None:
    """Yearly statistics: names suspended by agency and category, refused and reversed
    counts, complaints, hours from request to suspension (median, 90th percentile).

    Example: bluelamp suspensions stats --year 2026 --json"""
    settings = load_settings()
    engine = make_engine(settings.database.url)
    try:
        with session_factory(engine)() as db:
            report = stats.yearly(db, year)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report))
        return
    names, hours = report["names"], report["hours_to_suspension"]
    typer.echo(f"{year}: {report['requests']} requests, {names['requested']} names, "
               f"{names['suspended']} suspended, {names['refused']} refused, "
               f"{names['reversed']} reversed, {report['complaints']} complaints")
    typer.echo(f"hours to suspension: median {hours['median']}, p90 {hours['p90']}")
    for key in ("by_agency", "by_category"):
        typer.echo(key.replace("_", " ") + ":")
        for row in report[key]:
            typer.echo(f"  {row['name']}: {row['suspended']} suspended of {row['requested']}"
                       f" ({row['refused']} refused, {row['reversed']} reversed)")


@suspensions_app.command("agency-add")
def agency_add(name: str = typer.Argument(..., help="Agency name."),
               contact: str | None = typer.Option(None, "--contact", help="E-mail where "
                                                  "complaints are routed."),
               officer: list[str] = typer.Option([], "--officer", help="E-mail of an officer "
                                                 "account to attach (repeatable).")) -> None:
    """Create a law-enforcement agency and attach officer accounts to it.

    Example: bluelamp suspensions agency-add "City Police" --contact cyber@police.example
    --officer pc.smith@police.example"""
    with _desk() as desk:
        try:
            agency = desk.create_agency("cli", name, contact)
            for email in officer:
                user = desk.db.scalar(select(User).where(User.email == email.lower()))
                if user is None or user.role != "officer":
                    raise CaseError(f"{email}: no officer account with that e-mail")
                desk.add_officer("cli", agency, user.id, user.email)
        except CaseError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None
    typer.echo(f"created agency {name} with {len(officer)} officer(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(suspensions_app, name="suspensions")


