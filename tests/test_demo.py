"""The demo's whole flow on a small day: everything it claims to produce is there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc

from bluelamp.attribute import Attributor
from bluelamp.attribute.picture import national_picture
from bluelamp.demo import run_demo
from bluelamp.store.lake import Lake


def test_demo_flow_lands_attributed_events_and_accounts(tmp_path: Path) -> None:
    result = run_demo(tmp_path, clients=40, hours=3, seed=1)
    assert (tmp_path / "bluelamp.toml").is_file()
    assert result.dns.num_rows > 1000
    assert result.feed_events > 0 and result.events_from_findings == len(result.findings)
    events = Lake(result.settings.lake.path).read("event")
    assert events.num_rows == result.feed_events + result.events_from_findings
    # every event about a demo host is attributed to one of the demo organisations
    with_ip = events.filter(pc.is_valid(events.column("source_ip")))
    orgs = set(with_ip.column("source_org").to_pylist())
    assert orgs <= {"Example Hosting Ltd", "Example University"}, orgs
    assert None not in orgs
    assert set(with_ip.column("source_region").to_pylist()) <= {"London", "North West"}
    # one account per role, privileged ones with a TOTP secret
    assert len(result.credentials) == 6
    assert sum(" totp:" in c for c in result.credentials.values()) == 5
    # the national picture (demo country) counts those hosts
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    picture = national_picture(events, Attributor.from_settings(result.settings), since=since)
    assert picture.hosts == len(set(with_ip.column("source_ip").to_pylist()))
