"""Parquet, CSV and NDJSON in the canonical dns schema."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluelamp.schema import DNS
from bluelamp.sources.base import read_path

T = dt.datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=dt.UTC)
ROWS = [
    dict(ts=T, client="192.0.2.1", client_port=5353, server="192.0.2.53", qname="a.example",
         qtype=1, rcode=0, answers=["192.0.2.7", "b.example"], ttl=60, response_size=80,
         transport="udp", sensor="r1"),
    dict(ts=T + dt.timedelta(seconds=1), client="2001:db8::1", client_port=None, server=None,
         qname="b.example", qtype=28, rcode=None, answers=None, ttl=None, response_size=None,
         transport=None, sensor=None),
    dict(ts=T + dt.timedelta(seconds=2), client="192.0.2.2", client_port=1, server=None,
         qname="c.example", qtype=16, rcode=3, answers=[], ttl=None, response_size=None,
         transport="tcp", sensor=None),
]


def read_all(data: bytes, tmp_path: Path, name: str, fmt: str | None = None
             ) -> tuple[pa.Table, list]:
    path = tmp_path / name
    path.write_bytes(data)
    chunks = list(read_path(path, fmt))
    batches = [c.batch for c in chunks if c.batch is not None]
    return (pa.Table.from_batches(batches, schema=DNS.arrow),
            [e for c in chunks for e in c.errors])


def test_parquet_round_trip_reordered_extra_and_uppercase(tmp_path: Path) -> None:
    table = DNS.from_rows(ROWS)
    shuffled = table.select(list(reversed(table.column_names))).append_column(
        "extra", pa.array([1, 2, 3])).drop_columns(["sensor"])
    shuffled = shuffled.set_column(shuffled.schema.get_field_index("qname"), "qname",
                                   pa.array(["A.Example.", "b.example", "c.example"]))
    buf = io.BytesIO()
    pq.write_table(shuffled, buf)
    got, errors = read_all(buf.getvalue(), tmp_path, "dns.parquet")
    assert errors == []
    want = [{**r, "sensor": None} for r in ROWS]
    assert got.to_pylist() == want


def csv_text(rows: list[dict], answers_style: str = "json") -> str:
    out = ["qname,ts,client,client_port,qtype,rcode,answers,extra"]
    for r in rows:
        ans = r["answers"]
        if ans is None:
            cell = ""
        elif answers_style == "json":
            cell = '"' + json.dumps(ans).replace('"', '""') + '"'
        else:
            cell = ";".join(ans)
        port = "" if r["client_port"] is None else str(r["client_port"])
        rcode = "" if r["rcode"] is None else str(r["rcode"])
        out.append(f'{r["qname"]},{r["ts"].isoformat().replace("+00:00", "Z")},{r["client"]},'
                   f'{port},{r["qtype"]},{rcode},{cell},x')
    return "\n".join(out) + "\n"


def test_csv_json_and_semicolon_answers(tmp_path: Path) -> None:
    for style in ("json", "semicolon"):
        got, errors = read_all(csv_text(ROWS[:2], style).encode(), tmp_path, "dns.csv")
        assert errors == []
        rows = got.to_pylist()
        assert rows[0]["answers"] == ["192.0.2.7", "b.example"] and rows[1]["answers"] is None
        assert rows[0]["ts"] == T and rows[0]["client_port"] == 5353
        assert rows[1]["client_port"] is None and rows[1]["rcode"] is None


def test_csv_epoch_seconds_and_bad_rows(tmp_path: Path) -> None:
    text = ("ts,qname,qtype\n1700000000.5,a.test,1\n1700000001,b.test,99999999\n"
            "nonsense,c.test,1\n1700000002,d.test\n\"unterminated,e.test,1\n1700000003,f.test,5\n")
    got, errors = read_all(text.encode(), tmp_path, "dns.csv")
    assert got.column("qname").to_pylist() == ["a.test", "f.test"]
    assert got.column("ts").to_pylist()[0].timestamp() == 1700000000.5
    assert [(e.location.line, e.location.field) for e in errors] == [
        (3, "qtype"), (4, "ts"), (5, None), (6, None)]


def test_ndjson_iso_and_bad_lines(tmp_path: Path) -> None:
    lines = [json.dumps(DNS.to_json_rows(DNS.from_rows([r]))[0]) for r in ROWS]
    data = "\n".join([lines[0], "{broken", lines[1], '{"ts":"yesterday","qname":"x"}',
                      lines[2]]) + "\n"
    got, errors = read_all(data.encode(), tmp_path, "dns.ndjson")
    assert got.to_pylist() == ROWS
    assert [(e.location.line, e.location.field) for e in errors] == [(2, None), (4, "ts")]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.tuples(st.just("good"), st.from_regex(r"[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True)),
    st.tuples(st.just("bad"), st.text(st.characters(blacklist_characters="\n\r",
                                                    blacklist_categories=("Cs",)),
                                      min_size=1, max_size=50).filter(
        lambda s: s.strip() != "" and s.count(",") != 2))), min_size=1, max_size=30),
       st.sampled_from(["csv", "ndjson"]))
def test_property_text_tabular(tmp_path: Path, items: list, fmt: str) -> None:
    out = io.StringIO()
    if fmt == "csv":
        out.write("ts,qname,qtype\n")
    want, bad = [], []
    for i, (kind, value) in enumerate(items, start=2 if fmt == "csv" else 1):
        if kind == "good":
            out.write(f"{1.7e9 + i},{value},1\n" if fmt == "csv" else json.dumps(
                {"ts": 1.7e9 + i, "qname": value, "qtype": 1}) + "\n")
            want.append(value)
        else:
            out.write(value + "\n")
            bad.append(i)
    got, errors = read_all(out.getvalue().encode(), tmp_path, f"dns.{fmt}", fmt)
    assert got.column("qname").to_pylist() == want
    assert [e.location.line for e in errors] == bad


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 2_000_000_000)),
                          st.integers(-5, 70_000),
                          st.from_regex(r"[A-Za-z0-9]{1,8}\.[a-z]{2,4}\.?", fullmatch=True)),
                min_size=1, max_size=40))
def test_property_parquet_bad_values_are_named_by_row(tmp_path: Path, rows: list) -> None:
    """Parquet with loosely typed columns: rows whose ts is missing or whose port does not
    fit are reported by row number (from 1); the others come out normalised."""
    table = pa.table({
        "ts": pa.array([None if t is None else t * 1_000_000 for t, _, _ in rows],
                       pa.int64()).cast(pa.timestamp("us")),
        "client_port": pa.array([p for _, p, _ in rows], pa.int64()),
        "qname": pa.array([q for _, _, q in rows]),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    got, errors = read_all(buf.getvalue(), tmp_path, "dns.parquet")
    bad = [i for i, (t, p, _) in enumerate(rows, start=1) if t is None or not 0 <= p <= 65535]
    assert sorted(e.location.line for e in errors) == bad
    want = [q.lower().rstrip(".") for i, (_, _, q) in enumerate(rows, start=1) if i not in bad]
    assert got.column("qname").to_pylist() == want
