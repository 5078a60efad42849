"""MISP feeds: a `manifest.json` (event uuid -> summary) next to one `<uuid>.json` per event
(`{"Event": {..., "Attribute": [...], "Object": [{"Attribute": [...]}], "Tag": [...]}}`).

Network attributes (ip-src, ip-dst, domain, hostname, url and their `|port` / `domain|ip`
composites) marked `to_ids` become events. Classification comes from an `rsit:` machine tag
(`rsit:malicious-code="c2-server"`) on the attribute or the event, TLP from a `tlp:` tag;
without them the event is other/undetermined at TLP AMBER.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from bluelamp import taxonomy
from bluelamp.errors import Location, RecordError
from bluelamp.sources.feeds.base import FeedParser, Loose, batched, fixed, records_table

#: MISP attribute type -> the EVENT fields its value parts go to ('|' splits composites)
ATTRIBUTE_FIELDS: dict[str, tuple[str, ...]] = {
    "ip-src": ("source_ip",), "ip-dst": ("source_ip",),
    "ip-src|port": ("source_ip", "source_port"), "ip-dst|port": ("source_ip", "source_port"),
    "domain": ("source_fqdn",), "hostname": ("source_fqdn",),
    "domain|ip": ("source_fqdn", "source_ip"), "hostname|port": ("source_fqdn", "source_port"),
    "url": ("source_url",), "link": ("source_url",),
}
_RSIT = re.compile(r'^rsit:(?P<cls>[a-z0-9-]+)="?(?P<type>[a-z0-9-]+)"?$')


def tags_of(obj: dict[str, Any]) -> list[str]:
    return [t.get("name", "") for t in obj.get("Tag") or [] if isinstance(t, dict)]


def classification(tags: list[str]) -> tuple[str, str] | None:
    for tag in tags:
        m = _RSIT.match(tag.strip().lower())
        if m and taxonomy.is_valid(m["cls"], m["type"]):
            return m["cls"], m["type"]
    return None


def tlp_of(tags: list[str]) -> str | None:
    for tag in tags:
        if tag.lower().startswith("tlp:"):
            return tag
    return None


def attribute_row(attr: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
    """One event row for a network attribute marked for detection, else None."""
    fields = ATTRIBUTE_FIELDS.get(str(attr.get("type")))
    if fields is None or not _truthy(attr.get("to_ids")):
        return None
    row: dict[str, Any] = dict(zip(fields, str(attr.get("value", "")).split("|"), strict=False))
    tags = tags_of(attr) + tags_of(event)
    cls = classification(tags)
    if cls:
        row["classification_taxonomy"], row["classification_type"] = cls
    row["tlp"] = tlp_of(tags)
    row["time_source"] = attr.get("timestamp") or event.get("timestamp")
    row["classification_identifier"] = attr.get("category")
    row["misp"] = ({"misp_event": event.get("uuid"), "misp_attribute": attr.get("uuid"),
                          "info": event.get("info"), "type": attr.get("type"),
                          "comment": attr.get("comment") or None,
                          "tags": [t for t in tags if not t.lower().startswith(("tlp:", "rsit:"))]})
    row["misp"] = {k: v for k, v in row["misp"].items() if v}
    return row


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def event_rows(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    event = doc.get("Event", doc)
    attrs = list(event.get("Attribute") or [])
    for obj in event.get("Object") or []:
        attrs += obj.get("Attribute") or []
    for attr in attrs:
        row = attribute_row(attr, event) if isinstance(attr, dict) else None
        if row is not None:
            yield row


class Misp(FeedParser):
    name = "misp"
    provider = "MISP feed"
    description = "MISP feed: manifest.json (+ the event files beside it) or one event JSON"
    constants = fixed(classification_taxonomy="other", classification_type="undetermined",
                      tlp="amber")

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096]
        if b'"Event"' in text and (b'"Attribute"' in text or b'"uuid"' in text):
            return 85
        if filename == "manifest.json" and b'"Orgc"' in text:
            return 85
        return 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        doc = json.loads(stream.read().decode("utf-8-sig"))
        # the event files lie beside the manifest on disk (`source` may be a URL label)
        folder = Path(getattr(stream, "name", source)).parent
        if "Event" in doc or "Attribute" in doc:
            docs: list[tuple[str, dict[str, Any] | RecordError]] = [(source, doc)]
        else:  # a manifest: read the event files it lists
            base = source.rsplit("/", 1)[0]
            docs = [(f"{base}/{uuid}.json", _load(folder / f"{uuid}.json")) for uuid in doc]
        for name, event in docs:
            if isinstance(event, RecordError):
                yield Loose(records_table([], {}, []), [event])
                continue
            rows = [{**row, "raw_ref": f"{name}#attribute{i}"}
                    for i, row in enumerate(event_rows(event), start=1)]
            for start, part in enumerate(batched(rows, batch_size)):
                first = start * batch_size + 1
                yield Loose(records_table(part, {"raw_ref": "raw_ref"},
                                          range(first, first + len(part))))


def _load(path: Path) -> dict[str, Any] | RecordError:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return RecordError(Location(str(path)), f"MISP event file unreadable: {exc}")
    return doc if isinstance(doc, dict) else RecordError(Location(str(path)), "not an object")


FEEDS = [Misp()]
