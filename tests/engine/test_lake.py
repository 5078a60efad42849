from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bluelamp.detect.base import Finding, findings_table
from bluelamp.schema import DNS, EVENT
from bluelamp.store.lake import Lake, LakeError

from .helpers import at, dns


def test_write_partitions_by_kind_and_day(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    late_evening = at(23 * 60 + 30)
    paths = lake.write("dns", dns([
        {"ts": late_evening, "client": "a", "qname": "x.example"},
        {"ts": late_evening + dt.timedelta(hours=1), "client": "b", "qname": "y.example"},
    ]))
    rel = sorted(str(p.relative_to(tmp_path).parent) for p in paths)
    assert rel == ["kind=dns/day=2026-03-01", "kind=dns/day=2026-03-02"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_round_trip_keeps_schema_and_values(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    table = dns([{"ts": at(1), "client": "a", "qname": "x.example", "qtype": 1, "rcode": 3,
                  "answers": ["192.0.2.1"]}])
    lake.write("dns", table)
    back = lake.read("dns")
    assert back.schema.equals(DNS.arrow, check_metadata=False)
    assert back.to_pylist() == table.to_pylist()


def test_read_since_and_where(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.write("dns", dns([{"ts": at(24 * 60 * d), "client": f"c{d}"} for d in range(5)]))
    assert lake.read("dns", since=at(2 * 24 * 60)).num_rows == 3
    assert lake.read("dns", where="client = 'c1'").column("client").to_pylist() == ["c1"]


def test_query_with_parameters_and_day_column(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.write("dns", dns([{"ts": at(1), "client": "a"}, {"ts": at(2), "client": "b"}]))
    out = lake.query("SELECT day, count(*) AS n FROM dns WHERE client <> ? GROUP BY day",
                     ["b"])
    assert out.to_pylist() == [{"day": dt.date(2026, 3, 1), "n": 1}]


def test_findings_and_events_and_empty_views(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    assert lake.query("SELECT count(*) AS n FROM event").column("n").to_pylist() == [0]
    f = Finding("d", "t", "client", "a", 0.5, at(0), at(1), 2, {"k": 1}, "why")
    lake.write("finding", findings_table([f]))
    lake.write("event", EVENT.from_rows([{"id": "e1", "time_observed": at(5),
                                          "feed_name": "test"}]))
    assert lake.read("finding").column("id").to_pylist() == [f.id]
    assert lake.read("event").column("feed_name").to_pylist() == ["test"]


def test_errors_are_clear(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    with pytest.raises(LakeError, match="unknown kind"):
        lake.write("nope", dns([]))
    with pytest.raises(LakeError, match="query failed"):
        lake.query("SELECT * FROM no_such_table")
    assert lake.write("dns", dns([])) == []


def test_compact_merges_each_day_and_keeps_rows(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    for i in range(3):
        lake.write("dns", dns([{"ts": at(i), "client": f"c{i}"},
                               {"ts": at(24 * 60 + i), "client": f"d{i}"}]))
    lake.write("dns", dns([{"ts": at(3 * 24 * 60), "client": "alone"}]))
    before = lake.read("dns").sort_by("ts").to_pylist()
    assert lake.compact("dns") == 6
    assert [len(list(d.glob("*.parquet"))) for d in sorted((tmp_path / "kind=dns").iterdir())
            ] == [1, 1, 1]
    assert lake.read("dns").sort_by("ts").to_pylist() == before
    assert lake.compact("dns") == 0


def test_rows_without_time_go_to_the_write_day(tmp_path: Path) -> None:
    from bluelamp.schema import FINDING

    lake = Lake(tmp_path)
    (path,) = lake.write("finding", FINDING.from_rows([{
        "id": "x", "detector": "d", "type": "t", "subject_kind": "ip", "subject": "192.0.2.1",
        "first_seen": None}]))
    assert path.parent.name == f"day={dt.datetime.now(dt.UTC).date().isoformat()}"
    assert lake.query("SELECT count(*) AS n FROM finding").column("n").to_pylist() == [1]
