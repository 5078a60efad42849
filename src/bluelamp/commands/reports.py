"""`bluelamp reports ...`: e-mail intake of reported messages, triage, status and metrics of
public reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from bluelamp.settings import load_settings

reports_app = typer.Typer(help="Public reports of risky sites.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _sessions() -> tuple[Any, Any]:
    from bluelamp.store.db import make_engine, session_factory, upgrade

    settings = load_settings()
    engine = make_engine(settings.database.url)
    upgrade(engine)
    return settings, (engine, session_factory(engine))


@reports_app.command("ingest-eml")
def ingest_eml(files: list[Path] = typer.Argument(..., help=".eml files (forwarded phishing "
                                                   "or ARF reports)."),
               as_json: bool = JSON) -> None:
    """Take reported e-mails in: one public report per URL in each message. A file that
    cannot be read is named and skipped; the others are still taken.

    Example: bluelamp reports ingest-eml ~/Maildir/reports/new/*.eml"""
    from bluelamp.act.reports.intake import ingest_email
    from bluelamp.act.reports.lookalike import LookalikeChecker

    settings, (engine, sessions) = _sessions()
    checker = LookalikeChecker.from_settings(settings)
    results: list[dict[str, Any]] = []
    failed = False
    try:
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                results.append({"file": str(path), "codes": [], "errors": [str(exc)]})
                failed = True
                continue
            with sessions() as db:
                out = ingest_email(db, settings.reports, data, str(path), checker)
                db.commit()
                results.append({"file": str(path), "codes": [r.code for r in out.reports],
                                "urls": [r.url for r in out.reports], "errors": out.errors})
    finally:
        engine.dispose()
    _print_ingest(results, as_json)
    if failed or not any(r["codes"] for r in results):
        raise typer.Exit(1)


def _print_ingest(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(results))
        return
    for r in results:
        for code, url in zip(r["codes"], r.get("urls", []), strict=True):
            typer.echo(f"{r['file']}: {code} {url}")
        for error in r["errors"]:
            typer.secho(error, fg=typer.colors.YELLOW, err=True)


@reports_app.command("triage")
def triage_cmd(route: bool = typer.Option(False, "--route", help="Also route every report "
                                           "the checks verified (referral, X-ARF, proposal)."),
               recheck: bool = typer.Option(False, "--recheck", help="Also look up the hosts "
                                            "of routed reports again; a name gone from the "
                                            "DNS closes its reports as taken down."),
               limit: int = typer.Option(500, "--limit", help="Most reports checked in one run."),
               as_json: bool = JSON) -> None:
    """Run the automatic checks (DNS, lake, lookalike) on new reports, cluster campaigns,
    follow the suspension desk, with --route route what the checks verified, and with
    --recheck close routed reports whose name no longer exists.

    Example: bluelamp reports triage --route --recheck"""
    from sqlalchemy import select

    from bluelamp.act.reports import routing, triage
    from bluelamp.act.reports.lookalike import LookalikeChecker
    from bluelamp.attribute import Attributor
    from bluelamp.store.lake import Lake
    from bluelamp.store.models.reports import PublicReport, ReportStatus

    settings, (engine, sessions) = _sessions()
    routed = gone = 0
    try:
        with sessions() as db:
            checked = triage.run(db, settings.reports, Lake(settings.lake.path), limit,
                                 LookalikeChecker.from_settings(settings))
            url = settings.web.public_url
            closed = routing.sync_suspensions(db, "cli", settings.reports, url)
            if route:
                router = routing.Router(db, settings, Attributor.from_settings(settings), "cli",
                                        routing.load_registrar_contacts(
                                            settings.reports.registrar_contacts))
                for report in db.scalars(select(PublicReport).where(
                        PublicReport.status == ReportStatus.checked.value,
                        PublicReport.verified_at.is_not(None))):
                    router.route(report)
                    routed += 1
            if recheck:
                gone = routing.recheck(db, settings.reports, "cli", limit, url)
            db.commit()
    finally:
        engine.dispose()
    result = {"checked": checked, "routed": routed, "closed_by_suspension": closed,
              "closed_gone": gone}
    typer.echo(json.dumps(result) if as_json else
               f"checked {checked}, routed {routed}, closed by suspension {closed}, "
               f"closed as gone from the DNS {gone}")


@reports_app.command("status")
def status_cmd(code: str = typer.Argument(..., help="Tracking code (BL-XXXX-...)."),
               as_json: bool = JSON) -> None:
    """Show a report as its reporter sees it.

    Example: bluelamp reports status BL-7QX2-9M4K-A0ZT-3VNC"""
    from bluelamp.act.reports.intake import find_report
    from bluelamp.web.routers.reports import public_view

    _, (engine, sessions) = _sessions()
    try:
        with sessions() as db:
            report = find_report(db, code)
            view = public_view(report) if report else None
    finally:
        engine.dispose()
    if view is None:
        typer.secho(f"no report has the tracking code {code!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(view))
        return
    typer.echo(f"{view['code']}  {view['defanged']}\n{view['status_text']}")
    if view["outcome"]:
        typer.echo(f"{view['outcome_text']} {view['outcome_reason'] or ''}".rstrip())


@reports_app.command("metrics")
def metrics_cmd(days: int = typer.Option(30, "--days", help="Window in days."),
                as_json: bool = JSON) -> None:
    """Reports a day, time to verification and takedown, share routed.

    Example: bluelamp reports metrics --days 7 --json"""
    from bluelamp.act.reports import metrics

    _, (engine, sessions) = _sessions()
    try:
        with sessions() as db:
            m = metrics.compute(db, days)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(m))
        return
    share = "n/a" if m["share_routed"] is None else f"{100 * m['share_routed']:.0f}%"
    typer.echo(f"{m['total']} reports in {days} days, {m['routed']} routed ({share}); median "
               f"hours to verification {m['median_hours_to_verification']}, to takedown "
               f"{m['median_hours_to_takedown']}")


def register(app: typer.Typer) -> None:
    app.add_typer(reports_app, name="reports")
