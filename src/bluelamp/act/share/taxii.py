"""TAXII 2.1 collections as data: which collections a principal may see, and their objects
with `date_added`, paged by (date_added, id).

Collections: one per active subscription of the principal's organisation (events matched by
that subscription), `indicators` (every event, for analysts, notifiers and admins) and
`law-enforcement` (warning indicators analysts marked, for officers and admins). Every
collection is read-only and capped at TLP:AMBER by `tlp.shareable`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from bluelamp.act.feeds import tlp
from bluelamp.act.share import stix

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
INDICATORS_ID = "5f0f3c55-3d4b-4b0e-9a53-9b0d2b6c1a01"
LAW_ENFORCEMENT_ID = "7c2a4e8d-1b6f-4d3a-8e2c-6a9f0b3d5e02"
_NS = uuid.UUID("0b9e7f2a-5c1d-4e8b-9f3a-2d6c8e1b4a70")


def subscription_collection_id(subscription_id: int) -> str:
    return str(uuid.uuid5(_NS, f"subscription:{subscription_id}"))


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str

    def resource(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "description": self.description,
                "can_read": True, "can_write": False, "media_types": [stix.STIX_MEDIA_TYPE]}


@dataclass(frozen=True)
class Entry:
    """One object of a collection and when it was added."""

    added: str  # STIX timestamp
    obj: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.obj.get("modified") or self.obj.get("created") or self.added)


def entries(events: pa.Table, notes: dict[str, str] | None = None) -> list[Entry]:
    """Objects of a collection's events in (date_added, id) order. Shared objects (identity,
    markings, malware) carry the date of the first event that brought them."""
    gated = tlp.shareable(events, tlp.MAX_SHARED)
    gated = gated.sort_by([("time_observed", "ascending"), ("id", "ascending")])
    added: dict[str, str] = {}
    builder = stix.BundleBuilder()
    for event in gated.to_pylist():
        before = set(builder.objects)
        builder.event(event, (notes or {}).get(str(event["id"])))
        when = stix.timestamp(event["time_observed"])
        for object_id in set(builder.objects) - before:
            added.setdefault(object_id, when)
        for level in builder.levels:
            added.setdefault(stix.TLP_IDS[level], when)
    objects = builder.bundle()["objects"]
    first = min(added.values(), default=stix.timestamp(None))
    out = [Entry(added.get(o["id"], first), o) for o in objects]
    return sorted(out, key=lambda e: (e.added, e.obj["id"]))


def encode_next(entry: Entry) -> str:
    return base64.urlsafe_b64encode(json.dumps([entry.added, entry.obj["id"]]).encode()
                                    ).decode().rstrip("=")


def decode_next(token: str) -> tuple[str, str]:
    try:
        added, object_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(added), str(object_id)
    except (ValueError, TypeError):
        raise ValueError("next: not a token from this server") from None


def select(all_entries: list[Entry], added_after: dt.datetime | None, next_token: str | None,
           limit: int, types: set[str] | None = None,
           ids: set[str] | None = None) -> tuple[list[Entry], bool]:
    """A page of entries: after `added_after` (exclusive), after the `next` position, of the
    requested types/ids; returns the page and whether there is more."""
    chosen = all_entries
    if added_after is not None:
        after = stix.timestamp(added_after)
        chosen = [e for e in chosen if e.added > after]
    if next_token:
        position = decode_next(next_token)
        chosen = [e for e in chosen if (e.added, e.obj["id"]) > position]
    if types:
        chosen = [e for e in chosen if e.obj["type"] in types]
    if ids:
        chosen = [e for e in chosen if e.obj["id"] in ids]
    return chosen[:limit], len(chosen) > limit
