"""The event model: per-field validation, stable ids, aggregation, findings as events."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from bluelamp import taxonomy
from bluelamp.events import (
    aggregate,
    classify_finding,
    event_ids,
    findings_to_events,
    validate_events,
)
from bluelamp.schema import EVENT, FINDING

from .conftest import OBSERVED


def _one(**fields: object) -> tuple[list[dict[str, object]], list[str]]:
    table = pa.table({k: pa.array([v]) for k, v in fields.items()})
    good, errors = validate_events(table, "t.csv", feed="test", observed=OBSERVED)
    return good.to_pylist(), [str(e) for e in errors]


@pytest.mark.parametrize(("raw", "expected"), [
    ("192.0.2.1", "192.0.2.1"), ("2001:DB8:0:0::1", "2001:db8::1"),
    ("[2001:db8::2]", "2001:db8::2"), (" 10.0.0.1 ", "10.0.0.1")])
def test_ip_addresses_are_normalised(raw: str, expected: str) -> None:
    rows, errors = _one(source_ip=raw)
    assert errors == [] and rows[0]["source_ip"] == expected


@pytest.mark.parametrize(("field", "raw", "reason"), [
    ("source_ip", "192.0.2.256", "not an IPv4 or IPv6 address"),
    ("source_ip", "01.2.3.4", "not an IPv4 or IPv6 address"),
    ("source_port", "65536", "not an integer in 0..65535"),
    ("source_port", "-1", "not an integer"),
    ("source_asn", "AS4294967296", "not an integer in 0..4294967295"),
    ("time_source", "2026-13-40 00:00:00", "not a time"),
    ("time_source", "yesterday", "not a time"),
    ("tlp", "purple", "not a TLP level"),
    ("confidence", "1.5", "not a number in 0..1"),
    ("source_country", "Netherlands", "not an ISO 3166-1"),
    ("source_url", "example.com/path", "not an absolute URL"),
    ("source_network", "10.0.0.0/33", "not a network prefix"),
])
def test_bad_values_are_rejected_with_their_field(field: str, raw: str, reason: str) -> None:
    rows, errors = _one(source_fqdn="ok.example", **{field: raw})
    assert rows == []
    assert len(errors) == 1
    assert errors[0].startswith(f"t.csv:1 [{field}]: feed test:")
    assert reason in errors[0]


def test_accepted_forms() -> None:
    rows, errors = _one(source_ip="192.0.2.1", source_asn="AS64500", tlp="TLP:WHITE",
                        time_source="1700000000", source_fqdn="Bücher.Example.",
                        source_country="nl", confidence="0.5",
                        classification_type="phishing")
    assert errors == []
    row = rows[0]
    assert row["source_asn"] == 64500
    assert row["tlp"] == "clear"
    assert row["time_source"] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert row["source_fqdn"] == "xn--bcher-kva.example"
    assert row["source_country"] == "NL"
    assert row["classification_taxonomy"] == "fraud"  # filled from the type


@pytest.mark.parametrize("when", ["2026-11-20 00:00:05", "2026-11-20T00:00:05Z",
                                  "2026-11-20T01:00:05+01:00", "2026-11-20 00:00:05 UTC",
                                  "1795132805"])
def test_time_forms(when: str) -> None:
    rows, errors = _one(source_ip="192.0.2.1", time_source=when)
    assert errors == []
    assert rows[0]["time_source"] == dt.datetime(2026, 11, 20, 0, 0, 5, tzinfo=dt.UTC)


def test_classification_must_be_a_taxonomy_pair() -> None:
    _, errors = _one(source_ip="192.0.2.1", classification_taxonomy="fraud",
                     classification_type="c2-server")
    assert "ENISA" in errors[0]


def test_event_without_subject_is_an_error() -> None:
    rows, errors = _one(classification_type="spam")
    assert rows == [] and "no subject" in errors[0]


def test_good_rows_survive_bad_neighbours() -> None:
    table = pa.table({"source_ip": ["192.0.2.1", "bad", "192.0.2.3"], "_line": [10, 11, 12]})
    good, errors = validate_events(table, "f", feed="x", observed=OBSERVED)
    assert good.column("source_ip").to_pylist() == ["192.0.2.1", "192.0.2.3"]
    assert [e.location.line for e in errors] == [11]
    assert good.column("raw_ref").to_pylist() == ["f:10", "f:12"]
    assert good.schema.equals(EVENT.arrow)


def test_ids_are_stable_and_depend_on_what_matters() -> None:
    base = {"feed_name": ["f"], "source_ip": ["192.0.2.1"], "classification_type": ["spam"],
            "time_source": pa.array([0], pa.timestamp("us", tz="UTC"))}
    one = event_ids(pa.table(base))
    assert one.equals(event_ids(pa.table(base)))
    for key, value in [("feed_name", ["g"]), ("source_ip", ["192.0.2.2"]),
                       ("classification_type", ["phishing"]),
                       ("time_source", pa.array([1], pa.timestamp("us", tz="UTC")))]:
        assert not one.equals(event_ids(pa.table({**base, key: value}))), key
    # what does not make the event itself (observation time, TLP) leaves the id alone
    assert one.equals(event_ids(pa.table({**base, "tlp": ["red"]})))


def test_aggregate_sums_counts_and_keeps_last_seen() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [{"id": "a", "time_observed": t0, "feed_name": "f", "count": 1,
             "time_last_seen": t0 + dt.timedelta(hours=h)} for h in (1, 3, 2)]
    rows.append({"id": "b", "time_observed": t0, "feed_name": "f", "count": 2,
                 "time_last_seen": t0})
    out = {r["id"]: r for r in aggregate(EVENT.from_rows(rows)).to_pylist()}
    assert out["a"]["count"] == 3 and out["b"]["count"] == 2
    assert out["a"]["time_last_seen"] == t0 + dt.timedelta(hours=3)


def test_findings_become_classified_events() -> None:
    t0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    rows = [
        {"id": "1", "detector": "dga", "type": "dga-infected-client", "subject_kind": "client",
         "subject": "192.0.2.5", "score": 0.9, "first_seen": t0, "last_seen": t0, "count": 4,
         "evidence": '{"names": ["abc.example"]}', "explanation": "x", "tlp": "amber"},
        {"id": "2", "detector": "c2", "type": "c2-beacon", "subject_kind": "domain",
         "subject": "c2.example.org", "score": 0.7, "first_seen": t0, "last_seen": t0,
         "count": 9, "evidence": "{}", "explanation": "y", "tlp": "red"},
        {"id": "3", "detector": "phish", "type": "phishing-domain", "subject_kind": "url",
         "subject": "http://p.example.net/x", "score": 0.5, "first_seen": t0,
         "last_seen": t0, "count": 1, "evidence": "{}", "explanation": "z", "tlp": "green"},
    ]
    events = findings_to_events(FINDING.from_rows(rows), observed=OBSERVED).to_pylist()
    assert [(e["classification_taxonomy"], e["classification_type"]) for e in events] == [
        ("malicious-code", "infected-system"), ("malicious-code", "c2-server"),
        ("fraud", "phishing")]
    assert events[0]["source_ip"] == "192.0.2.5" and events[0]["count"] == 4
    assert events[1]["source_fqdn"] == "c2.example.org" and events[1]["tlp"] == "red"
    assert events[2]["source_url"] == "http://p.example.net/x"
    assert events[0]["feed_name"] == "bluelamp/dga" and events[0]["confidence"] == 0.9
    assert events[0]["raw_ref"] == "finding:1"


def test_every_finding_class_is_in_the_taxonomy() -> None:
    from bluelamp.events import FINDING_CLASSES

    for _, _, cls, typ in FINDING_CLASSES:
        assert taxonomy.is_valid(cls, typ)
    assert classify_finding("something-new", "ip") == ("other", "undetermined")


def test_taxonomy_data() -> None:
    assert taxonomy.class_of("phishing") == "fraud"
    assert taxonomy.is_valid("vulnerable", "vulnerable-system")
    assert not taxonomy.is_valid("vulnerable", "phishing")
    assert len(taxonomy.CLASSES) == 11
