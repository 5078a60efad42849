"""The field dictionary: every record kind is declared here once.

Arrow schemas, JSON mappings and SQL columns are derived from these declarations; no other
module restates a field list by hand. Add a field here and every reader, writer and API that
is schema-driven picks it up.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Field:
    """One named, typed, documented field."""

    name: str
    type: pa.DataType
    description: str
    nullable: bool = True

    @cached_property
    def arrow(self) -> pa.Field:
        return pa.field(
            self.name,
            self.type,
            nullable=self.nullable,
            metadata={"description": self.description},
        )


@dataclass(frozen=True)
class RecordSchema:
    """A record kind: its fields in order, and the mappings derived from them."""

    name: str
    description: str
    fields: tuple[Field, ...]

    @cached_property
    def arrow(self) -> pa.Schema:
        return pa.schema([f.arrow for f in self.fields], metadata={"bluelamp.kind": self.name})

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def empty_table(self) -> pa.Table:
        return self.arrow.empty_table()

    def conform(self, data: pa.Table | pa.RecordBatch) -> pa.Table:
        """Return `data` with exactly this schema: columns reordered, missing ones null,
        types cast (safely: a lossy cast raises). Extra columns are dropped."""
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        columns = []
        for f in self.fields:
            if f.name in table.column_names:
                col = table.column(f.name)
                if not col.type.equals(f.type):
                    col = col.cast(f.type)
                columns.append(col)
            else:
                columns.append(pa.nulls(table.num_rows, type=f.type))
        return pa.Table.from_arrays(columns, schema=self.arrow)

    def from_rows(self, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
        """Build a table from Python mappings (for small data: tests, findings, APIs)."""
        rows = list(rows)
        return pa.Table.from_pylist(
            [{name: row.get(name) for name in self.names} for row in rows], schema=self.arrow
        )

    def to_json_rows(self, data: pa.Table | pa.RecordBatch) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts: timestamps as ISO 8601 UTC strings."""
        return [{k: json_value(v) for k, v in row.items()} for row in data.to_pylist()]

    def json_schema(self) -> dict[str, Any]:
        """A JSON Schema document for one row (used by the HTTP API and docs)."""
        return {
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": {
                f.name: {**_json_type(f.type), "description": f.description} for f in self.fields
            },
        }

    def markdown(self) -> str:
        """A Markdown table of the fields, for docs/schema.md."""
        lines = [f"### `{self.name}`", "", self.description, "", "| field | type | description |",
                 "| --- | --- | --- |"]
        lines += [f"| `{f.name}` | `{f.type}` | {f.description} |" for f in self.fields]
        return "\n".join(lines) + "\n"


def json_value(value: Any) -> Any:
    """Convert one Arrow-produced Python value into something `json.dumps` accepts."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def _json_type(t: pa.DataType) -> dict[str, Any]:
    if pa.types.is_timestamp(t):
        return {"type": ["string", "null"], "format": "date-time"}
    if pa.types.is_integer(t):
        return {"type": ["integer", "null"]}
    if pa.types.is_floating(t):
        return {"type": ["number", "null"]}
    if pa.types.is_boolean(t):
        return {"type": ["boolean", "null"]}
    if pa.types.is_list(t):
        return {"type": ["array", "null"], "items": _json_type(t.value_type)}
    return {"type": ["string", "null"]}


def dumps(obj: Any) -> str:
    """Compact, deterministic JSON used for evidence columns and API payloads."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, default=json_value)


# --------------------------------------------------------------------------------------------
# dns: one DNS transaction (a query, and its response where the source saw one)
# --------------------------------------------------------------------------------------------
DNS = RecordSchema(
    "dns",
    "One DNS query and, where the source saw it, its response. A reader fills what its "
    "format carries and leaves the rest null.",
    (
        Field("ts", TIMESTAMP, "Time the query was seen (UTC, microseconds).", nullable=False),
        Field("client", pa.string(), "Client address (or a stable pseudonym when anonymised)."),
        Field("client_port", pa.uint16(), "Client source port."),
        Field("server", pa.string(), "Resolver or server address that answered."),
        Field("qname", pa.string(),
              "Query name: lower-case, no trailing dot, IDNA (A-label) form; bytes that are "
              "not printable ASCII are escaped as \\DDD as in zone files."),
        Field("qtype", pa.uint16(), "Query type code (1 = A, 28 = AAAA, 16 = TXT, ...)."),
        Field("rcode", pa.uint8(), "Response code (0 NOERROR, 3 NXDOMAIN, ...); null when "
              "only the query was seen."),
        Field("answers", pa.list_(pa.string()),
              "Answer RDATA in presentation form (addresses, target names), in order."),
        Field("ttl", pa.uint32(), "Smallest TTL among the answers."),
        Field("response_size", pa.uint32(), "Size of the DNS response message in bytes."),
        Field("transport", pa.string(), "udp, tcp, dot, doh or doq."),
        Field("sensor", pa.string(), "Which resolver, tap or log file produced the record."),
    ),
)

# --------------------------------------------------------------------------------------------
# finding: what a detector concluded
# --------------------------------------------------------------------------------------------
SUBJECT_KINDS = ("ip", "domain", "url", "client")
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")

FINDING = RecordSchema(
    "finding",
    "A detector's conclusion about one subject in one window, with its evidence.",
    (
        Field("id", pa.string(), "Stable id: a hash of detector, subject and window start.",
              nullable=False),
        Field("detector", pa.string(), "Name of the detector that produced it.", nullable=False),
        Field("type", pa.string(),
              "What was found (e.g. dga-infected-client, c2-beacon, dns-tunnel).",
              nullable=False),
        Field("subject_kind", pa.string(), "ip, domain, url or client.", nullable=False),
        Field("subject", pa.string(), "The client, domain, IP or URL the finding is about.",
              nullable=False),
        Field("score", pa.float64(), "Confidence 0..1 that the finding is real."),
        Field("first_seen", TIMESTAMP, "First observation that contributed."),
        Field("last_seen", TIMESTAMP, "Last observation that contributed."),
        Field("count", pa.int64(), "Observations that contributed."),
        Field("evidence", pa.string(),
              "JSON object: the features, counts and sample names behind the finding."),
        Field("explanation", pa.string(), "One sentence a person can read and act on."),
        Field("tlp", pa.string(), "Traffic Light Protocol 2.0 level: clear, green, amber, "
              "amber+strict or red."),
        Field("sensor", pa.string(), "Sensor(s) whose traffic produced it."),
    ),
)

# --------------------------------------------------------------------------------------------
# event: one normalised threat event, from our findings or from an external feed.
# Close to IntelMQ's harmonisation so CERT tooling maps onto it; classification follows the
# ENISA Reference Incident Classification Taxonomy.
# --------------------------------------------------------------------------------------------
EVENT = RecordSchema(
    "event",
    "A normalised threat event (from a feed or from a finding), classified with the ENISA "
    "reference incident taxonomy and attributed to the owner of the affected system.",
    (
        Field("id", pa.string(), "Stable id: hash of feed, classification, subject and "
              "source time, so that re-ingesting the same row gives the same id.",
              nullable=False),
        Field("time_source", TIMESTAMP, "When the source says the event happened."),
        Field("time_observed", TIMESTAMP, "When Bluelamp received or derived it.",
              nullable=False),
        Field("classification_taxonomy", pa.string(),
              "ENISA taxonomy class (malicious-code, availability, information-gathering, "
              "intrusion-attempts, intrusions, information-content-security, fraud, "
              "vulnerable, abusive-content, other, test)."),
        Field("classification_type", pa.string(),
              "ENISA type within the class (infected-system, c2-server, phishing, spam, ...)."),
        Field("classification_identifier", pa.string(),
              "Finer identifier: malware family, report type or detector name."),
        Field("source_ip", pa.string(), "Address of the affected or attacking system."),
        Field("source_port", pa.uint16(), "Its port."),
        Field("source_asn", pa.uint32(), "Autonomous system that routes source_ip."),
        Field("source_network", pa.string(), "Most specific prefix matched (CIDR)."),
        Field("source_org", pa.string(), "Organisation that owns the system."),
        Field("source_country", pa.string(), "ISO 3166-1 alpha-2 country code."),
        Field("source_region", pa.string(), "Region (responsible regional police unit)."),
        Field("source_sector", pa.string(), "Sector of the owning organisation."),
        Field("source_abuse_contact", pa.string(), "Where notices about it should go."),
        Field("source_fqdn", pa.string(), "Domain name involved."),
        Field("source_registered_domain", pa.string(), "Registered domain of source_fqdn."),
        Field("source_url", pa.string(), "URL involved."),
        Field("destination_ip", pa.string(), "Address the source talked to (e.g. a C2)."),
        Field("destination_port", pa.uint16(), "Its port."),
        Field("destination_fqdn", pa.string(), "Name the source talked to."),
        Field("feed_name", pa.string(), "Feed or detector that produced it.", nullable=False),
        Field("feed_provider", pa.string(), "Organisation behind the feed."),
        Field("feed_url", pa.string(), "Where the feed was fetched from."),
        Field("feed_report_type", pa.string(), "Report type within the feed (Shadowserver)."),
        Field("confidence", pa.float64(), "Confidence 0..1."),
        Field("tlp", pa.string(), "Traffic Light Protocol 2.0 level."),
        Field("raw_ref", pa.string(), "Location of the raw record: file and line, or URL."),
        Field("extra", pa.string(), "JSON object with feed fields that have no column here."),
        Field("count", pa.int64(), "Times this event (this id) was seen within its "
              "aggregation window; 1 for a single sighting."),
        Field("time_last_seen", TIMESTAMP, "Last time this event (this id) was seen within "
              "its aggregation window."),
    ),
)

SCHEMAS: dict[str, RecordSchema] = {s.name: s for s in (DNS, FINDING, EVENT)}
