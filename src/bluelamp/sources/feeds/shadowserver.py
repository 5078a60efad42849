"""Shadowserver CSV reports, every report type, mapped by header name.

The field lists and the published classification of each report type come from
Shadowserver's report schema (`shadowserver_reports.json`, see README.md here). The report
type is taken from the file name (`2026-11-20-scan_rdp-de-geo.csv`) or, failing that, from
the report whose field list best matches the header. Columns are mapped by *name*, so
reordered, added or missing columns do not break parsing; columns with no EVENT field go to
`extra`. Report types the schema leaves unclassified (mostly IPv6 twins) get the class of
their IPv4 twin, else of the first family pattern in `FAMILY_CLASSES` that matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.sources.feeds.base import CsvLayout, FeedParser, Loose, loose_table, read_csv

#: Shadowserver column -> EVENT field. Where several columns map to one field the first
#: one present wins (spam_url: `ip` is the URL's host, `src_ip` the sender).
FIELD_MAP: dict[str, str] = {
    "timestamp": "time_source",
    "ip": "source_ip", "src_ip": "source_ip", "http_referer_ip": "source_ip",
    "port": "source_port", "src_port": "source_port", "http_referer_port": "source_port",
    "asn": "source_asn", "src_asn": "source_asn", "http_referer_asn": "source_asn",
    "geo": "source_country", "src_geo": "source_country", "http_referer_geo": "source_country",
    "sector": "source_sector", "src_sector": "source_sector",
    "url": "source_url", "website": "source_fqdn", "request": "source_fqdn",
    "dst_ip": "destination_ip", "dst_port": "destination_port",
    "http_host": "destination_fqdn", "query": "destination_fqdn",
    "infection": "classification_identifier", "family": "classification_identifier",
    "ransomware": "classification_identifier",
}

#: report-name pattern -> ENISA (class, type), for report types the schema leaves
#: unclassified and whose IPv4 twin is unclassified too. First match wins.
FAMILY_CLASSES: tuple[tuple[str, str, str], ...] = (
    (r"sinkhole|botnet|infected|_drone", "malicious-code", "infected-system"),
    (r"compromised|ransomware", "intrusions", "system-compromise"),
    (r"honeypot_.*scan|darknet|scanner", "information-gathering", "scanner"),
    (r"ddos|spoof", "availability", "ddos"),
    (r"brute", "intrusion-attempts", "brute-force"),
    (r"malware|sandbox", "malicious-code", "malware-distribution"),
    (r"spam", "abusive-content", "spam"),
    (r"phish", "fraud", "phishing"),
    (r"_(ssl_freak|ssl_poodle)$", "vulnerable", "weak-crypto"),
    (r"^(scan|special)", "vulnerable", "vulnerable-system"),
    (r"^(population|device_id)", "other", "other"),
)

_FILENAME = re.compile(r"(?:^|\D)\d{4}-\d{2}-\d{2}-(?P<rest>[a-z0-9_]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Report:
    key: str
    name: str
    fields: tuple[str, ...]
    taxonomy: str
    type: str
    url: str | None


@cache
def reports() -> dict[str, Report]:
    """Every report type in the shipped schema, classified."""
    text = resources.files(__package__).joinpath("shadowserver_reports.json").read_text()
    raw: dict[str, dict[str, Any]] = json.loads(text)
    out = {}
    for key, spec in raw.items():
        cls, typ = classify(key, raw)
        out[key] = Report(key, spec.get("name", key), tuple(spec["fields"]), cls, typ,
                          spec.get("url"))
    return out


def _twin(key: str) -> str:
    """The IPv4 report of an IPv6 one: scan6_rdp -> scan_rdp, event6_x -> event4_x."""
    key = re.sub(r"^event6_", "event4_", key)
    key = re.sub(r"6(_|$)", r"\1", key)
    return key.replace("_microsoft_", "_")


def classify(key: str, raw: dict[str, dict[str, Any]]) -> tuple[str, str]:
    for candidate in (key, _twin(key)):
        spec = raw.get(candidate, {})
        if spec.get("classification.taxonomy") and spec.get("classification.type"):
            return spec["classification.taxonomy"], spec["classification.type"]
    for pattern, cls, typ in FAMILY_CLASSES:
        if re.search(pattern, key):
            return cls, typ
    return "other", "other"


def report_from_filename(filename: str) -> Report | None:
    """`2026-11-20-scan_rdp-de-geo.csv` -> scan_rdp (the longest known type that the part
    after the date starts with)."""
    match = _FILENAME.search(filename)
    if not match:
        return None
    rest = match.group("rest").lower()
    known = [k for k in reports() if rest == k or rest.startswith(k + "_")]
    return reports()[max(known, key=len)] if known else None


def report_from_header(header: Sequence[str]) -> tuple[Report | None, float]:
    """The report whose field list best matches the header (Jaccard), and the score. IPv4
    and IPv6 twins share their fields; the shorter (IPv4) name wins a tie."""
    cols = {h.strip().lower() for h in header}
    best: tuple[float, int, str] = (0.0, 0, "")
    for key, rep in reports().items():
        fields = set(rep.fields)
        score = len(cols & fields) / len(cols | fields)
        cand = (score, -len(key), key)
        best = max(best, cand)
    return (reports()[best[2]] if best[2] else None), best[0]


def _header(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    return [h.strip().strip('"') for h in first.split(",")]


class Shadowserver(FeedParser):
    name = "shadowserver"
    provider = "The Shadowserver Foundation"
    description = "Shadowserver CSV reports (all report types, by header name)"
    min_header_score = 0.6

    def sniff(self, head: bytes, filename: str) -> int:
        if report_from_filename(filename) and head.lstrip(b"\xef\xbb\xbf\"").startswith(
                b"timestamp"):
            return 90
        rep, score = report_from_header(_header(head))
        return 70 if rep and score >= self.min_header_score else 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        report = report_from_filename(source.rsplit("/", 1)[-1])
        for table, lines, errors in read_csv(stream, source, CsvLayout(), batch_size=batch_size):
            if report is None:
                report, _ = report_from_header(table.column_names)
            assert report is not None
            loose = loose_table(table, FIELD_MAP, lines)
            if "classification_identifier" not in loose.column_names:
                loose = loose.append_column("classification_identifier",
                                            pa.array([report.key] * loose.num_rows, pa.string()))
            else:
                col = loose.column("classification_identifier")
                loose = loose.set_column(loose.column_names.index("classification_identifier"),
                                         "classification_identifier",
                                         pc.if_else(pc.equal(col, ""), report.key, col))
            yield Loose(loose, errors, {
                "classification_taxonomy": report.taxonomy,
                "classification_type": report.type,
                "feed_report_type": report.key,
                "tlp": "amber",
            })


FEEDS = [Shadowserver()]
