"""STIX 2.1 bundles: indicators with simple patterns, and observed data.

Each comparison `[ipv4-addr:value = '...']`, `[ipv6-addr:value = ...]`,
`[domain-name:value = ...]` or `[url:value = ...]` in an indicator's pattern becomes an
event (an `OR` of several gives several); an `observed-data` object gives one per address,
name or URL it refers to. TLP comes from the object's marking references: the TLP 1.0 and
2.0 marking definitions of the standard, and any marking definition in the bundle that names
a TLP level. Classification: an ENISA `class/type` pair among the labels (what Bluelamp's
own STIX export writes), else from the indicator type (`INDICATOR_TYPES`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from bluelamp import taxonomy
from bluelamp.sources.feeds.base import FeedParser, Loose, batched, fixed, records_table

#: marking-definition ids fixed by the STIX 2.1 standard (TLP 1.0) and by the OASIS TLP 2.0
#: extension
TLP_MARKINGS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # TLP 1.0 WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",  # TLP 2.0
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
#: STIX indicator type (open vocabulary) -> ENISA class/type
INDICATOR_TYPES = {
    "malicious-activity": ("other", "blocklist"),
    "anomalous-activity": ("other", "other"),
    "compromised": ("intrusions", "system-compromise"),
    "anonymization": ("other", "proxy"),
    "attribution": ("other", "other"),
    "unknown": ("other", "unknown"),
}
SCO_FIELDS = {"ipv4-addr": "source_ip", "ipv6-addr": "source_ip",
              "domain-name": "source_fqdn", "url": "source_url"}
_COMPARISON = re.compile(
    r"(?P<type>ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'")


def pattern_values(pattern: str) -> list[tuple[str, str]]:
    """(EVENT field, value) for each simple equality comparison in a STIX pattern."""
    return [(SCO_FIELDS[m["type"]], m["value"].replace("\\'", "'").replace("\\\\", "\\"))
            for m in _COMPARISON.finditer(pattern)]


def _tlp_markings(objects: list[dict[str, Any]]) -> dict[str, str]:
    found = dict(TLP_MARKINGS)
    for obj in objects:
        if obj.get("type") != "marking-definition":
            continue
        level = (obj.get("definition") or {}).get("tlp") or obj.get("name", "")
        level = str(level).lower().removeprefix("tlp:")
        if level in ("white", "clear", "green", "amber", "amber+strict", "red"):
            found[obj["id"]] = level
    return found


def _classification(obj: dict[str, Any]) -> tuple[str, str] | None:
    for label in obj.get("labels") or []:
        cls, _, typ = str(label).partition("/")
        if typ and taxonomy.is_valid(cls, typ):
            return cls, typ
    for kind in obj.get("indicator_types") or []:
        if kind in INDICATOR_TYPES:
            return INDICATOR_TYPES[kind]
    return None


def bundle_rows(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    objects = [o for o in bundle.get("objects") or [] if isinstance(o, dict)]
    by_id = {o.get("id"): o for o in objects}
    tlps = _tlp_markings(objects)
    for obj in objects:
        pairs: list[tuple[str, Any]]
        if obj.get("type") == "indicator" and obj.get("pattern_type", "stix") == "stix":
            pairs = pattern_values(str(obj.get("pattern", "")))
            when = obj.get("valid_from") or obj.get("created")
        elif obj.get("type") == "observed-data":
            refs = [by_id.get(r) or {} for r in obj.get("object_refs") or []]
            pairs = [(SCO_FIELDS[r["type"]], r.get("value")) for r in refs
                     if r.get("type") in SCO_FIELDS]
            when = obj.get("first_observed")
        else:
            continue
        tlp = next((tlps[m] for m in obj.get("object_marking_refs") or [] if m in tlps), None)
        cls = _classification(obj)
        for field, value in pairs:
            row: dict[str, Any] = {field: value, "time_source": when, "tlp": tlp,
                                   "stix_id": obj.get("id"), "name": obj.get("name")}
            if obj.get("confidence") is not None:  # STIX: 0..100
                row["confidence"] = float(obj["confidence"]) / 100
            if cls:
                row["classification_taxonomy"], row["classification_type"] = cls
            yield row


class Stix(FeedParser):
    name = "stix"
    provider = "STIX 2.1 bundle"
    description = "STIX 2.1 bundle: indicators (simple patterns) and observed data"
    constants = fixed(classification_taxonomy="other", classification_type="undetermined",
                      tlp="amber")

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096]
        return 90 if b'"bundle"' in text and b'"type"' in text else 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        bundle = json.loads(stream.read().decode("utf-8-sig"))
        rows = list(bundle_rows(bundle if isinstance(bundle, dict) else {}))
        for start, part in enumerate(batched(rows, batch_size)):
            first = start * batch_size + 1
            yield Loose(records_table(part, {}, range(first, first + len(part))))


FEEDS = [Stix()]
