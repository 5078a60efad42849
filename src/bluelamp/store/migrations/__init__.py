"""Alembic migrations, run in code by `bluelamp.store.db.upgrade` (`bluelamp db upgrade`)."""
