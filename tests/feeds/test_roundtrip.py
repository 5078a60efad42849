"""Round trips: events written as a STIX 2.1 bundle (with the OASIS `stix2` library) and as
a MISP feed come back as the same events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import stix2

from bluelamp.schema import EVENT
from bluelamp.sources.feeds import parse_path

from .conftest import collect

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
EVENTS: list[dict[str, Any]] = [
    {"source_ip": "198.51.100.20", "classification_taxonomy": "malicious-code",
     "classification_type": "c2-server", "tlp": "amber", "time_source": T0},
    {"source_ip": "2001:db8::bad", "classification_taxonomy": "malicious-code",
     "classification_type": "infected-system", "tlp": "red", "time_source": T0},
    {"source_fqdn": "c2.example.org", "classification_taxonomy": "malicious-code",
     "classification_type": "c2-server", "tlp": "green", "time_source": T0},
    {"source_url": "http://phish.example.net/it's", "classification_taxonomy": "fraud",
     "classification_type": "phishing", "tlp": "clear", "time_source": T0},
]
KEYS = ("source_ip", "source_fqdn", "source_url", "classification_taxonomy",
        "classification_type", "tlp", "time_source")
STIX_TLP = {"clear": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER,
            "red": stix2.TLP_RED}


def _pattern(event: dict[str, Any]) -> str:
    if event.get("source_url"):
        kind, value = "url", event["source_url"]
    elif event.get("source_fqdn"):
        kind, value = "domain-name", event["source_fqdn"]
    else:
        kind = "ipv6-addr" if ":" in event["source_ip"] else "ipv4-addr"
        value = event["source_ip"]
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{kind}:value = '{escaped}']"


def _core(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(k) for k in KEYS) for r in rows]


def _expected() -> list[tuple[Any, ...]]:
    # URL events gain their host as source_fqdn on the way in
    rows = [dict(e) for e in EVENTS]
    rows[3]["source_fqdn"] = "phish.example.net"
    return _core(rows)


def test_stix_round_trip(tmp_path: Path) -> None:
    indicators = [stix2.Indicator(pattern=_pattern(e), pattern_type="stix", valid_from=T0,
                                  labels=[f"{e['classification_taxonomy']}/"
                                          f"{e['classification_type']}"],
                                  object_marking_refs=[STIX_TLP[e["tlp"]]])
                  for e in EVENTS]
    bundle = stix2.Bundle(*indicators, allow_custom=False)
    path = tmp_path / "bundle.json"
    path.write_text(bundle.serialize())
    table, errors = collect(parse_path(path))
    assert errors == [] and table is not None
    assert _core(table.to_pylist()) == _expected()


def test_misp_round_trip(tmp_path: Path) -> None:
    types = {"source_ip": "ip-dst", "source_fqdn": "domain", "source_url": "url"}
    events: dict[str, dict[str, Any]] = {}
    for n, e in enumerate(EVENTS):
        field = next(k for k in ("source_url", "source_fqdn", "source_ip") if e.get(k))
        uuid = f"00000000-0000-4000-8000-{n:012d}"
        tlp = "white" if e["tlp"] == "clear" else e["tlp"]
        events[uuid] = {"Event": {
            "uuid": uuid, "info": "round trip", "timestamp": str(int(T0.timestamp())),
            "Tag": [{"name": f"tlp:{tlp}"},
                    {"name": f'rsit:{e["classification_taxonomy"]}='
                             f'"{e["classification_type"]}"'}],
            "Attribute": [{"uuid": uuid, "type": types[field], "value": e[field],
                           "to_ids": True, "category": "Network activity",
                           "timestamp": str(int(T0.timestamp()))}]}}
    for uuid, doc in events.items():
        (tmp_path / f"{uuid}.json").write_text(json.dumps(doc))
    (tmp_path / "manifest.json").write_text(json.dumps(
        {u: {"info": "round trip", "Orgc": {"name": "x"}, "timestamp": "0"} for u in events}))
    table, errors = collect(parse_path(tmp_path / "manifest.json"))
    assert errors == [] and table is not None
    assert _core(table.to_pylist()) == _expected()
    assert table.schema.equals(EVENT.arrow)


def test_misp_manifest_with_a_missing_event_file(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"00000000-0000-4000-8000-00000000dead": {"info": "gone", "Orgc": {"name": "x"}}}))
    table, errors = collect(parse_path(tmp_path / "manifest.json", "misp"))
    assert table is None
    assert len(errors) == 1 and "00000000-0000-4000-8000-00000000dead.json" in str(errors[0])
