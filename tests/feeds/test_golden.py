"""Golden tests: each real-format sample gives exactly the events in golden/<sample>.json.

The golden files were produced by the parsers and then checked by hand against the sample
(field by field); regenerate with BLUELAMP_UPDATE_GOLDEN=1 only after such a check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bluelamp.sources.base import open_input
from bluelamp.sources.feeds import get_feed, parse_path
from bluelamp.sources.feeds.generic import Generic

from .conftest import GOLDEN, OBSERVED, SAMPLES, collect, comparable

CASES = [
    ("2026-11-20-scan_rdp-example-geo.csv", "shadowserver"),
    ("2026-11-20-event4_sinkhole_http-example-geo.csv", "shadowserver"),
    ("urlhaus.csv", "urlhaus"),
    ("urlhaus_api.json", "urlhaus"),
    ("feodo_ipblocklist.csv", "feodo"),
    ("feodo_ipblocklist.json", "feodo"),
    ("drop.txt", "spamhaus-drop"),
    ("drop_v4.json", "spamhaus-drop"),
    ("asndrop.json", "spamhaus-drop"),
    ("asndrop.txt", "spamhaus-drop"),
    ("drop_v6.json", "spamhaus-drop"),
    ("phishtank_online-valid.json", "phishtank"),
    ("phishtank_online-valid.csv", "phishtank"),
    ("openphish_feed.txt", "openphish"),
    ("cymru.txt", "cymru"),
    ("dshield_block.txt", "dshield-block"),
    ("dshield_sources.txt", "dshield-sources"),
    ("misp/manifest.json", "misp"),
    ("stix_bundle.json", "stix"),
]


def _events(sample: str, feed: str) -> list[dict[str, object]]:
    path = SAMPLES / sample
    parser = get_feed(feed)
    with open_input(path) as stream:
        table, errors = collect(parser.parse(stream, str(path), observed=OBSERVED))  # type: ignore[arg-type]
    assert errors == []
    return comparable(table)


def _check(name: str, rows: list[dict[str, object]]) -> None:
    golden = GOLDEN / (Path(name).name + ".json")
    if os.environ.get("BLUELAMP_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    assert rows == json.loads(golden.read_text())


@pytest.mark.parametrize(("sample", "feed"), CASES)
def test_sample_gives_golden_events(sample: str, feed: str) -> None:
    _check(sample, _events(sample, feed))


@pytest.mark.parametrize(("sample", "feed"), CASES)
def test_auto_detection_picks_the_right_parser(sample: str, feed: str) -> None:
    with open_input(SAMPLES / sample) as stream:
        head = stream.peek(65536)  # type: ignore[attr-defined]
    from bluelamp.sources.feeds import detect_feed

    assert detect_feed(head, Path(sample).name).name == feed


def test_generic_mapping_sample() -> None:
    parser = Generic.from_file(SAMPLES / "generic_mapping.toml")
    with open_input(SAMPLES / "generic.csv") as stream:
        table, errors = collect(parser.parse(stream, str(SAMPLES / "generic.csv"),  # type: ignore[arg-type]
                                             observed=OBSERVED))
    assert errors == []
    _check("generic.csv", comparable(table))


def test_hand_checked_fields() -> None:
    """The essentials, stated by hand from the samples (independent of the golden files)."""
    rdp = _events("2026-11-20-scan_rdp-example-geo.csv", "shadowserver")
    assert [(r["source_ip"], r["source_port"], r["source_asn"]) for r in rdp] == [
        ("192.0.2.10", 3389, 64500), ("198.51.100.7", 3389, 64501)]
    assert rdp[0]["time_source"] == "2026-11-20T00:00:05Z"
    assert (rdp[0]["classification_taxonomy"], rdp[0]["classification_type"]) == (
        "vulnerable", "vulnerable-system")
    assert rdp[0]["raw_ref"] == "2026-11-20-scan_rdp-example-geo.csv:2"
    assert rdp[0]["extra"]["subject_common_name"] == "WIN-SRV10"  # type: ignore[index]
    sinkhole = _events("2026-11-20-event4_sinkhole_http-example-geo.csv", "shadowserver")
    assert [(r["source_ip"], r["destination_fqdn"], r["classification_identifier"],
             r["classification_type"]) for r in sinkhole] == [
        ("192.0.2.81", "sinkholed.example.com", "andromeda", "infected-system"),
        ("2001:db8:10::81", "qs.example.net", "qsnatch", "infected-system")]
    urlhaus = _events("urlhaus.csv", "urlhaus")
    assert urlhaus[0]["source_ip"] == "192.0.2.44"  # host of the URL
    assert urlhaus[1]["source_fqdn"] == "malware.example.com"
    assert urlhaus[0]["raw_ref"] == "urlhaus.csv:10"  # header is in comment line 9
    cymru = _events("cymru.txt", "cymru")
    assert cymru[1]["source_ip"] == "2001:db8::15"
    dshield = _events("dshield_block.txt", "dshield-block")
    assert dshield[0]["source_network"] == "203.0.113.0/24"
    stix = _events("stix_bundle.json", "stix")
    assert [r["tlp"] for r in stix] == ["amber", "amber", "green", "amber"]
    misp = _events("misp/manifest.json", "misp")
    assert [r["tlp"] for r in misp] == ["amber", "amber", "green"]
    assert misp[0]["classification_type"] == "c2-server"
    assert len(misp) == 3  # md5 and the to_ids=false address are not events


def test_parse_path_reads_gzip(tmp_path: Path) -> None:
    import gzip

    data = (SAMPLES / "openphish_feed.txt").read_bytes()
    path = tmp_path / "openphish_feed.txt.gz"
    path.write_bytes(gzip.compress(data))
    table, errors = collect(parse_path(path, "openphish"))
    assert table is not None and table.num_rows == 2 and not errors
