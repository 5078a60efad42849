"""BIND 9 query log reader."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluelamp.schema import DNS
from bluelamp.sources.base import read_path
from bluelamp.sources.bind import BindQueryLogReader

# Real-format lines: 9.11+ with pointer and view, 9.16+ with ECS, 9.9/9.10 form without
# pointer or name echo, syslog prefixes, print-time iso8601(-utc).
SAMPLES = [
    ("21-Nov-2026 09:00:00.123 queries: info: client @0x7f3a2c0d8e10 192.0.2.1#53421 "
     "(Example.com): view internal: query: Example.com IN A +E(0)K (192.0.2.53)",
     dict(client="192.0.2.1", client_port=53421, server="192.0.2.53", qname="example.com",
          qtype=1, transport="udp"), "2026-11-21T09:00:00.123000+00:00"),
    ("21-Nov-2026 09:00:01.500 client @0x7f3a2c0d8e10 2001:db8::5#1234 (a\\032b.test): "
     "query: a\\032b.test IN AAAA -SE(0)TDC (2001:db8::53) [ECS 192.0.2.0/24/0]",
     dict(client="2001:db8::5", qname="a\\032b.test", qtype=28, transport="tcp"),
     "2026-11-21T09:00:01.500000+00:00"),
    ("06-Jul-2022 11:12:04.202 client 192.168.250.115#51530: view authoritative: query: "
     "definitionupdates.microsoft.com IN NS -EDC (192.168.250.112)",
     dict(qname="definitionupdates.microsoft.com", qtype=2), "2022-07-06T11:12:04.202000+00:00"),
    ("2026-11-21T09:00:03.250Z queries: info: client @0x1 192.0.2.2#99 (y.test): query: "
     "y.test IN MX + (192.0.2.53)", dict(qtype=15, client_port=99),
     "2026-11-21T09:00:03.250000+00:00"),
    ("2026-11-21T10:00:03.250+01:00 client @0x1 192.0.2.2#99 (y.test): query: y.test IN "
     "TYPE65534 + (192.0.2.53)", dict(qtype=65534), "2026-11-21T09:00:03.250000+00:00"),
]


def read_all(data: bytes, tmp_path: Path, fmt: str | None = "bind") -> tuple[pa.Table, list]:
    path = tmp_path / "query.log"
    path.write_bytes(data)
    chunks = list(read_path(path, fmt))
    batches = [c.batch for c in chunks if c.batch is not None]
    return (pa.Table.from_batches(batches, schema=DNS.arrow),
            [e for c in chunks for e in c.errors])


def test_real_format_lines(tmp_path: Path) -> None:
    data = "\n".join(s for s, _, _ in SAMPLES) + "\n"
    table, errors = read_all(data.encode(), tmp_path, fmt=None)  # auto-detected
    assert errors == []
    rows = table.to_pylist()
    assert len(rows) == len(SAMPLES)
    for row, (_, want, ts) in zip(rows, SAMPLES, strict=True):
        assert row["ts"].isoformat() == ts
        assert {k: row[k] for k in want} == want
        assert row["rcode"] is None and row["answers"] is None and row["sensor"] == "query.log"


def test_syslog_prefix_assumes_a_recent_year(tmp_path: Path) -> None:
    line = ("<30>Jan  2 09:00:02 ns1 named[1234]: queries: info: client @0x7f3a 192.0.2.9#53 "
            "(x.test): query: x.test CH TXT + (192.0.2.53)\n")
    table, errors = read_all(line.encode(), tmp_path)
    assert errors == []
    ts = table.to_pylist()[0]["ts"]
    assert (ts.month, ts.day, ts.hour) == (1, 2, 9)
    import datetime as dt

    assert ts <= dt.datetime.now(dt.UTC) + dt.timedelta(days=2)


def test_bad_lines_are_named(tmp_path: Path) -> None:
    good = SAMPLES[0][0]
    data = (good + "\ngarbage\n" + good.replace("#53421", "#99999") + "\n\n"
            + good.replace("21-Nov", "99-Foo") + "\n").encode() + b"\xff" + good.encode()
    table, errors = read_all(data + b"\n" + good.encode(), tmp_path)
    assert table.num_rows == 2
    assert [(e.location.line, e.location.field) for e in errors] == [
        (2, None), (3, "port"), (5, "ts"), (6, None)]
    assert "not UTF-8" in errors[-1].message


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.tuples(st.just("good"), st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{1,8}){1,3}",
                                             fullmatch=True)),
    st.tuples(st.just("bad"), st.text(st.characters(blacklist_characters="\n\r",
                                                    blacklist_categories=("Cs",)),
                                      min_size=1, max_size=80).filter(
        lambda s: s.strip() != "" and "query:" not in s))), min_size=1, max_size=30))
def test_property_bind(tmp_path: Path, items: list) -> None:
    out, want, bad = io.BytesIO(), [], []
    for i, (kind, value) in enumerate(items, start=1):
        if kind == "good":
            out.write((f"21-Nov-2026 09:00:{i % 60:02d}.000 client @0x1 192.0.2.1#53 ({value}): "
                       f"query: {value} IN A + (192.0.2.53)\n").encode())
            want.append(value)
        else:
            out.write(value.encode() + b"\n")
            bad.append(i)
    table, errors = read_all(out.getvalue(), tmp_path)
    assert table.column("qname").to_pylist() == want
    assert [e.location.line for e in errors] == bad


def test_sniff() -> None:
    reader = BindQueryLogReader()
    assert reader.sniff(SAMPLES[0][0].encode())
    assert not reader.sniff(b"#separator \\x09\n#fields\tts\tquery\n")
