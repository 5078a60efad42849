"""`bluelamp notify`: owner notices through regional units — run a round, take in bounce
messages, set an organisation's contacts, and report the clean-up."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.errors import InputError
from bluelamp.settings import Settings, load_settings
from bluelamp.store.db import make_engine, session_factory, transaction
from bluelamp.store.lake import Lake

app = typer.Typer(help="Owner notices through regional units, with clean-up tracking.",
                  no_args_is_help=True)
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Settings file (default: $BLUELAMP_CONFIG or ./bluelamp.toml).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@contextmanager
def _db(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database.url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _dump(obj: Any) -> str:
    return json.dumps(obj, default=str, indent=2)


@app.command("run")
def run_command(
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Only show which notices would be built; store and send nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """One round: build notices from events not yet notified (one per organisation or abuse
    contact), send those the sending rules or a notifier approved (throttled per recipient,
    falling back to the next contact on a bounce), mark silent ones delivered and re-check
    the hosts of notices sent `notify.recheck_days` ago. Run it from cron.

    Example: bluelamp notify run --dry-run
    """
    from bluelamp.act.notify import run

    settings = load_settings(config)
    with _db(settings) as db:
        report = run(db, Lake(settings.lake.path), settings, _now(), dry_run=dry_run)
    if as_json:
        typer.echo(_dump(report.to_json()))
        return
    if dry_run:
        for d in report.would_notify:
            typer.echo(f"would notify {d['organisation'] or d['owner']} ({d['region'] or '-'}): "
                       f"{d['events']} events on {len(d['hosts'])} hosts")
    else:
        typer.echo(f"{len(report.created)} notices built, {report.duplicates} duplicates")
        for o in report.outcomes:
            typer.echo(f"notice {o.notice_id}: {o.status} {o.recipient or ''} {o.detail}")
        typer.echo(f"{report.delivered} marked delivered; re-checked {report.recheck.checked} "
                   f"hosts: {report.recheck.remediated} remediated, "
                   f"{report.recheck.affected} still affected")
    typer.echo(f"{report.unroutable} events without owner or abuse contact, "
               f"{report.skipped_tlp} TLP:RED events left out")


@app.command("bounce")
def bounce_command(
    files: Annotated[list[Path], typer.Argument(help="Bounce messages (.eml, RFC 3464 DSN).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take in bounce messages that came back after sending: record the failed address and
    send the notice to the organisation's next contact.

    Example: bluelamp notify bounce returned/*.eml
    """
    from bluelamp.act.notify.bounces import BounceError, apply_bounce, parse_dsn

    settings = load_settings(config)
    results: list[dict[str, Any]] = []
    with _db(settings) as db:
        for path in files:
            try:
                bounce = parse_dsn(path.read_bytes(), str(path))
                outcomes = apply_bounce(db, settings, bounce, _now())
            except (BounceError, OSError) as exc:
                results.append({"file": str(path), "error": str(exc)})
                continue
            results.append({"file": str(path), "notice": bounce.notice_id,
                            "failed": [r.recipient for r in bounce.failed],
                            "fallback": [vars(o) for o in outcomes]})
    if as_json:
        typer.echo(_dump(results))
    else:
        for r in results:
            typer.echo(f"{r['file']}: " + (r["error"] if "error" in r else
                       f"notice {r['notice']}, failed {', '.join(r['failed']) or 'none'}; "
                       + "; ".join(f"{o['status']} {o['recipient'] or ''}"
                                   for o in r["fallback"])))
    if any("error" in r for r in results):
        raise typer.Exit(1)


@app.command("contacts")
def contacts_command(
    org: Annotated[str, typer.Argument(help="Organisation name.")],
    emails: Annotated[list[str] | None, typer.Argument(
        help="Addresses in the order to try them; replaces the list. None: show it.")] = None,
    config: ConfigOption = None,
) -> None:
    """Show or set where an organisation's notices go, best first (its subscriber accounts
    are tried after these).

    Example: bluelamp notify contacts "Hosting Co" security@hosting.example it@hosting.example
    """
    from bluelamp.store.models.notifications import NotifyContact
    from bluelamp.store.models.orgs import Organisation

    settings = load_settings(config)
    with _db(settings) as db:
        row = db.scalar(select(Organisation).where(Organisation.name == org))
        if row is None:
            raise InputError(f"no organisation named {org!r}")
        current = list(db.scalars(select(NotifyContact).where(NotifyContact.org_id == row.id)
                                  .order_by(NotifyContact.priority)))
        if emails:
            for address in emails:
                if "@" not in address or len(address) > 254:
                    raise InputError(f"{address!r} is not an e-mail address")
            for contact in current:
                db.delete(contact)
            db.flush()
            current = [NotifyContact(org_id=row.id, email=e.strip().lower(), priority=i)
                       for i, e in enumerate(emails)]
            db.add_all(current)
        for c in current:
            note = f" (bounced: {c.bounce_reason})" if c.bounced_at else ""
            typer.echo(f"{c.priority}: {c.email}{note}")


@app.command("stats")
def stats_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Clean-up of notified hosts: re-checked, remediated, still affected, clean-up rate and
    median days to clean-up, per region and per event type; and the notices by status.

    Example: bluelamp notify stats --json
    """
    from bluelamp.act.notify.stats import compute

    settings = load_settings(config)
    with _db(settings) as db:
        stats = compute(db).to_json()
    if as_json:
        typer.echo(_dump(stats))
        return
    typer.echo("notices: " + ", ".join(f"{k} {v}" for k, v in stats["funnel"].items()))
    for title, groups in (("region", stats["by_region"]), ("event type", stats["by_type"])):
        typer.echo(f"\n{title:24} notified checked remediated rate  median-days")
        for name, g in groups.items():
            rate = "" if g["cleanup_rate"] is None else f"{100 * g['cleanup_rate']:.0f}%"
            days = "" if g["median_days_to_cleanup"] is None else g["median_days_to_cleanup"]
            typer.echo(f"{name[:24]:24} {g['notified']:8} {g['checked']:7} "
                       f"{g['remediated']:10} {rate:5} {days}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notify")
