from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.store.lake import Lake

from .helpers import dns

runner = CliRunner()


def test_prune_removes_whole_old_days(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for days_ago in (0, 5, 100, 200):
        lake.write("dns", dns([{"ts": now - dt.timedelta(days=days_ago), "client": "a"}]))
    (tmp_path / "kind=dns" / "day=garbage").mkdir()  # not ours: left alone
    result = runner.invoke(app, ["lake", "prune", "--keep", "90d", "--kind", "dns",
                                 "--lake", str(tmp_path)])
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["days_removed"]["dns"]
    assert removed == sorted((now - dt.timedelta(days=d)).date().isoformat()
                             for d in (100, 200))
    assert lake.read("dns").num_rows == 2
    assert (tmp_path / "kind=dns" / "day=garbage").exists()


def test_compact_command_and_bad_kind(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for i in range(3):
        lake.write("dns", dns([{"ts": now + dt.timedelta(minutes=i), "client": "a"}]))
    result = runner.invoke(app, ["lake", "compact", "--lake", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files_merged"] == {"dns": 3, "finding": 0, "event": 0}
    assert lake.read("dns").num_rows == 3
    result = runner.invoke(app, ["lake", "compact", "--kind", "nope", "--lake", str(tmp_path)])
    assert result.exit_code != 0
