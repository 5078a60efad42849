"""Warning indicators for law enforcement: an analyst marks a finding or an event, with a
note; the law-enforcement TAXII collection serves them as STIX with the note and the
detector's evidence attached (a STIX `note` object).

Marking is refused above TLP:AMBER: what is marked leaves the organisation."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.feeds import tlp
from bluelamp.errors import BluelampError
from bluelamp.events import findings_to_events
from bluelamp.schema import EVENT, FINDING
from bluelamp.store import audit
from bluelamp.store.lake import Lake
from bluelamp.store.models.subscriptions import LawEnforcementShare

KINDS = ("finding", "event")
MAX_NOTE = 5000


class ShareError(BluelampError):
    """The record cannot be shared (absent, TLP too high, bad note)."""


@dataclass(frozen=True)
class Shared:
    events: pa.Table  # EVENT rows, one per shared record
    notes: dict[str, str]  # event id → note with evidence


def _record(lake: Lake, kind: str, record_id: str) -> pa.Table:
    schema = FINDING if kind == "finding" else EVENT
    return schema.conform(lake.query(f"SELECT * EXCLUDE (day) FROM {kind} WHERE id = ? "
                                     "LIMIT 1", [record_id]))


def mark(db: Session, lake: Lake, actor: str, kind: str, record_id: str,
         note: str) -> LawEnforcementShare:
    if kind not in KINDS:
        raise ShareError(f"kind: one of {', '.join(KINDS)}")
    if not note.strip() or len(note) > MAX_NOTE:
        raise ShareError(f"note: 1 to {MAX_NOTE} characters")
    table = _record(lake, kind, record_id)
    if table.num_rows == 0:
        raise ShareError(f"no {kind} {record_id!r}")
    if tlp.shareable(table, tlp.MAX_SHARED).num_rows == 0:
        raise ShareError(f"{kind} {record_id} is TLP:{table.column('tlp')[0].as_py()}; only up "
                         f"to TLP:{tlp.MAX_SHARED.upper()} can be shared with law enforcement")
    existing = db.scalars(select(LawEnforcementShare).where(
        LawEnforcementShare.kind == kind, LawEnforcementShare.record_id == record_id)).first()
    if existing is not None:
        existing.note = note.strip()
        row = existing
    else:
        row = LawEnforcementShare(kind=kind, record_id=record_id, note=note.strip(),
                                  created_by=actor)
        db.add(row)
    db.flush()
    audit.record(db, actor, "share.law_enforcement", f"{kind}:{record_id}",
                 {"note_chars": len(note)})
    return row


def shares(db: Session) -> list[LawEnforcementShare]:
    return list(db.scalars(select(LawEnforcementShare).order_by(LawEnforcementShare.id)))


def shared(db: Session, lake: Lake) -> Shared:
    """The marked records as events (findings converted), gated at TLP:AMBER, with notes."""
    tables: list[pa.Table] = []
    notes: dict[str, str] = {}
    for row in shares(db):
        record = _record(lake, row.kind, row.record_id)
        if record.num_rows == 0:
            continue
        if row.kind == "finding":
            record = findings_to_events(record)
        event = record.to_pylist()[0]
        evidence = event.get("extra") or "{}"
        notes[str(event["id"])] = (f"{row.note}\n\nShared by {row.created_by} on "
                                   f"{row.created_at.date().isoformat()}.\nEvidence: "
                                   f"{json.dumps(json.loads(evidence), sort_keys=True)}")
        tables.append(EVENT.conform(record))
    events = pa.concat_tables(tables) if tables else EVENT.empty_table()
    return Shared(tlp.shareable(events, tlp.MAX_SHARED), notes)
