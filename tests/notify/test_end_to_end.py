"""End to end: simulate a day → analyse it → ingest a feed → notices delivered to a real SMTP
server → a later day without the infections → the hosts are marked remediated (and a host
the feed still reports stays affected). The clock is injected."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.act.notify import run
from bluelamp.act.notify.stats import compute
from bluelamp.attribute import Attributor
from bluelamp.attribute.orgs import Organisation as Declared
from bluelamp.attribute.orgs import OrgDirectory
from bluelamp.detect.base import findings_table
from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.events import findings_to_events
from bluelamp.schema import EVENT
from bluelamp.simulate import simulate_day
from bluelamp.sources.base import Chunk
from bluelamp.sources.feeds.pipeline import Ingestor
from bluelamp.store.lake import Lake
from bluelamp.store.models.notifications import Notice, NoticeItem
from notify.conftest import SmtpHandler, notify_settings
from notify.helpers import add_org, parts

SAMPLE = (Path(__file__).parents[1] / "feeds" / "samples" /
          "2026-11-20-event4_sinkhole_http-example-geo.csv")
DAY1 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
DAY9 = DAY1 + dt.timedelta(days=8)
NETWORKS = ("198.51.100.0/24", "192.0.2.0/24")
FEED_HOST = "192.0.2.81"  # the sinkholed host of the Shadowserver sample


def _attributor() -> Attributor:
    return Attributor(orgs=OrgDirectory([Declared(name="Hosting Co", networks=NETWORKS,
                                                  region="London")]))


def analyse_day(lake: Lake, start: dt.datetime, **malice: float) -> pa.Table:
    """Simulate two office hours, run every detector, write attributed events; return the
    simulation's labels."""
    dns, labels = simulate_day(clients=40, hours=2, seed=1, start=start,
                               client_networks=(NETWORKS[0],), ipv6_share=0.0, **malice)
    engine = Engine(default_detectors())
    found = []
    for batch in dns.to_batches(65_536):
        found += engine.process(Chunk(batch, []))
    found += engine.flush()
    events = findings_to_events(findings_table(found), observed=start + dt.timedelta(hours=3))
    lake.write("event", EVENT.conform(_attributor().attribute(events)))
    return labels


def ingest_feed(lake: Lake, tmp: Path, day: dt.datetime) -> None:
    path = tmp / f"{day:%Y-%m-%d}-event4_sinkhole_http-example-geo.csv"
    path.write_text(SAMPLE.read_text().replace("2026-11-20", f"{day:%Y-%m-%d}"))
    Ingestor(sink=lake, attributor=_attributor()).ingest_path(
        path, now=day + dt.timedelta(hours=3))


def test_simulate_analyse_ingest_notify_remediate(
        db: Session, db_url: str, lake: Lake, tmp_path: Path,
        smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db, "Hosting Co", "London", ("it@hosting.example",))
    settings = notify_settings(db_url, lake.root, port, recheck_days=7)

    labels = analyse_day(lake, DAY1, dga_fraction=0.05)
    infected = {r["client"] for r in labels.to_pylist() if r["label"] == "dga"}
    assert infected, "the simulation infected nobody"
    ingest_feed(lake, tmp_path, DAY1)

    sent_at = DAY1 + dt.timedelta(hours=4)
    first = run(db, lake, settings, sent_at)
    db.commit()
    assert len(first.created) == 1 and [o.status for o in first.outcomes] == ["sent"]
    [received] = handler.received
    assert received.recipients == ["it@hosting.example"]
    mail = parts(received.message)
    hosts = {row["host"] for row in csv.DictReader(io.StringIO(mail["csv"]))}
    assert infected | {FEED_HOST} <= hosts
    assert all(h in mail["text"] and h in mail["html"] for h in infected | {FEED_HOST})
    assert "London Regional Cyber Crime Unit" in received.message["From"]

    # eight days on: the same office without infections; the feed still sees one host
    later = analyse_day(lake, DAY9, dga_fraction=0.0, beacon_fraction=0.0,
                        tunnel_fraction=0.0)
    assert not [r for r in later.to_pylist() if r["malicious"]]
    ingest_feed(lake, tmp_path, DAY9)
    second = run(db, lake, settings, DAY9 + dt.timedelta(hours=4))
    db.commit()
    assert second.recheck.checked >= len(infected) + 1
    notice = db.get(Notice, first.created[0])
    assert notice is not None and notice.status == "delivered"
    outcome = {i.host: i.cleanup for i in notice.items}
    assert all(outcome[h] == "remediated" for h in infected)
    assert outcome[FEED_HOST] == "affected"
    # the re-ingested feed host is in a new notice (new event), not a duplicate of the old
    new_items = db.scalars(select(NoticeItem).where(NoticeItem.notice_id != notice.id))
    assert FEED_HOST in {i.host for i in new_items}

    stats = compute(db).to_json()
    london = stats["by_region"]["London"]
    items = [i.cleanup for i in notice.items]
    assert london["remediated"] == items.count("remediated") >= len(infected)
    assert london["affected"] == items.count("affected") >= 1
    assert 0 < london["cleanup_rate"] < 1 and london["median_days_to_cleanup"] == 0.0
