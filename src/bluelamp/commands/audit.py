"""`bluelamp audit verify`: check the audit log's hash chain."""

from __future__ import annotations

import json

import typer

from bluelamp.settings import load_settings
from bluelamp.store import audit as store_audit
from bluelamp.store.db import make_engine, session_factory

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")
           ) -> None:
    """Recompute every entry's hash and link; exit 1 naming each entry that does not match.

    Example: bluelamp audit verify"""
    engine = make_engine(load_settings().database.url)
    try:
        with session_factory(engine)() as db:
            problems = store_audit.verify(db)
            count = len(store_audit.entries(db, limit=1))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"ok": not problems, "problems": [
            {"entry": p.entry_id, "reason": p.reason} for p in problems]}))
    elif problems:
        for p in problems:
            typer.secho(str(p), fg=typer.colors.RED, err=True)
    else:
        typer.echo("audit log verified" + ("" if count else " (empty)"))
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
