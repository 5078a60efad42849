"""STIX 2.1 bundles from events: indicators with patterns, the observables they name,
malware, infrastructure, sightings, relationships, notes, and the TLP 2.0 markings.

Ids are deterministic, so that the same event exported twice gives the same objects (a
TAXII consumer sees an update, not a duplicate): domain objects use a version-4-formatted
UUID derived from a hash of their content key (the standard asks domain objects for UUIDv4),
observables the UUIDv5 of their value under the STIX namespace, as the standard requires.
Only what `tlp.shareable` lets through is exported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from bluelamp.act.feeds import tlp

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 §2.9
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#: the official TLP 2.0 marking-definition ids (OASIS)
TLP_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
INFRASTRUCTURE = {"c2-server": "command-and-control", "malware-distribution": "hosting-malware",
                  "phishing": "phishing", "dga-domain": "botnet"}
COMPROMISED = {"infected-system", "system-compromise", "application-compromise",
               "vulnerable-system"}
IDENTITY_NAME = "Bluelamp"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^({_LABEL}\.)*{_LABEL}$")
_PATH_SAFE = "/?:@!$&'()*+,;=%~-._"
_AUTHORITY_SAFE = ":@!$&'()*+,;=%~-._"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#]+([/?#]\S*)?$")


def marking(level: str) -> dict[str, Any]:
    """The official TLP 2.0 marking-definition object for a level."""
    return {"type": "marking-definition", "spec_version": "2.1", "id": TLP_IDS[level],
            "created": "2022-10-01T00:00:00.000Z", "name": f"TLP:{level.upper()}",
            "extensions": {TLP_EXTENSION: {"extension_type": "property-extension",
                                           "tlp_2_0": level}}}


def sdo_id(kind: str, *key: object) -> str:
    """Deterministic id formatted as UUIDv4 (random bits taken from a SHA-256 of the key)."""
    digest = hashlib.sha256(json.dumps([kind, *map(str, key)]).encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def sco_id(kind: str, value: str) -> str:
    """UUIDv5 over the canonical JSON of the ID contributing property (`value`)."""
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, json.dumps({'value': value}))}"


def timestamp(value: dt.datetime | None) -> str:
    value = value or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{value.microsecond // 1000:03d}Z"


def identity() -> dict[str, Any]:
    return {"type": "identity", "spec_version": "2.1", "id": sdo_id("identity", IDENTITY_NAME),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": IDENTITY_NAME, "identity_class": "organization"}


def uri(url: str) -> str:
    """The URL with what RFC 3986 does not allow percent-encoded (STIX `url` values must be
    URIs; phishing URLs often carry quotes, brackets, stray '%' or non-ASCII text)."""
    scheme, _, rest = url.partition("://")
    cut = min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    path, hash_, fragment = tail.partition("#")
    return (f"{scheme}://{_encode(authority, _AUTHORITY_SAFE)}{_encode(path, _PATH_SAFE)}"
            + (f"#{_encode(fragment, _PATH_SAFE)}" if hash_ else ""))


def _encode(text: str, safe: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", text), safe=safe)


def is_hostname(name: str) -> bool:
    """A name STIX accepts as a `domain-name` value (LDH labels; feeds' names with
    underscores or other bytes are left out rather than making the bundle invalid)."""
    return len(name) <= 253 and bool(_HOSTNAME.match(name))


def observable(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(STIX observable type, value) of an event's subject: URL, else name, else address."""
    if event.get("source_url") and _URL.match(str(event["source_url"])):
        return "url", uri(str(event["source_url"]))
    if event.get("source_fqdn") and is_hostname(str(event["source_fqdn"])):
        return "domain-name", str(event["source_fqdn"])
    ip = event.get("source_ip")
    if ip:
        return ("ipv6-addr" if ":" in str(ip) else "ipv4-addr"), str(ip)
    return None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


class BundleBuilder:
    """Collects objects for one bundle; shared objects (identity, malware, markings) once."""

    def __init__(self) -> None:
        self.identity = identity()
        self.objects: dict[str, dict[str, Any]] = {self.identity["id"]: self.identity}
        self.levels: set[str] = set()

    def add(self, obj: dict[str, Any]) -> str:
        self.objects.setdefault(obj["id"], obj)
        return str(obj["id"])

    def _common(self, kind: str, key: str, created: str, level: str) -> dict[str, Any]:
        return {"type": kind, "spec_version": "2.1", "id": sdo_id(kind, key),
                "created": created, "modified": created,
                "created_by_ref": self.identity["id"], "object_marking_refs": [TLP_IDS[level]]}

    def relate(self, source: str, kind: str, target: str, created: str, level: str) -> None:
        rel = self._common("relationship", f"{source}|{kind}|{target}", created, level)
        rel.update(relationship_type=kind, source_ref=source, target_ref=target)
        self.add(rel)

    def event(self, event: Mapping[str, Any], note: str | None = None) -> str | None:
        """Add the objects of one event; returns the indicator id (None: no subject)."""
        subject = observable(event)
        if subject is None:
            return None
        level = str(event.get("tlp") or tlp.UNLABELLED).lower()
        self.levels.add(level)
        created = timestamp(event.get("time_observed"))
        sco_type, value = subject
        sco = {"type": sco_type, "spec_version": "2.1", "id": sco_id(sco_type, value),
               "value": value}
        self.add(sco)
        indicator = self._indicator(event, sco_type, value, created, level)
        self.add(indicator)
        self._sighting(event, indicator["id"], created, level)
        self._context(event, indicator["id"], sco["id"], created, level)
        if note:
            self._note(event, note, indicator["id"], created, level)
        return str(indicator["id"])

    def _indicator(self, event: Mapping[str, Any], sco_type: str, value: str, created: str,
                   level: str) -> dict[str, Any]:
        cls, typ = event.get("classification_taxonomy"), event.get("classification_type")
        ind = self._common("indicator", str(event["id"]), created, level)
        ind.update(
            name=f"{typ or 'threat'}: {value}",
            description=f"Bluelamp event {event['id']} from {event.get('feed_name')}"
                        + (f" ({event['classification_identifier']})"
                           if event.get("classification_identifier") else "") + ".",
            indicator_types=["compromised" if typ in COMPROMISED else "malicious-activity"],
            pattern=f"[{sco_type}:value = '{_escape(value)}']", pattern_type="stix",
            valid_from=timestamp(event.get("time_source") or event.get("time_observed")))
        if cls and typ:
            ind["labels"] = [f"{cls}/{typ}"]
        if event.get("confidence") is not None:
            ind["confidence"] = max(0, min(100, round(float(event["confidence"]) * 100)))
        ind["external_references"] = [{"source_name": "bluelamp", "external_id": str(event["id"])}]
        return ind

    def _sighting(self, event: Mapping[str, Any], indicator: str, created: str,
                  level: str) -> None:
        first = timestamp(event.get("time_source") or event.get("time_observed"))
        last = timestamp(event.get("time_last_seen") or event.get("time_source")
                         or event.get("time_observed"))
        if last < first:
            last = first
        sighting = self._common("sighting", str(event["id"]), created, level)
        sighting.update(sighting_of_ref=indicator, first_seen=first, last_seen=last,
                        count=max(1, int(event.get("count") or 1)),
                        where_sighted_refs=[self.identity["id"]])
        self.add(sighting)

    def _context(self, event: Mapping[str, Any], indicator: str, sco: str, created: str,
                 level: str) -> None:
        family = event.get("classification_identifier")
        typ = event.get("classification_type")
        malware = None
        if family and event.get("classification_taxonomy") == "malicious-code":
            malware = self._common("malware", f"malware|{family}", created, level)
            malware.update(name=str(family), is_family=True)
            malware = self.objects.get(malware["id"], malware)
            self.add(malware)
            self.relate(indicator, "indicates", malware["id"], created, level)
        if typ in INFRASTRUCTURE:
            infra = self._common("infrastructure", f"infrastructure|{sco}", created, level)
            infra.update(name=f"{INFRASTRUCTURE[typ]} {sco.split('--')[0]}",
                         infrastructure_types=[INFRASTRUCTURE[typ]])
            self.add(infra)
            self.relate(infra["id"], "consists-of", sco, created, level)
            self.relate(indicator, "indicates", infra["id"], created, level)
            if malware is not None:
                self.relate(malware["id"], "uses", infra["id"], created, level)

    def _note(self, event: Mapping[str, Any], note: str, indicator: str, created: str,
              level: str) -> None:
        obj = self._common("note", f"note|{event['id']}", created, level)
        obj.update(abstract="Warning indicator shared with law enforcement", content=note,
                   object_refs=[indicator])
        self.add(obj)

    def bundle(self) -> dict[str, Any]:
        objects = [marking(level) for level in sorted(self.levels)]
        objects += list(self.objects.values())
        body = json.dumps([o["id"] for o in objects])
        return {"type": "bundle", "id": sdo_id("bundle", body), "objects": objects}


def bundle(events: pa.Table, clearance: str = "amber",
           notes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A STIX 2.1 bundle of the events a recipient with `clearance` may receive."""
    builder = BundleBuilder()
    for event in tlp.shareable(events, clearance).to_pylist():
        builder.event(event, (notes or {}).get(str(event["id"])))
    return builder.bundle()


def objects_of(events: Iterable[Mapping[str, Any]],
               notes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The objects of already-gated events, without the bundle wrapper (TAXII)."""
    builder = BundleBuilder()
    for event in events:
        builder.event(event, (notes or {}).get(str(event["id"])))
    return builder.bundle()["objects"]
