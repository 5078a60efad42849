"""Phishing URL feeds: PhishTank (JSON and CSV dumps) and OpenPhish (one URL per line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from bluelamp.events import LINE
from bluelamp.sources.feeds.base import (
    CsvLayout,
    FeedParser,
    Loose,
    batched,
    fixed,
    loose_table,
    read_csv,
    records_table,
    text_lines,
)

PHISHTANK_FIELDS = {"url": "source_url", "submission_time": "time_source",
                    "verification_time": "time_last_seen", "target": "classification_identifier",
                    "phish_detail_url": "feed_url", "ip_address": "source_ip",
                    "announcing_network": "source_asn", "country": "source_country",
                    "cidr_block": "source_network"}
PHISHING = {"classification_taxonomy": "fraud", "classification_type": "phishing"}


def _phishtank_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The first `details` entry carries the hosting address; the rest stay in extra."""
    details = rec.get("details") or []
    flat = {k: v for k, v in rec.items() if k != "details"}
    if details and isinstance(details[0], dict):
        flat.update(details[0])
        if len(details) > 1:
            flat["details"] = details[1:]
    return flat


class PhishTank(FeedParser):
    name = "phishtank"
    provider = "PhishTank (Cisco Talos)"
    description = "PhishTank verified phish dump (online-valid.json or .csv)"
    constants = fixed(**PHISHING, tlp="clear")

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096].lower()
        return 85 if b"phish_id" in text else 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        head = stream.peek(64)[:64] if hasattr(stream, "peek") else b""
        if head.lstrip()[:1] == b"[":
            records = json.loads(stream.read().decode("utf-8-sig"))
            for start, part in enumerate(batched(records, batch_size)):
                first = start * batch_size + 1
                yield Loose(records_table((_phishtank_record(r) for r in part),
                                          PHISHTANK_FIELDS, range(first, first + len(part))))
            return
        for table, lines, errors in read_csv(stream, source, CsvLayout(), batch_size=batch_size):
            yield Loose(loose_table(table, PHISHTANK_FIELDS, lines), errors)


class OpenPhish(FeedParser):
    name = "openphish"
    provider = "OpenPhish"
    description = "OpenPhish community feed (feed.txt: one URL per line)"
    constants = fixed(**PHISHING, tlp="clear")

    def sniff(self, head: bytes, filename: str) -> int:
        lines = [ln for ln in head[:4096].splitlines()[:20] if ln.strip()]
        if not lines or not all(ln.strip().lower().startswith((b"http://", b"https://"))
                                for ln in lines[:-1] or lines):
            return 0
        return 60 if "openphish" in filename.lower() or filename == "feed.txt" else 40

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        for part in batched(text_lines(stream), batch_size):
            yield Loose(pa.table({"source_url": [u for _, u in part],
                                  LINE: pa.array([n for n, _ in part], pa.int64())}))


FEEDS = [PhishTank(), OpenPhish()]
