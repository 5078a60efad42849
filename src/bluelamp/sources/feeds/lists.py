"""Simple delimited lists: Team Cymru-style `ASN | IP | time | info` lines, and DShield's
block list (block.txt: tab-separated, `Start End Netblock Attacks Name Country email`) and
sources list (ipsascii: `ip reports targets firstseen lastseen updated`, zero-padded IPs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.events import LINE
from bluelamp.sources.feeds.base import (
    CsvLayout,
    FeedParser,
    Loose,
    batched,
    extra_json,
    fixed,
    loose_table,
    read_csv,
    text_lines,
)

CYMRU_COLUMNS = ("asn", "ip", "time", "info")


class Cymru(FeedParser):
    name = "cymru"
    provider = "Team Cymru"
    description = "Team Cymru-style pipe lists: ASN | IP | time | info [| AS name]"
    constants = fixed(classification_taxonomy="malicious-code",
                 classification_type="infected-system", tlp="amber")

    def sniff(self, head: bytes, filename: str) -> int:
        rows = [ln for ln in head[:4096].splitlines() if ln.strip() and not ln.startswith(b"#")]
        if rows and all(ln.count(b"|") >= 3 for ln in rows[:-1] or rows):
            return 60
        return 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        for part in batched(text_lines(stream), batch_size):
            cells = [[c.strip() for c in line.split("|")] for _, line in part]
            cols = {name: pa.array([c[i] if i < len(c) else None for c in cells], pa.string())
                    for i, name in enumerate((*CYMRU_COLUMNS, "asname"))}
            table = pa.table(cols)
            rest = [[c for c in row[5:]] for row in cells]
            extra_tbl = table.select(["info", "asname"]).append_column(
                "more", pa.array(["|".join(r) if r else None for r in rest], pa.string()))
            yield Loose(pa.table({
                "source_asn": cols["asn"], "source_ip": cols["ip"], "time_source": cols["time"],
                "classification_identifier": cols["info"],
                "extra": extra_json(extra_tbl, ["info", "asname", "more"]),
                LINE: pa.array([n for n, _ in part], pa.int64())}))


def _unpad(ips: pa.Array) -> pa.Array:
    """DShield writes 001.002.003.004; drop the leading zeros of each octet."""
    return pc.replace_substring_regex(ips, r"(^|\.)0{1,2}(\d)", r"\1\2")


class DShieldBlock(FeedParser):
    name = "dshield-block"
    provider = "SANS Internet Storm Center (DShield)"
    description = "DShield recommended block list (block.txt: top attacking /24 netblocks)"
    constants = fixed(classification_taxonomy="information-gathering",
                 classification_type="scanner", tlp="clear")
    layout = CsvLayout(delimiter="\t", comment="#")

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:4096]
        return 85 if b"Start\tEnd\tNetblock" in text or b"DShield.org Recommended Block" \
            in text else 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        for table, lines, errors in read_csv(stream, source, self.layout, batch_size=batch_size):
            start = _unpad(table.column("Start").combine_chunks())
            network = pc.binary_join_element_wise(start, table.column("Netblock"), "/")
            loose = loose_table(table, {"Country": "source_country", "email":
                                        "source_abuse_contact"}, lines)
            yield Loose(loose.append_column("source_network", network), errors)


class DShieldSources(FeedParser):
    name = "dshield-sources"
    provider = "SANS Internet Storm Center (DShield)"
    description = "DShield top sources (ipsascii: ip, reports, targets, first/last seen)"
    constants = fixed(classification_taxonomy="information-gathering",
                 classification_type="scanner", tlp="clear")
    columns = ("ip", "reports", "targets", "firstseen", "lastseen", "updated")

    def sniff(self, head: bytes, filename: str) -> int:
        rows = [ln for ln in head[:4096].splitlines() if ln.strip() and not ln.startswith(b"#")]
        if rows and all(ln.count(b"\t") >= 4 and ln[:3].isdigit() and ln[3:4] == b"."
                        for ln in rows[:-1] or rows):
            return 65
        return 0

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        for part in batched(text_lines(stream), batch_size):
            cells = [line.split("\t") for _, line in part]
            cols = {name: pa.array([c[i].strip() if i < len(c) else None for c in cells],
                                   pa.string()) for i, name in enumerate(self.columns)}
            table = pa.table(cols)
            yield Loose(pa.table({
                "source_ip": _unpad(cols["ip"]), "time_source": cols["firstseen"],
                "time_last_seen": cols["lastseen"],
                "extra": extra_json(table, ["reports", "targets", "updated"]),
                LINE: pa.array([n for n, _ in part], pa.int64())}))


FEEDS = [Cymru(), DShieldBlock(), DShieldSources()]
