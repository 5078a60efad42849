"""Property tests: one random bad row among good rows never costs a good row, and is
reported (and quarantined) with its own line."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp import taxonomy
from bluelamp.sources.feeds import parse_path
from bluelamp.sources.feeds.pipeline import Ingestor, Quarantine
from bluelamp.sources.feeds.shadowserver import reports

from .conftest import collect

ipv4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(1, 0xFFFF)] * 3).map(
    lambda t: "2001:db8:" + ":".join(f"{x:x}" for x in t) + "::1")
good_ip = st.one_of(ipv4, ipv6)
bad_ip = st.sampled_from(["256.1.1.1", "1.2.3", "1.2.3.4.5", "::g", "host.example", "01.1.1.1"])
bad_port = st.sampled_from(["65536", "-5", "80x", "1e3"])
bad_time = st.sampled_from(["2026-02-30 00:00:00", "20261120", "yesterday", "2026-11-20 25:00"])
SETTINGS = settings(max_examples=25, deadline=None)
FIELDS = reports()["scan_rdp"].fields


def _shadow_row(ip: str, port: str = "3389", when: str = "2026-11-20 10:00:00") -> list[str]:
    values = {"timestamp": when, "ip": ip, "port": port, "asn": "64500", "tag": "rdp"}
    return [values.get(f, "") for f in FIELDS]


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue()


@st.composite
def shadow_case(draw: st.DrawFn) -> tuple[list[str], int, list[str], str]:
    ips = draw(st.lists(good_ip, min_size=1, max_size=30, unique=True))
    at = draw(st.integers(0, len(ips)))
    kind = draw(st.sampled_from(["ip", "port", "time", "short"]))
    if kind == "ip":
        bad = _shadow_row(draw(bad_ip))
    elif kind == "port":
        bad = _shadow_row("192.0.2.1", port=draw(bad_port))
    elif kind == "time":
        bad = _shadow_row("192.0.2.1", when=draw(bad_time))
    else:
        bad = _shadow_row("192.0.2.1")[:5]
    field = {"ip": "source_ip", "port": "source_port", "time": "time_source", "short": ""}[kind]
    return ips, at, bad, field


@SETTINGS
@given(shadow_case())
def test_shadowserver_bad_row_among_good(case: tuple[list[str], int, list[str], str]) -> None:
    ips, at, bad, field = case
    rows = [_shadow_row(ip) for ip in ips]
    rows.insert(at, bad)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2026-11-20-scan_rdp-x.csv"
        path.write_text(_csv([list(FIELDS), *rows]))
        table, errors = collect(parse_path(path, "shadowserver"))
        kept = table.column("source_ip").to_pylist() if table is not None else []
        assert kept == [ip if ":" not in ip else _canon(ip) for ip in ips]
        assert len(errors) == 1
        assert errors[0].location.line == at + 2  # the header is line 1
        assert errors[0].location.field == (field or None)
        # and the quarantine holds it, with its line
        ingestor = Ingestor(None, quarantine=Quarantine(Path(tmp) / "q"))
        ingestor.ingest_path(path, "shadowserver")
        lines = [p.read_text() for p in ingestor.result.quarantined]
        assert len(lines) == 1 and f'"line": {at + 2}' in lines[0]
        assert ingestor.result.by_feed["shadowserver"].events == len(ips)


def _canon(ip: str) -> str:
    import ipaddress

    return str(ipaddress.ip_address(ip))


@SETTINGS
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=20, unique=True),
       st.integers(0, 20), st.sampled_from(["not a url", "ftp:/x", "http//x.example"]))
def test_openphish_bad_line_among_good(ids: list[int], at: int, bad: str) -> None:
    urls = [f"https://p{i}.example.net/login" for i in ids]
    at = min(at, len(urls))
    lines = [*urls[:at], bad, *urls[at:]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.txt"
        path.write_text("\n".join(lines) + "\n")
        table, errors = collect(parse_path(path, "openphish"))
    assert table is not None and table.column("source_url").to_pylist() == urls
    assert [e.location.line for e in errors] == [at + 1]


@SETTINGS
@given(st.lists(ipv4, min_size=1, max_size=20, unique=True), st.integers(0, 20), bad_ip)
def test_cymru_bad_line_among_good(ips: list[str], at: int, bad: str) -> None:
    at = min(at, len(ips))
    body = [f"64500 | {ip} | 2026-11-20 00:00:00 | mirai" for ip in ips]
    body.insert(at, f"64500 | {bad} | 2026-11-20 00:00:00 | mirai")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.txt"
        path.write_text("# ASN | IP | TIME | INFO\n" + "\n".join(body) + "\n")
        table, errors = collect(parse_path(path, "cymru"))
    assert table is not None and table.column("source_ip").to_pylist() == ips
    assert [e.location.line for e in errors] == [at + 2]


@SETTINGS
@given(st.lists(st.integers(0, 2**20), min_size=1, max_size=20, unique=True),
       st.integers(0, 20), st.sampled_from(["10.0.0.0/33", "x/8", "300.0.0.0/8"]))
def test_spamhaus_bad_line_among_good(nets: list[int], at: int, bad: str) -> None:
    cidrs = [f"10.{n >> 12 & 255}.{n >> 4 & 255}.{(n & 15) * 16}/28" for n in nets]
    cidrs = list(dict.fromkeys(cidrs))
    at = min(at, len(cidrs))
    body = [f"{c} ; SBL{i}" for i, c in enumerate(cidrs)]
    body.insert(at, f"{bad} ; SBL0")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drop.txt"
        path.write_text("; Spamhaus DROP List\n" + "\n".join(body) + "\n")
        table, errors = collect(parse_path(path, "spamhaus-drop"))
    assert table is not None and table.column("source_network").to_pylist() == cidrs
    assert [e.location.line for e in errors] == [at + 2]


@SETTINGS
@given(st.lists(ipv4, min_size=1, max_size=20, unique=True), st.integers(0, 20))
def test_urlhaus_short_row_among_good(ips: list[str], at: int) -> None:
    at = min(at, len(ips))
    header = "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
    rows = [f'"{i}","2026-11-20 10:00:00","http://{ip}/x","online","","malware_download",'
            f'"elf","https://urlhaus.abuse.ch/url/{i}/","r"' for i, ip in enumerate(ips)]
    rows.insert(at, '"999","2026-11-20 10:00:00","http://192.0.2.1/x"')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "urlhaus.csv"
        path.write_text("# URLhaus\n#\n" + header + "\n".join(rows) + "\n")
        table, errors = collect(parse_path(path, "urlhaus"))
    assert table is not None and table.column("source_ip").to_pylist() == ips
    assert [e.location.line for e in errors] == [at + 4]
    assert "expected 9 fields" in errors[0].message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=8))
def test_extra_json_round_trips_any_text(values: list[str | None]) -> None:
    import json

    import pyarrow as pa

    from bluelamp.sources.feeds.base import extra_json

    table = pa.table({"a": pa.array(values, pa.string()), "b": ["x"] * len(values)})
    out = extra_json(table, ["a", "b"]).to_pylist()
    for text, value in zip(out, values, strict=True):
        assert json.loads(text) == ({"a": value, "b": "x"} if value else {"b": "x"})


FIELDS_TO_FUZZ = ("source_ip", "source_port", "source_asn", "time_source", "source_fqdn",
                  "source_url", "tlp", "confidence", "source_network", "source_country",
                  "classification_type")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({f: st.one_of(st.none(), st.text(max_size=30))
                                       for f in FIELDS_TO_FUZZ}), min_size=1, max_size=10))
def test_validation_never_raises_and_partitions_rows(rows: list[dict[str, str | None]]) -> None:
    import pyarrow as pa

    from bluelamp.events import validate_events
    from bluelamp.schema import EVENT

    table = pa.table({f: pa.array([r[f] for r in rows], pa.string()) for f in FIELDS_TO_FUZZ})
    good, errors = validate_events(table, "fuzz", feed="fuzz")
    assert good.num_rows + len(errors) == len(rows)
    assert good.schema.equals(EVENT.arrow)
    assert len({e.location.line for e in errors}) == len(errors)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.one_of(ipv4, ipv6, st.from_regex(
    r"[a-z]{1,10}\.example\.(com|net|org)", fullmatch=True)),
    st.sampled_from(["clear", "green", "amber", "red"]),
    st.sampled_from(sorted(taxonomy.PAIRS))),
    min_size=1, max_size=8))
def test_stix_round_trip_property(items: list[tuple[str, str, tuple[str, str]]]) -> None:
    import datetime as dt
    import ipaddress

    import stix2

    marks = {"clear": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER,
             "red": stix2.TLP_RED}
    when = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    objects = []
    for value, tlp, (cls, typ) in items:
        kind = ("domain-name" if value.endswith((".com", ".net", ".org")) else
                "ipv6-addr" if ":" in value else "ipv4-addr")
        objects.append(stix2.Indicator(pattern=f"[{kind}:value = '{value}']",
                                       pattern_type="stix", valid_from=when,
                                       labels=[f"{cls}/{typ}"],
                                       object_marking_refs=[marks[tlp]]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(stix2.Bundle(*objects).serialize())
        table, errors = collect(parse_path(path, "stix"))
    assert errors == [] and table is not None
    got = [(r["source_ip"] or r["source_fqdn"], r["tlp"],
            (r["classification_taxonomy"], r["classification_type"]))
           for r in table.to_pylist()]
    want = [(str(ipaddress.ip_address(v)) if not v.endswith((".com", ".net", ".org")) else v,
             tlp, ct) for v, tlp, ct in items]
    assert got == want
