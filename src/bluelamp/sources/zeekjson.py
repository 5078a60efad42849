"""Zeek `dns.log` written by the JSON writer (`LogAscii::use_json=T`).

One object per line with the TSV column names as keys (`"id.orig_h"`, ...); `ts` is epoch
seconds or, with `JSON::TS_ISO8601`, an ISO 8601 string; sets are JSON arrays; unset fields
are absent. Parsed with `pyarrow.json` (a block it rejects is bisected down to the bad
lines) and converted by the same vectorised code as the TSV reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa

from bluelamp.errors import Location, RecordError
from bluelamp.sources import convert
from bluelamp.sources.base import Chunk
from bluelamp.sources.textblocks import ErrorLog, iter_line_blocks, parse_ndjson
from bluelamp.sources.zeek import Header, chunks, to_dns

_JSON_TYPES: dict[str, pa.DataType] = {
    "id.orig_h": pa.string(), "id.orig_p": pa.int64(), "id.resp_h": pa.string(),
    "proto": pa.string(), "query": pa.string(), "qtype": pa.int64(), "rcode": pa.int64(),
    "answers": pa.list_(pa.string()), "TTLs": pa.list_(pa.float64()),
}
_ISO_TS = re.compile(rb'"ts"\s*:\s*"')


class ZeekJsonReader:
    name = "zeek-json"
    description = "Zeek dns.log, JSON writer (one object per line, gzip ok)"
    sniff_priority = 30

    def sniff(self, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0]
        return first.startswith(b"{") and b'"id.orig_h"' in first and b'"ts"' in first

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        log = ErrorLog(source)
        masked_count, masked_first = 0, None
        for block in iter_line_blocks(stream, source):
            errors = log.admit(block.errors)
            # Zeek writes ts either as epoch seconds or (JSON::TS_ISO8601) as a string
            ts_type = pa.string() if _ISO_TS.search(block.data[:4096]) else pa.float64()
            schema = pa.schema([("ts", ts_type), *_JSON_TYPES.items()])
            table, lines, errs = parse_ndjson(block.data, block.first_line, schema, source)
            tables: list[pa.Table] = []
            if table is not None:
                conv = to_dns({c: convert.as_array(table.column(c)) for c in table.column_names},
                              lines, source, Header())
                errs = sorted(errs + conv.errors, key=lambda e: e.location.line or 0)
                tables.append(conv.table)
                masked_count += conv.masked_count
                masked_first = masked_first or conv.masked_first
            errors += log.admit(errs)
            yield from chunks(tables, errors, batch_size)
        final = log.summary()
        if masked_count:
            final.insert(0, RecordError(Location(source, line=masked_first, field="ts"),
                                        f"{masked_count} rows have masked timestamps"))
        if final:
            yield Chunk(None, final)



READERS = [ZeekJsonReader()]
