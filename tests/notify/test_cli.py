"""`bluelamp notify contacts | run | bounce | stats` against a settings file, a lake and a
real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.store.lake import Lake
from notify.conftest import SmtpHandler
from notify.helpers import add_org, event, write_events
from notify.test_bounces import make_dsn


def _config(tmp_path: Path, db_url: str, lake: Lake, port: int) -> Path:
    path = tmp_path / "bluelamp.toml"
    path.write_text(f"""
[database]
url = "{db_url}"
[lake]
path = "{lake.root}"
[notify]
smtp_host = "127.0.0.1"
smtp_port = {port}
link_secret = "cli-test-secret"
auto_send_types = ["infected-system"]
auto_send_min_confidence = 0.5
interval_hours = 0

[[notify.units]]
id = "london-unit"
name = "London Regional Cyber Crime Unit"
regions = ["London"]
email = "cyber@london-unit.example"
signature = "London Regional Cyber Crime Unit"
""")
    return path


def test_contacts_run_bounce_stats(db: Session, db_url: str, lake: Lake, tmp_path: Path,
                                   smtp: tuple[SmtpHandler, int]) -> None:
    handler, port = smtp
    add_org(db, contacts=())
    config = str(_config(tmp_path, db_url, lake, port))
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(app, [*args, "--config", config])
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    out = cli("notify", "contacts", "Hosting Co", "first@hosting.example",
              "second@hosting.example")
    assert "0: first@hosting.example" in out and "1: second@hosting.example" in out
    write_events(lake, event("e1", dt.datetime.now(dt.UTC)))
    dry = json.loads(cli("notify", "run", "--dry-run", "--json"))
    assert dry["would_notify"][0]["hosts"] == ["198.51.100.7"] and handler.received == []
    report = json.loads(cli("notify", "run", "--json"))
    assert [d["status"] for d in report["deliveries"]] == ["sent"]
    [sent] = handler.received
    dsn = tmp_path / "bounce.eml"
    dsn.write_bytes(make_dsn("first@hosting.example", notice_id=sent.message["X-Bluelamp-Notice"],
                             message_id=sent.message["Message-ID"]))
    out = cli("notify", "bounce", str(dsn))
    assert "failed first@hosting.example" in out and "sent second@hosting.example" in out
    assert [r.recipients for r in handler.received][-1] == ["second@hosting.example"]
    stats = json.loads(cli("notify", "stats", "--json"))
    assert stats["funnel"]["sent"] == 1 and stats["by_region"]["London"]["notified"] == 1
    assert "bounced" in cli("notify", "contacts", "Hosting Co")
    bad = runner.invoke(app, ["notify", "bounce", str(tmp_path / "bluelamp.toml"),
                              "--config", config])
    assert bad.exit_code == 1 and "not a delivery status notification" in bad.output
