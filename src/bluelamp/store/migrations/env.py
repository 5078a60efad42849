"""Alembic environment: takes the engine from the config built by `bluelamp.store.db`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from bluelamp.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through bluelamp.store.db.upgrade (no engine given)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
