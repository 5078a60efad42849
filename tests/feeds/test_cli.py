"""`bluelamp feeds ingest` / `list`: one JSON object, the lake, the quarantine, --strict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.store.lake import Lake

from .conftest import SAMPLES


def _bad_copy(tmp_path: Path) -> Path:
    text = (SAMPLES / "2026-11-20-scan_rdp-example-geo.csv").read_text().splitlines()
    text.insert(2, text[1].replace("192.0.2.10", "192.0.2.300"))
    path = tmp_path / "2026-11-20-scan_rdp-bad-geo.csv"
    path.write_text("\n".join(text) + "\n")
    return path


def test_ingest_json_lake_and_quarantine(tmp_path: Path) -> None:
    bad = _bad_copy(tmp_path)
    url = shutil.copy(SAMPLES / "urlhaus.csv", tmp_path / "urlhaus.csv")
    lake = tmp_path / "lake"
    result = CliRunner().invoke(app, ["feeds", "ingest", str(bad), str(url), "--lake",
                                      str(lake), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert (summary["rows"], summary["events"], summary["errors"]) == (5, 4, 1)
    assert summary["by_feed"]["shadowserver"]["errors"] == 1
    assert summary["by_feed"]["urlhaus"]["events"] == 2
    events = Lake(lake).read("event")
    assert events.num_rows == 4
    assert sorted(set(events.column("feed_name").to_pylist())) == ["shadowserver", "urlhaus"]
    [qfile] = list((lake / "quarantine").rglob("*.ndjson"))
    record = json.loads(qfile.read_text())
    assert (record["line"], record["field"], record["feed"]) == (3, "source_ip", "shadowserver")
    assert "192.0.2.300" in record["message"]


def test_strict_stops_at_the_first_bad_row(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["feeds", "ingest", str(_bad_copy(tmp_path)), "--lake",
                                      str(tmp_path / "lake"), "--strict"])
    assert result.exit_code != 0
    assert "2026-11-20-scan_rdp-bad-geo.csv:3 [source_ip]" in str(result.exception)


def test_list_names_every_parser() -> None:
    result = CliRunner().invoke(app, ["feeds", "list", "--json"])
    names = set(json.loads(result.stdout))
    assert {"shadowserver", "urlhaus", "feodo", "spamhaus-drop", "phishtank", "openphish",
            "cymru", "dshield-block", "dshield-sources", "misp", "stix"} <= names


def test_mapping_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "feeds", "ingest", str(SAMPLES / "generic.csv"), "--mapping",
        str(SAMPLES / "generic_mapping.toml"), "--lake", str(tmp_path / "lake"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["by_feed"]["example-c2"]["events"] == 2


def test_events_are_attributed_when_an_attributor_is_given(tmp_path: Path) -> None:
    from bluelamp.attribute import Attributor
    from bluelamp.sources.feeds.pipeline import Ingestor

    routing = Path(__file__).parents[1] / "attribute" / "samples" / "ip2asn-v4.tsv"
    feed = tmp_path / "feed.txt"
    feed.write_text("http://192.0.2.50/login.php\nhttps://phish.example.net/x\n")
    lake = Lake(tmp_path / "lake")
    ingestor = Ingestor(lake, Attributor.from_files(routing=[routing]))
    ingestor.ingest_path(feed, "openphish")
    rows = {r["source_url"]: r for r in lake.read("event").to_pylist()}
    attributed = rows["http://192.0.2.50/login.php"]
    assert (attributed["source_ip"], attributed["source_asn"]) == ("192.0.2.50", 64500)
    assert rows["https://phish.example.net/x"]["source_asn"] is None


def test_findings_become_events_once(tmp_path: Path) -> None:
    import datetime as dt

    from bluelamp.schema import FINDING

    lake = Lake(tmp_path / "lake")
    t0 = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)
    lake.write("finding", FINDING.from_rows([
        {"id": "f1", "detector": "dga", "type": "dga-infected-client", "subject_kind": "client",
         "subject": "192.0.2.5", "score": 0.9, "first_seen": t0, "last_seen": t0, "count": 3,
         "evidence": "{}", "explanation": "x", "tlp": "amber"}]))
    args = ["feeds", "findings", "--lake", str(tmp_path / "lake"), "--json"]
    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"findings": 1, "events": 1}
    assert json.loads(second.stdout) == {"findings": 1, "events": 0}
    [event] = lake.read("event").to_pylist()
    assert (event["source_ip"], event["classification_type"]) == ("192.0.2.5",
                                                                  "infected-system")
