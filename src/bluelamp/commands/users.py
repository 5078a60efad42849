"""`bluelamp users add` and `bluelamp tokens create`: accounts from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from bluelamp.settings import load_settings
from bluelamp.store.db import make_engine, session_factory, transaction
from bluelamp.web import accounts, security

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (Authorization: Bearer).", no_args_is_help=True)


@contextmanager
def _db() -> Iterator[Session]:
    engine = make_engine(load_settings().database.url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@users_app.command("add")
def add(
    email: str = typer.Argument(..., help="E-mail address (the login name)."),
    role: str = typer.Option(..., "--role", help="admin, reviewer, officer, notifier, analyst "
                             "or subscriber."),
    org: str | None = typer.Option(None, "--org", help="Organisation (required for "
                                   "subscribers)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password "
                                        "from standard input instead of generating one."),
) -> None:
    """Create a user. Privileged roles get a TOTP secret to enrol in an authenticator app.

    Example: echo 'a long passphrase' | bluelamp users add ana@cert.example --role analyst
    --password-stdin"""
    generated = not password_stdin
    password = security.new_token()[:24] if generated else sys.stdin.readline().rstrip("\n")
    with _db() as db:
        user = accounts.create_user(db, "cli", email, role, password, org)
    typer.echo(f"created {user.email} ({user.role})")
    if generated:
        typer.echo(f"password: {password}")
    if user.totp_secret:
        typer.echo(f"TOTP secret: {user.totp_secret}")
        typer.echo(f"TOTP URI: {security.totp_uri(user.totp_secret, user.email)}")


@tokens_app.command("create")
def create(
    email: str = typer.Argument(..., help="User the token acts as."),
    name: str = typer.Option("api", "--name", help="A label for the token."),
) -> None:
    """Create an API token; it is printed once and stored only as a hash.

    Example: bluelamp tokens create ana@cert.example --name misp-sync"""
    with _db() as db:
        token = accounts.create_token(db, "cli", email, name)
    typer.echo(token)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
