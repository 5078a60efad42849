"""`bluelamp picture`: the national picture from events in a lake."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluelamp.attribute import Attributor
from bluelamp.attribute.picture import national_picture
from bluelamp.cli import app
from bluelamp.schema import EVENT
from bluelamp.store.lake import Lake

ORGS = """
[[organisation]]
name = "Example Hosting Ltd"
sector = "hosting"
region = "North West"
networks = ["81.2.69.160/27"]

[[organisation]]
name = "Northern Water plc"
sector = "water"
region = "North East"
networks = ["2.24.8.0/24"]
"""

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def event(n: int, ip: str | None, kind: str, days_ago: float = 1, **extra: object) -> dict:
    return {"id": f"e{n}", "time_observed": NOW - dt.timedelta(days=days_ago),
            "feed_name": "test-feed", "classification_taxonomy": "malicious-code",
            "classification_type": kind, "source_ip": ip, **extra}


EVENTS = [
    event(1, "81.2.69.170", "infected-system"),          # Example Hosting (declared), GB
    event(2, "81.2.69.170", "infected-system"),          # same host again
    event(3, "81.2.69.171", "c2-server"),                # Example Hosting
    event(4, "2.24.8.9", "phishing"),                    # Northern Water, GB
    event(5, "2.24.99.1", "infected-system"),            # GB (delegated), no org
    event(6, "2a00:1098::5", "spam"),                    # GB IPv6 (delegated)
    event(7, "5.8.8.8", "infected-system"),              # FR: out of scope
    event(8, None, "phishing", source_fqdn="x.example"),  # no address
    event(9, "not-an-ip", "spam"),                       # invalid
    event(10, "2.24.8.10", "phishing", days_ago=30),     # too old
    event(11, "::ffff:2.24.99.1", "spam"),               # the same GB host, mapped
]


@pytest.fixture
def setup(tmp_path: Path, samples: Path) -> dict[str, Path]:
    lake = tmp_path / "lake"
    Lake(lake).write("event", EVENT.from_rows(EVENTS))
    orgs = tmp_path / "orgs.toml"
    orgs.write_text(ORGS)
    return {"lake": lake, "orgs": orgs, "delegated": samples /
            "delegated-ripencc-extended-20240101",
            "routing": samples / "routeviews-rv2-20240101-1200.pfx2as",
            "as_org": samples / "as-org2info.txt"}


def run(setup: dict[str, Path], *extra: str) -> str:
    result = CliRunner().invoke(app, [
        "picture", "--country", "GB", "--since", "7d", "--lake", str(setup["lake"]),
        "--delegated", str(setup["delegated"]), "--routing", str(setup["routing"]),
        "--routing", str(setup["as_org"]), "--orgs", str(setup["orgs"]), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_picture_json(setup: dict[str, Path]) -> None:
    data = json.loads(run(setup, "--json"))
    assert set(data) >= {"country", "since", "until", "headline", "hosts", "events", "by",
                         "out_of_scope", "without_address", "invalid_addresses", "regions",
                         "networks", "organisations", "attribution_file_errors"}
    assert data["country"] == "GB"
    # Hosts: 81.2.69.170, 81.2.69.171, 2.24.8.9, 2.24.99.1 (twice, once mapped), 2a00:1098::5
    assert data["hosts"] == 5 and data["events"] == 7
    assert data["events_read"] == 10  # the 30-day-old event is not read
    assert data["out_of_scope"] == 2  # 5.8.8.8 and the invalid address
    assert data["without_address"] == 1 and data["invalid_addresses"] == 1
    by = {dim: {r["key"]: (r["hosts"], r["events"]) for r in rows}
          for dim, rows in data["by"].items()}
    assert by["region"] == {"North West": (2, 3), "North East": (1, 1), "unknown": (2, 3)}
    assert by["sector"]["hosting"] == (2, 3) and by["sector"]["water"] == (1, 1)
    assert by["type"] == {"infected-system": (2, 3), "c2-server": (1, 1), "phishing": (1, 1),
                          "spam": (2, 2)}
    assert by["network"]["AS20712"] == (2, 3)
    names = {r["key"]: r["name"] for r in data["by"]["network"]}
    assert names == {"AS20712": "Andrews & Arnold Ltd", "unknown": None}
    assert data["regions"] == 2
    assert data["headline"].startswith("5 compromised hosts in GB address space in the last "
                                       "7 days (7 threat events")
    assert "North West" in data["headline"]
    assert len(data["attribution_file_errors"]) == 6  # the samples' deliberate bad lines


def test_picture_type_filter_and_mapped_host(setup: dict[str, Path]) -> None:
    # spam: 2a00:1098::5 and ::ffff:2.24.99.1 (in scope), not-an-ip (not).
    data = json.loads(run(setup, "--json", "--type", "spam"))
    assert data["hosts"] == 2 and data["events"] == 2
    # ::ffff:2.24.99.1 is the same host as 2.24.99.1 (an infected-system event).
    data = json.loads(run(setup, "--json", "--type", "spam", "--type", "infected-system"))
    assert data["hosts"] == 3 and data["events"] == 5


def test_picture_csv(setup: dict[str, Path]) -> None:
    rows = list(csv.DictReader(io.StringIO(run(setup, "--csv"))))
    assert rows[0] == {"dimension": "total", "key": "GB", "name": "", "hosts": "5",
                       "events": "7"}
    assert {"dimension": "sector", "key": "water", "name": "", "hosts": "1",
            "events": "1"} in rows


def test_picture_text(setup: dict[str, Path]) -> None:
    out = run(setup)
    assert "5 compromised hosts in GB address space" in out
    assert "by region" in out and "North West" in out


def test_picture_needs_a_country(setup: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["picture", "--lake", str(setup["lake"])])
    assert result.exit_code == 2
    assert "country" in result.output


def test_feed_country_is_used_without_address_data(tmp_path: Path) -> None:
    events = EVENT.from_rows([event(1, "192.0.2.1", "spam", source_country="GB"),
                              event(2, "192.0.2.2", "spam", source_country="FR")])
    pic = national_picture(events, Attributor(country="GB"),
                           since=NOW - dt.timedelta(days=7))
    assert pic.hosts == 1


def test_empty_lake(tmp_path: Path, setup: dict[str, Path]) -> None:
    setup = {**setup, "lake": tmp_path / "empty"}
    data = json.loads(run(setup, "--json"))
    assert data["hosts"] == 0 and data["headline"].startswith("No compromised hosts")
