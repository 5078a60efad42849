import datetime as dt

import pyarrow as pa
import pytest

from bluelamp.schema import DNS, EVENT, FINDING, SCHEMAS, dumps


def test_every_field_is_documented() -> None:
    for schema in SCHEMAS.values():
        assert len(set(schema.names)) == len(schema.names), schema.name
        for f in schema.fields:
            assert f.description.strip(), f"{schema.name}.{f.name} has no description"
            assert schema.arrow.field(f.name).metadata[b"description"]


def test_conform_reorders_fills_and_casts() -> None:
    table = pa.table({"qname": ["example.com"], "ts": pa.array([0], pa.int64()).cast(
        pa.timestamp("us", tz="UTC")), "qtype": pa.array([1], pa.int64()), "junk": [1]})
    out = DNS.conform(table)
    assert out.schema.equals(DNS.arrow)
    assert out.column("qtype").to_pylist() == [1]
    assert out.column("rcode").null_count == 1


def test_conform_refuses_lossy_casts() -> None:
    table = pa.table({"ts": pa.array([0], pa.timestamp("us", tz="UTC")),
                      "qtype": pa.array([70000], pa.int64())})
    with pytest.raises(pa.ArrowInvalid):
        DNS.conform(table)


def test_json_rows_use_iso_utc() -> None:
    ts = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    table = FINDING.from_rows([{"id": "x", "detector": "d", "type": "t", "subject_kind": "ip",
                                "subject": "192.0.2.1", "first_seen": ts}])
    row = FINDING.to_json_rows(table)[0]
    assert row["first_seen"] == "2026-01-02T03:04:05Z"
    assert dumps(row)


def test_json_schema_covers_fields() -> None:
    doc = EVENT.json_schema()
    assert set(doc["properties"]) == set(EVENT.names)


def test_is_decimal_accepts_only_ascii_digits() -> None:
    from bluelamp.textutil import is_decimal

    assert is_decimal("64500")
    for text in ("", "¹", "٣", "12a", " 1", "-1", "1.0"):
        assert not is_decimal(text), text
