from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.schema import FINDING

from .helpers import T0, at, dns

runner = CliRunner()


def burst_rows() -> list[dict]:
    rows = [{"ts": at(0, i), "client": "10.6.6.6", "qname": f"x{i}.bad.example", "rcode": 3}
            for i in range(80)]
    rows += [{"ts": at(1, i), "client": f"10.0.0.{i}", "qname": "ok.example", "rcode": 0}
             for i in range(20)]
    rows += [{"ts": at(2), "client": "10.0.0.1", "qname": "www.evil.example", "rcode": 0,
              "answers": ["192.0.2.1"]}]
    return rows


@pytest.fixture
def traffic(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(dns(burst_rows()), folder / "day.parquet")
    return folder


@pytest.fixture
def c2list(tmp_path: Path) -> Path:
    path = tmp_path / "c2.txt"
    path.write_text("evil.example\n")
    return path


def test_analyze_json_shape(traffic: Path, c2list: Path) -> None:
    result = runner.invoke(app, ["analyze", str(traffic), "--json", "--indicators",
                                 str(c2list)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"observations", "errors", "findings", "error_samples", "metrics"}
    assert (doc["observations"], doc["errors"], doc["error_samples"]) == (101, 0, [])
    assert [(f["detector"], f["subject"]) for f in doc["findings"]] == [
        ("indicator-match", "10.0.0.1"), ("nxdomain-burst", "10.6.6.6")]
    assert all(set(f) == set(FINDING.names) for f in doc["findings"])
    nx = doc["findings"][1]
    assert nx["first_seen"] == "2026-03-01T00:00:00Z" and nx["count"] == 80
    assert nx["explanation"].startswith("Client 10.6.6.6 got 80 NXDOMAIN answers")
    assert doc["metrics"]["rows"] == 101


def test_analyze_table_output(traffic: Path) -> None:
    result = runner.invoke(app, ["analyze", str(traffic / "day.parquet")])
    assert result.exit_code == 0, result.output
    assert "1 finding(s)" in result.stdout and "10.6.6.6" in result.stdout


def bad_input(tmp_path: Path) -> Path:
    good = [f"{at(0, i).isoformat()},10.6.6.6,x{i}.example,3" for i in range(60)]
    path = tmp_path / "mixed.txt"
    path.write_text("\n".join([*good[:30], "garbage line", *good[30:]]) + "\n")
    return path


def test_bad_rows_counted_located_and_good_rows_kept(tmp_path: Path,
                                                     lines_reader: str) -> None:
    path = bad_input(tmp_path)
    result = runner.invoke(app, ["analyze", str(path), "-f", lines_reader, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["observations"], doc["errors"]) == (60, 1)
    assert doc["error_samples"][0]["source"] == str(path)
    assert doc["error_samples"][0]["line"] == 31
    assert f"{path}:31" in result.stderr
    assert [f["subject"] for f in doc["findings"]] == ["10.6.6.6"]


def test_strict_exits_non_zero(tmp_path: Path, lines_reader: str) -> None:
    path = bad_input(tmp_path)
    result = runner.invoke(app, ["analyze", str(path), "-f", lines_reader, "--strict"])
    assert result.exit_code == 2
    assert f"{path}:31" in result.stderr
    ok = tmp_path / "ok.txt"
    ok.write_text(f"{T0.isoformat()},a,b.example,0\n")
    assert runner.invoke(app, ["analyze", str(ok), "-f", lines_reader, "--strict"]
                         ).exit_code == 0


def test_missing_input_and_bad_window(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path / "nope.log")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = runner.invoke(app, ["analyze", str(tmp_path), "--window", "soon"])
    assert result.exit_code != 0


def test_analyze_lake_then_query_and_hunt(traffic: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert runner.invoke(app, ["analyze", str(traffic), "--lake", str(lake)]).exit_code == 0
    result = runner.invoke(app, ["query", "--lake", str(lake), "--json",
                                 "SELECT type, count(*) AS n FROM finding GROUP BY type"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"type": "nxdomain-burst", "n": 1}]
    result = runner.invoke(app, ["query", "--lake", str(lake), "--csv",
                                 "SELECT count(*) AS n FROM dns"])
    assert result.stdout.splitlines() == ["n", "101"]
    result = runner.invoke(app, ["hunt", "--lake", str(lake), "--domain", "Evil.Example.",
                                 "--since", "2026-02-01", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{
        "client": "10.0.0.1", "first_seen": "2026-03-01T00:02:00Z",
        "last_seen": "2026-03-01T00:02:00Z", "queries": 1, "names": 1,
        "sample_name": "www.evil.example"}]
    # the since bound excludes older traffic
    result = runner.invoke(app, ["hunt", "--lake", str(lake), "--domain", "evil.example",
                                 "--since", "2026-03-02", "--json"])
    assert json.loads(result.stdout) == []


def test_hunt_does_not_match_lookalikes(tmp_path: Path) -> None:
    from bluelamp.commands.query import hunt_table
    from bluelamp.store.lake import Lake

    lake = Lake(tmp_path)
    lake.write("dns", dns([{"ts": at(1), "client": c, "qname": q} for c, q in [
        ("a", "evil.example"), ("b", "notevil.example"), ("c", "a.b.evil.example"),
        ("d", "evil.example.com")]]))
    got = hunt_table(lake, "evil.example", T0)
    assert sorted(got.column("client").to_pylist()) == ["a", "c"]


def test_query_error_is_clear(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "--lake", str(tmp_path), "SELEC 1"])
    assert result.exit_code == 2 and "query failed" in result.stderr


@pytest.mark.parametrize("command", ["analyze", "query", "hunt", "demo"])
def test_help_has_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"bluelamp {command}" in result.stdout


def test_demo_runs_small(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--clients", "30",
                                 "--hours", "1", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "Simulated" in result.stdout
    assert (tmp_path / "traffic.parquet").exists()
    assert list((tmp_path / "lake" / "kind=dns").glob("day=*/*.parquet"))


def test_unreadable_file_in_a_directory_is_one_error(traffic: Path) -> None:
    (traffic / "README").write_bytes(b"\x00\x01 not dns at all \xff" * 10)
    result = runner.invoke(app, ["analyze", str(traffic), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["observations"], doc["errors"]) == (101, 1)
    assert doc["error_samples"][0]["source"].endswith("README")
    assert [f["subject"] for f in doc["findings"]] == ["10.6.6.6"]
    assert runner.invoke(app, ["analyze", str(traffic), "--strict"]).exit_code == 2


def test_hunt_by_answer_address_and_unicode_domain(tmp_path: Path) -> None:
    from bluelamp.store.lake import Lake

    Lake(tmp_path).write("dns", dns([
        {"ts": at(1), "client": "a", "qname": "c2.example", "answers": ["2001:db8::1"]},
        {"ts": at(2), "client": "b", "qname": "x.xn--bcher-kva.example",
         "answers": ["192.0.2.9", "2001:db8::1"]},
        {"ts": at(3), "client": "c", "qname": "other.example", "answers": ["192.0.2.10"]},
    ]))
    base = ["hunt", "--lake", str(tmp_path), "--since", "2026-01-01", "--json"]
    result = runner.invoke(app, [*base, "--ip", "2001:DB8:0::1"])
    assert result.exit_code == 0, result.output
    assert [r["client"] for r in json.loads(result.stdout)] == ["a", "b"]
    result = runner.invoke(app, [*base, "--domain", "bücher.example"])
    assert [r["client"] for r in json.loads(result.stdout)] == ["b"]
    assert runner.invoke(app, [*base, "--ip", "not-an-ip"]).exit_code != 0
    assert runner.invoke(app, [*base]).exit_code != 0  # neither --domain nor --ip
