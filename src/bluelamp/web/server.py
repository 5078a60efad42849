"""Run the web app: `serve(settings)` is what `bluelamp serve` and `bluelamp demo` call."""

from __future__ import annotations

import uvicorn

from bluelamp.settings import Settings
from bluelamp.store.db import make_engine, upgrade
from bluelamp.web.app import create_app


def prepare(settings: Settings) -> None:
    """Bring the database schema up to date (idempotent)."""
    engine = make_engine(settings.database.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Migrate, then serve on host:port (127.0.0.1:8000 by default) until interrupted."""
    prepare(settings)
    uvicorn.run(create_app(settings), host=host or settings.web.host,
                port=port or settings.web.port, log_level="info", proxy_headers=False)
