"""Small builders shared by the notification tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from bluelamp.schema import EVENT
from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import NotifyContact
from bluelamp.store.models.orgs import Organisation


def event(event_id: str, when: dt.datetime, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": event_id, "time_observed": when, "time_source": when, "time_last_seen": when,
        "feed_name": "shadowserver", "classification_taxonomy": "malicious-code",
        "classification_type": "infected-system", "classification_identifier": "andromeda",
        "source_ip": "198.51.100.7", "source_org": "Hosting Co", "source_region": "London",
        "confidence": 0.9, "tlp": "amber", "count": 1}
    row.update(fields)
    return row


def write_events(lake: Lake, *rows: dict[str, Any]) -> None:
    lake.write("event", EVENT.from_rows(list(rows)))


def add_org(db: Session, name: str = "Hosting Co", region: str | None = "London",
            contacts: tuple[str, ...] = ("it@hosting.example",)) -> Organisation:
    org = Organisation(name=name, region=region)
    db.add(org)
    db.flush()
    for i, address in enumerate(contacts):
        db.add(NotifyContact(org_id=org.id, email=address, priority=i))
    db.commit()
    return org


def parts(message: EmailMessage) -> dict[str, Any]:
    """text, html and the CSV attachment of a received notice."""
    body = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = list(message.iter_attachments())
    assert body is not None and html is not None and len(attachments) == 1
    csv_part = attachments[0]
    assert isinstance(body, EmailMessage) and isinstance(html, EmailMessage)
    assert isinstance(csv_part, EmailMessage)
    return {"text": body.get_content(), "html": html.get_content(),
            "csv": csv_part.get_content(), "csv_name": csv_part.get_filename(),
            "csv_type": csv_part.get_content_type()}
