"""abuse.ch feeds: URLhaus (CSV dump and JSON API/dump) and Feodo Tracker (IP blocklist as
CSV and JSON).

URLhaus CSV dumps put their header in the last `#` comment line
(`# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`); Feodo's
CSV has `#` comments and then a quoted header line. Both are mapped by column name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from bluelamp.sources.feeds.base import (
    CsvLayout,
    FeedParser,
    Loose,
    batched,
    fixed,
    loose_table,
    read_csv,
    records_table,
)

URLHAUS_FIELDS = {
    "dateadded": "time_source", "date_added": "time_source", "url": "source_url",
    "threat": "classification_identifier", "urlhaus_link": "feed_url",
    "urlhaus_reference": "feed_url", "host": "source_fqdn", "last_online": "time_last_seen",
}
FEODO_FIELDS = {
    "first_seen_utc": "time_source", "first_seen": "time_source", "dst_ip": "source_ip",
    "ip_address": "source_ip", "dst_port": "source_port", "port": "source_port",
    "malware": "classification_identifier", "as_number": "source_asn",
    "country": "source_country", "hostname": "source_fqdn", "last_online": "time_last_seen",
}


def _json_records(stream: BinaryIO, list_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Records of a JSON document: a list, an object holding a list under one of
    `list_keys`, or URLhaus's dump shape {"<id>": [record]}."""
    doc = json.loads(stream.read().decode("utf-8-sig"))
    if isinstance(doc, list):
        return [r for r in doc if isinstance(r, dict)]
    for key in list_keys:
        if isinstance(doc.get(key), list):
            return [r for r in doc[key] if isinstance(r, dict)]
    out = []
    for key, value in doc.items():
        for rec in value if isinstance(value, list) else []:
            if isinstance(rec, dict):
                out.append({"id": key, **rec})
    return out


class _AbuseCh(FeedParser):
    fields: ClassVar[Mapping[str, str]] = MappingProxyType({})
    layout = CsvLayout(comment="#")
    list_keys: tuple[str, ...] = ()

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        head = stream.peek(64)[:64] if hasattr(stream, "peek") else b""
        if head.lstrip()[:1] in (b"{", b"["):
            records = _json_records(stream, self.list_keys)
            for start, part in enumerate(batched(records, batch_size)):
                first = start * batch_size + 1
                yield Loose(records_table((_flatten(r) for r in part), self.fields,
                                          range(first, first + len(part))))
            return
        for table, lines, errors in read_csv(stream, source, self.layout, batch_size=batch_size):
            yield Loose(loose_table(table, self.fields, lines), errors)


def _flatten(rec: dict[str, Any]) -> dict[str, Any]:
    """Lists (tags) become comma-separated text; nested objects stay for `extra`."""
    return {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in rec.items()}


class URLhaus(_AbuseCh):
    name = "urlhaus"
    provider = "abuse.ch"
    description = "URLhaus malware URLs (CSV dump with # header, JSON API or dump)"
    constants = fixed(classification_taxonomy="malicious-code",
                 classification_type="malware-distribution", tlp="clear")
    fields = URLHAUS_FIELDS
    layout = CsvLayout(comment="#", header_in_comment=True)
    list_keys = ("urls",)

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096].lower()
        if b"urlhaus" in text:
            return 85
        return 60 if b"urlhaus_link" in text or b"urlhaus_reference" in text else 0


class Feodo(_AbuseCh):
    name = "feodo"
    provider = "abuse.ch"
    description = "Feodo Tracker botnet C2 IP blocklist (CSV or JSON)"
    constants = fixed(classification_taxonomy="malicious-code",
                 classification_type="c2-server", tlp="clear")
    fields = FEODO_FIELDS

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096].lower()
        if b"feodo" in text:
            return 85
        return 60 if b"c2_status" in text or (b"ip_address" in text and b"malware" in text) \
            else 0


FEEDS = [URLhaus(), Feodo()]
