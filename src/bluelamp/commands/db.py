"""`bluelamp db upgrade` and `bluelamp db current`: control-plane database migrations."""

from __future__ import annotations

import typer

from bluelamp.settings import load_settings
from bluelamp.store import db as store_db

db_app = typer.Typer(help="Control-plane database (SQLite by default, PostgreSQL in "
                     "production).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Create or migrate the database named by `database.url`.

    Example: BLUELAMP_DATABASE__URL=postgresql://bl@127.0.0.1/bl bluelamp db upgrade"""
    settings = load_settings()
    engine = store_db.make_engine(settings.database.url)
    try:
        store_db.upgrade(engine, revision)
        typer.echo(f"database at revision {store_db.current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("current")
def current() -> None:
    """Print the database's revision and the newest one this version ships.

    Example: bluelamp db current"""
    engine = store_db.make_engine(load_settings().database.url)
    try:
        typer.echo(f"current {store_db.current_revision(engine)} head "
                   f"{store_db.head_revision()}")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
