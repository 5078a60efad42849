"""Column drift in Shadowserver reports: renamed, added, missing and reordered columns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa

from bluelamp.sources.feeds import parse_path
from bluelamp.sources.feeds.shadowserver import report_from_filename, report_from_header

from .conftest import SAMPLES, collect

SAMPLE = SAMPLES / "2026-11-20-scan_rdp-example-geo.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text())))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([header, *rows])
    return path


def _parse(path: Path) -> tuple[pa.Table, list[object]]:
    table, errors = collect(parse_path(path, "shadowserver"))
    assert table is not None
    return table, errors


def _core(table: pa.Table) -> list[tuple[object, ...]]:
    cols = ["id", "source_ip", "source_port", "source_asn", "time_source",
            "classification_type", "feed_report_type"]
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def test_reordered_columns_give_the_same_events(tmp_path: Path) -> None:
    header, rows = _rows()
    order = list(reversed(range(len(header))))
    moved = _write(tmp_path / SAMPLE.name, [header[i] for i in order],
                   [[r[i] for i in order] for r in rows])
    base, _ = _parse(SAMPLE)
    table, errors = _parse(moved)
    assert errors == []
    assert _core(table) == _core(base)
    extras = [json.loads(x) for x in table.column("extra").to_pylist()]
    assert extras == [json.loads(x) for x in base.column("extra").to_pylist()]


def test_added_column_goes_to_extra(tmp_path: Path) -> None:
    header, rows = _rows()
    added = _write(tmp_path / SAMPLE.name, [*header[:3], "new_thing", *header[3:]],
                   [[*r[:3], f"v{i}", *r[3:]] for i, r in enumerate(rows)])
    table, errors = _parse(added)
    assert errors == []
    assert _core(table) == _core(_parse(SAMPLE)[0])
    assert [json.loads(x)["new_thing"] for x in table.column("extra").to_pylist()] == ["v0",
                                                                                      "v1"]


def test_missing_column_leaves_its_field_empty(tmp_path: Path) -> None:
    header, rows = _rows()
    drop = header.index("asn")
    missing = _write(tmp_path / SAMPLE.name, [h for i, h in enumerate(header) if i != drop],
                     [[v for i, v in enumerate(r) if i != drop] for r in rows])
    table, errors = _parse(missing)
    assert errors == []
    assert table.column("source_asn").null_count == 2
    assert table.column("source_ip").to_pylist() == ["192.0.2.10", "198.51.100.7"]


def test_renamed_column_to_a_known_alias(tmp_path: Path) -> None:
    header, rows = _rows()
    renamed = _write(tmp_path / SAMPLE.name, ["src_ip" if h == "ip" else h for h in header],
                     rows)
    table, errors = _parse(renamed)
    assert errors == []
    assert table.column("source_ip").to_pylist() == ["192.0.2.10", "198.51.100.7"]


def test_renamed_unknown_column_is_kept_not_guessed(tmp_path: Path) -> None:
    header, rows = _rows()
    renamed = _write(tmp_path / SAMPLE.name, ["ip_addr" if h == "ip" else h for h in header],
                     rows)
    table, errors = _parse(renamed)
    assert errors == []  # the ASN still names a subject
    assert table.column("source_ip").null_count == 2
    assert [json.loads(x)["ip_addr"] for x in table.column("extra").to_pylist()] == [
        "192.0.2.10", "198.51.100.7"]


def test_report_type_from_header_when_the_name_says_nothing(tmp_path: Path) -> None:
    header, rows = _rows()
    plain = _write(tmp_path / "report.csv", header, rows)
    table, errors = _parse(plain)
    assert errors == []
    assert set(table.column("feed_report_type").to_pylist()) == {"scan_rdp"}
    # a drifted header (one column gone, one new) still matches best
    report, score = report_from_header([h for h in header if h != "jarm"] + ["extra_col"])
    assert report is not None and report.key == "scan_rdp" and score > 0.9


def test_report_names_from_file_names() -> None:
    for name, key in [("2026-11-20-scan_rdp-nl-geo.csv", "scan_rdp"),
                      ("2026-11-20-scan6_http_vulnerable-x.csv", "scan6_http_vulnerable"),
                      ("2026-11-20-event4_sinkhole_http-y-geo.csv", "event4_sinkhole_http"),
                      ("2026-11-20-scan_http.csv", "scan_http")]:
        report = report_from_filename(name)
        assert report is not None and report.key == key, name
    assert report_from_filename("notes.csv") is None


def test_every_report_type_is_classified() -> None:
    from bluelamp import taxonomy
    from bluelamp.sources.feeds.shadowserver import reports

    assert len(reports()) >= 170
    for rep in reports().values():
        assert taxonomy.is_valid(rep.taxonomy, rep.type), rep.key
    by_key = reports()
    assert (by_key["scan6_rdp"].taxonomy, by_key["scan6_rdp"].type) == (
        "vulnerable", "vulnerable-system")
    assert by_key["event6_sinkhole_http"].type == "infected-system"
