"""`bluelamp serve`: the web UI and HTTP API."""

from __future__ import annotations

import typer

from bluelamp.settings import load_settings


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default "
                                    "web.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default web.port, 8000)."),
) -> None:
    """Migrate the database and serve the web UI and API.

    Example: bluelamp serve --port 8080"""
    from bluelamp.web.server import serve as run

    run(load_settings(), host, port)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
