"""Spamhaus DROP, EDROP and ASN-DROP: the classic `;`-commented text lists
(`1.10.16.0/20 ; SBL256894`, `AS12345 ; US | EXAMPLE-AS`) and the newer JSON-lines files
(`{"cidr": "...", "sblid": "...", "rir": "..."}` or `{"asn": ..., "cc": ..., "asname": ...}`,
ending in a `{"type": "metadata", ...}` line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from bluelamp.errors import Location, RecordError
from bluelamp.sources.feeds.base import FeedParser, Loose, batched, fixed, records_table, text_lines

FIELDS = {"cidr": "source_network", "asn": "source_asn", "cc": "source_country",
          "sblid": "classification_identifier"}


def _text_record(line: str) -> dict[str, Any]:
    """`1.10.16.0/20 ; SBL256894` or `AS64500 ; NL | EXAMPLE-AS`."""
    subject, _, rest = (part.strip() for part in line.partition(";"))
    if subject.upper().startswith("AS"):
        cc, _, name = (p.strip() for p in rest.partition("|"))
        return {"asn": subject, "cc": cc, "asname": name}
    return {"cidr": subject, "sblid": rest}


class SpamhausDrop(FeedParser):
    name = "spamhaus-drop"
    provider = "The Spamhaus Project"
    description = "Spamhaus DROP / EDROP / ASN-DROP (text with ; comments, or JSON lines)"
    constants = fixed(classification_taxonomy="other", classification_type="blocklist",
                 tlp="clear")

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:2048].lower()
        if b"spamhaus" in text and (b"drop" in text or b"sblid" in text):
            return 85
        return 50 if b'"sblid"' in text or b'"asname"' in text else 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        for part in batched(self._records(stream, source), batch_size):
            records = [r for r in part if isinstance(r, tuple)]
            errors = [e for e in part if isinstance(e, RecordError)]
            yield Loose(records_table((r for _, r in records), FIELDS, [n for n, _ in records]),
                        errors)

    def _records(self, stream: BinaryIO, source: str
                 ) -> Iterator[tuple[int, dict[str, Any]] | RecordError]:
        for number, line in text_lines(stream, comment=";"):
            if not line.startswith("{"):
                yield number, _text_record(line)
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RecordError(Location(source, line=number), f"bad JSON: {exc.msg}", line)
                continue
            if isinstance(rec, dict) and rec.get("type") != "metadata":
                yield number, rec


FEEDS = [SpamhausDrop()]
