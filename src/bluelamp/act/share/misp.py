"""A MISP feed from events: `manifest.json`, one `<uuid>.json` per event and `hashes.csv`,
the layout MISP's "feeds" import reads (and `bluelamp.sources.feeds.misp` parses back).

Each Bluelamp event becomes one MISP event whose network attributes (ip-src, domain, url)
carry `to_ids`, an `rsit:` machine tag for the ENISA classification and a `tlp:` tag. The
MISP event uuid is derived from the Bluelamp event id, so re-exporting updates, not
duplicates."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluelamp.act.feeds import tlp

_NS = uuid.UUID("3f6c1d2e-8a4b-4c5d-9e7f-1a2b3c4d5e6f")
ORG = {"name": "Bluelamp", "uuid": str(uuid.uuid5(_NS, "org:bluelamp"))}
THREAT_LEVEL = {"clear": "4", "green": "3", "amber": "2"}  # 1 high … 4 undefined


def _epoch(value: dt.datetime | None) -> str:
    value = value or dt.datetime.now(dt.UTC)
    return str(int(value.timestamp()))


def _attributes(event: dict[str, Any], tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for misp_type, field in (("ip-src", "source_ip"), ("domain", "source_fqdn"),
                             ("url", "source_url")):
        value = event.get(field)
        if not value:
            continue
        out.append({"uuid": str(uuid.uuid5(_NS, f"{event['id']}|{misp_type}|{value}")),
                    "type": misp_type, "category": "Network activity", "to_ids": True,
                    "value": str(value), "timestamp": _epoch(event.get("time_observed")),
                    "comment": event.get("classification_identifier") or "", "Tag": tags})
    return out


def misp_event(event: dict[str, Any]) -> dict[str, Any]:
    level = str(event.get("tlp") or tlp.UNLABELLED).lower()
    tags = [{"name": f"tlp:{level}"}]
    if event.get("classification_taxonomy") and event.get("classification_type"):
        tags.append({"name": f'rsit:{event["classification_taxonomy"]}='
                             f'"{event["classification_type"]}"'})
    when = event.get("time_source") or event.get("time_observed")
    return {"Event": {
        "uuid": str(uuid.uuid5(_NS, f"event:{event['id']}")),
        "info": f"{event.get('classification_type') or 'threat'} seen by "
                f"{event.get('feed_name')} (Bluelamp {event['id']})",
        "date": (when or dt.datetime.now(dt.UTC)).date().isoformat(),
        "timestamp": _epoch(event.get("time_observed")), "published": True,
        "analysis": "2", "threat_level_id": THREAT_LEVEL.get(level, "4"),
        "Orgc": ORG, "Tag": tags, "Attribute": _attributes(event, tags)}}


def write_feed(events: pa.Table, out: Path, clearance: str = "amber") -> int:
    """Write the feed into folder `out`; returns the number of MISP events written."""
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    hashes: list[tuple[str, str]] = []
    for event in tlp.shareable(events, clearance).to_pylist():
        doc = misp_event(event)
        body = doc["Event"]
        if not body["Attribute"]:
            continue
        (out / f"{body['uuid']}.json").write_text(json.dumps(doc, indent=1, sort_keys=True))
        manifest[body["uuid"]] = {k: body[k] for k in ("info", "date", "analysis",
                                                       "threat_level_id", "timestamp",
                                                       "Orgc", "Tag")}
        hashes += [(hashlib.md5(a["value"].encode(), usedforsecurity=False).hexdigest(),
                    body["uuid"]) for a in body["Attribute"]]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    with (out / "hashes.csv").open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(hashes)
    return len(manifest)
