"""Migrations and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from bluelamp.store import audit
from bluelamp.store.db import (
    current_revision,
    downgrade,
    head_revision,
    session_factory,
    transaction,
    upgrade,
)
from bluelamp.store.models import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert "users" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert {"users", "audit_log", "organisations"} <= set(inspect(engine).get_table_names())


def test_audit_chain_verifies(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as db:
        for i in range(5):
            audit.record(db, "ana@x.example", "login.ok", f"user{i}", {"ip": "192.0.2.1",
                                                                       "n": i, "é": "ü"})
    with factory() as db:
        assert audit.verify(db) == []
        entries = audit.entries(db)
        assert [e.subject for e in entries] == [f"user{i}" for i in range(4, -1, -1)]
        assert entries[-1].prev_hash == audit.GENESIS
        assert entries[0].prev_hash == entries[1].hash


@pytest.mark.parametrize("column, value", [("details", '{"ip":"203.0.113.66"}'),
                                           ("actor", "mallory@x.example"),
                                           ("ts", "2020-01-01 00:00:00+00:00")])
def test_tampering_is_detected_and_named(engine: Engine, column: str, value: str) -> None:
    factory = session_factory(engine)
    with transaction(factory) as db:
        ids = [audit.record(db, "cli", "user.created", f"u{i}@x.example", {"i": i}).id
               for i in range(4)]
    with engine.begin() as conn:  # an attacker with SQL access edits entry 3
        conn.execute(text(f"UPDATE audit_log SET {column} = :v WHERE id = :id"),
                     {"v": value, "id": ids[2]})
    with factory() as db:
        problems = audit.verify(db)
    assert [p.entry_id for p in problems] == [ids[2]]
    assert "modified" in str(problems[0]) and str(ids[2]) in str(problems[0])


def test_deleting_an_entry_breaks_the_next_link(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as db:
        ids = [audit.record(db, "cli", "token.created", "x", {}).id for _ in range(3)]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    with factory() as db:
        problems = audit.verify(db)
    assert [p.entry_id for p in problems] == [ids[2]]
    assert "link" in problems[0].reason


def test_a_rehashed_forgery_still_breaks_the_chain(engine: Engine) -> None:
    """An attacker who rewrites an entry and recomputes its hash breaks the next link."""
    factory = session_factory(engine)
    with transaction(factory) as db:
        ids = [audit.record(db, "cli", "case.approved", f"c{i}", {}).id for i in range(3)]
    with factory() as db:
        row = db.get(audit.AuditEntry, ids[1])
        assert row is not None
        forged = audit.entry_hash(row.prev_hash, row.ts, "mallory", row.action, row.subject,
                                  row.details)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor='mallory', hash=:h WHERE id=:id"),
                     {"h": forged, "id": ids[1]})
    with factory() as db:
        assert [p.entry_id for p in audit.verify(db)] == [ids[2]]
