"""Zeek dns.log readers: TSV (header-driven) and JSON."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluelamp.schema import DNS
from bluelamp.sources.base import read_path
from bluelamp.sources.zeek import ZeekTsvReader
from bluelamp.sources.zeekjson import ZeekJsonReader

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query",
          "qtype", "rcode", "answers", "TTLs"]


def header(fields: list[str] = FIELDS) -> str:
    return ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
            "#path\tdns\n#fields\t" + "\t".join(fields) + "\n#types\t"
            + "\t".join("string" for _ in fields) + "\n")


def line(ts: float, query: str, fields: list[str] = FIELDS, **over: str) -> str:
    values = {"ts": f"{ts:.6f}", "uid": "Cabc", "id.orig_h": "192.0.2.1", "id.orig_p": "5353",
              "id.resp_h": "192.0.2.53", "id.resp_p": "53", "proto": "udp", "query": query,
              "qtype": "1", "rcode": "0", "answers": "192.0.2.7,a.example",
              "TTLs": "60.000000,30.000000", **over}
    return "\t".join(values[f] for f in fields) + "\n"


def read_all(data: bytes, fmt: str, tmp_path: Path, name: str = "dns.log"
             ) -> tuple[pa.Table, list]:
    path = tmp_path / name
    path.write_bytes(data)
    batches, errors = [], []
    for chunk in read_path(path, fmt):
        if chunk.batch is not None:
            assert chunk.batch.schema.equals(DNS.arrow)
            batches.append(chunk.batch)
        errors += chunk.errors
    table = pa.Table.from_batches(batches, schema=DNS.arrow)
    return table, errors


def test_real_zeek_baselines_are_read_with_one_masked_error(fixtures: Path) -> None:
    path = fixtures / "zeek" / "opt.basic.dns.log"
    chunks = list(read_path(path))  # auto-detected
    table = pa.Table.from_batches([c.batch for c in chunks if c.batch is not None])
    errors = [e for c in chunks for e in c.errors]
    assert table.num_rows == 34
    assert len(errors) == 1 and errors[0].location.field == "ts"
    assert "34 rows have masked timestamps" in errors[0].message
    assert errors[0].location.line == 10
    first = table.slice(3, 1).to_pylist()[0]
    assert first["qname"] == "upload.wikimedia.org" and first["qtype"] == 28
    assert first["client"] == "141.142.220.118" and first["client_port"] == 43927
    assert first["rcode"] == 0 and first["transport"] == "udp"
    answered = table.slice(5, 1).to_pylist()[0]
    assert answered["answers"] == ["upload.pmtpa.wikimedia.org", "208.80.152.3"]
    assert answered["ttl"] == 124
    # upper-case NetBIOS names are folded
    assert "brwc0cb383d1f42" in table.column("qname").to_pylist()
    # unanswered query: rcode "-" is null
    assert table.slice(0, 1).to_pylist()[0]["rcode"] is None


def test_columns_in_any_order_several_headers_and_extra_missing(tmp_path: Path) -> None:
    other = ["query", "extra", "ts", "id.orig_h"]  # reordered, one unknown, several missing
    data = (header() + line(1.5, "A.example.") + "#close\t2026\n"
            + header(other) + "Q.Example\tfoo\t2.25\t198.51.100.9\n")
    table, errors = read_all(data.encode(), "zeek", tmp_path)
    assert errors == []
    rows = table.to_pylist()
    assert [r["qname"] for r in rows] == ["a.example", "q.example"]
    assert rows[1]["client"] == "198.51.100.9" and rows[1]["qtype"] is None
    assert rows[1]["ts"].timestamp() == 2.25
    assert rows[0]["answers"] == ["192.0.2.7", "a.example"] and rows[0]["ttl"] == 30


def test_unset_and_empty_sets(tmp_path: Path) -> None:
    data = header() + line(3, "x.test", answers="-", TTLs="-") + line(
        4, "y.test", answers="(empty)", TTLs="(empty)")
    table, errors = read_all(data.encode(), "zeek", tmp_path)
    assert errors == []
    assert table.column("answers").to_pylist() == [None, []]
    assert table.column("ttl").to_pylist() == [None, None]


def test_wrong_fields_header_is_reported_once_and_later_blocks_still_read(tmp_path: Path
                                                                          ) -> None:
    bad = ["when", "name"]
    data = header(bad) + "1\ta\n2\tb\n" + header() + line(5, "ok.test")
    table, errors = read_all(data.encode(), "zeek", tmp_path)
    assert table.column("qname").to_pylist() == ["ok.test"]
    assert [e.location.line for e in errors] == [6, 8]
    assert "no ts, query column" in errors[0].message
    assert "2 data lines skipped" in errors[1].message


def test_bad_values_are_located_by_line_and_field(tmp_path: Path) -> None:
    data = (header() + line(1, "a.test") + line(1, "b.test", **{"id.orig_p": "70000"})
            + line(1, "c.test", qtype="AAAA") + "XXXXXXXXXX\n"
            + line(1, "d.test", TTLs="abc") + line(1, "e.test"))
    data_bytes = data.encode() + b"1.0\tC\t1.2.3.4\t1\t1.2.3.4\t53\tudp\t\xff\xfe\t1\t0\t-\t-\n"
    table, errors = read_all(data_bytes, "zeek", tmp_path)
    assert table.column("qname").to_pylist() == ["a.test", "e.test"]
    got = [(e.location.line, e.location.field) for e in errors]
    assert got == [(9, "id.orig_p"), (10, "qtype"), (11, None), (12, "TTLs"), (14, None)]
    assert "not UTF-8" in errors[-1].message
    assert all(e.location.source.endswith("dns.log") for e in errors)


def test_very_long_line_is_skipped_and_neighbours_kept(tmp_path: Path) -> None:
    data = header() + line(1, "a.test") + "z" * (3 << 20) + "\n" + line(2, "b.test")
    table, errors = read_all(data.encode(), "zeek", tmp_path)
    assert table.column("qname").to_pylist() == ["a.test", "b.test"]
    assert [e.location.line for e in errors] == [9]
    assert "longer than" in errors[0].message


def test_gzip_and_crlf(tmp_path: Path) -> None:
    data = (header() + line(1, "a.test")).replace("\n", "\r\n").encode()
    table, errors = read_all(gzip.compress(data), "zeek", tmp_path, "dns.log.gz")
    assert table.column("qname").to_pylist() == ["a.test"] and errors == []


def test_zeek_escapes_in_names(tmp_path: Path) -> None:
    data = header() + line(1, "a\\x2eb.Test") + line(1, "b\\xc3\\xbccher.de")
    table, _ = read_all(data.encode(), "zeek", tmp_path)
    # escaped bytes are wire bytes: kept escaped (as the wire decoder renders them)
    assert table.column("qname").to_pylist() == ["a\\.b.test", "b\\195\\188cher.de"]


# ------------------------------------------------------------------------------ property test
good_names = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,3}", fullmatch=True)
cell = st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)),
               max_size=12)
garbage = st.one_of(
    st.text(st.characters(blacklist_characters="\t\n\r#", blacklist_categories=("Cs",)),
            min_size=1, max_size=60).filter(lambda s: s.strip() != ""),
    # the right number of fields, but a ts that is no time
    st.lists(cell, min_size=len(FIELDS) - 1, max_size=len(FIELDS) - 1).map(
        lambda cells: "\t".join(["not-a-time", *cells])),
    st.binary(min_size=1, max_size=40).filter(
        lambda b: b"\n" not in b and b.strip() != b"" and not b.startswith(b"#")),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.tuples(st.just("good"), good_names,
                                    st.floats(1e9, 2e9, allow_nan=False)),
                          st.tuples(st.just("bad"), garbage, st.just(0.0))),
                min_size=1, max_size=40))
def test_property_good_rows_survive_and_bad_lines_are_named(tmp_path: Path, items: list
                                                            ) -> None:
    out = io.BytesIO()
    out.write(header().encode())
    line_no = 7
    want_names, bad_lines = [], []
    for kind, value, ts in items:
        line_no += 1
        if kind == "good":
            out.write(line(ts, value).encode())
            want_names.append(value)
        else:
            raw = value if isinstance(value, bytes) else value.encode()
            out.write(raw + b"\n")
            bad_lines.append(line_no)
    table, errors = read_all(out.getvalue(), "zeek", tmp_path)
    assert table.column("qname").to_pylist() == want_names
    assert sorted(e.location.line for e in errors) == bad_lines


# ------------------------------------------------------------------------------ JSON
def json_line(ts: float | str, query: str, **extra: object) -> str:
    obj = {"ts": ts, "uid": "C1", "id.orig_h": "192.0.2.1", "id.orig_p": 5353,
           "id.resp_h": "192.0.2.53", "id.resp_p": 53, "proto": "udp", "query": query,
           "qtype": 28, "rcode": 3, "answers": ["2001:db8::1"], "TTLs": [300.0], **extra}
    return json.dumps(obj) + "\n"


def test_zeek_json_epoch_and_iso(tmp_path: Path) -> None:
    table, errors = read_all((json_line(1700000000.25, "A.Test") * 2).encode(), "zeek-json",
                             tmp_path)
    assert errors == [] and table.num_rows == 2
    row = table.to_pylist()[0]
    assert row["ts"].timestamp() == 1700000000.25 and row["qname"] == "a.test"
    assert row["qtype"] == 28 and row["rcode"] == 3 and row["ttl"] == 300
    assert row["answers"] == ["2001:db8::1"] and row["client_port"] == 5353
    iso, errors = read_all(json_line("2023-11-14T22:13:20.250000Z", "b.test").encode(),
                           "zeek-json", tmp_path)
    assert errors == [] and iso.to_pylist()[0]["ts"].timestamp() == 1700000000.25


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.tuples(st.just("good"), good_names),
                          st.tuples(st.just("bad"), garbage)), min_size=1, max_size=30))
def test_property_zeek_json(tmp_path: Path, items: list) -> None:
    out, want, bad = io.BytesIO(), [], []
    for i, (kind, value) in enumerate(items, start=1):
        if kind == "good":
            out.write(json_line(1.6e9 + i, value).encode())
            want.append(value)
        else:
            out.write((value if isinstance(value, bytes) else value.encode()) + b"\n")
            bad.append(i)
    table, errors = read_all(out.getvalue(), "zeek-json", tmp_path)
    assert table.column("qname").to_pylist() == want
    assert sorted(e.location.line for e in errors) == bad


def test_sniffers() -> None:
    tsv, js = ZeekTsvReader(), ZeekJsonReader()
    assert tsv.sniff(header().encode()) and not js.sniff(header().encode())
    assert js.sniff(json_line(1, "a").encode()) and not tsv.sniff(json_line(1, "a").encode())


def test_blank_lines_keep_line_numbers_and_set_escapes(tmp_path: Path) -> None:
    data = (header() + line(1, "a.test") + "\n\n" + line(2, "b.test", answers="x\\x2cy,z")
            + "bad\n")
    table, errors = read_all(data.encode(), "zeek", tmp_path)
    assert table.column("qname").to_pylist() == ["a.test", "b.test"]
    assert table.column("answers").to_pylist()[1] == ["x,y", "z"]
    assert [e.location.line for e in errors] == [12]


def test_other_separator_and_unusable_separator(tmp_path: Path) -> None:
    comma = "#separator ,\n#fields,ts,query\n1.5,a.test\n"
    table, errors = read_all(comma.encode(), "zeek", tmp_path)
    assert table.column("qname").to_pylist() == ["a.test"] and errors == []
    double = "#separator \\x09\\x09\n#fields\t\tts\t\tquery\n1.5\t\ta.test\n"
    table, errors = read_all(double.encode(), "zeek", tmp_path)
    assert table.num_rows == 0
    assert [e.location.line for e in errors] == [2, 3]
    assert "unsupported #separator" in errors[0].message
