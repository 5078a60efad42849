"""BIND 9 query log (`category queries`, BIND 9.11 to 9.20, and the older 9.9/9.10 form).

One line per query, for example::

    21-Nov-2026 09:00:00.123 queries: info: client @0x7f3a2c0d8e10 192.0.2.1#53421
        (example.com): view internal: query: example.com IN A +E(0)K (192.0.2.53)

(one line in the file). Accepted around the `client ...` part: a `print-time` timestamp
(`21-Nov-2026 09:00:00.123`, ISO 8601 with or without zone) or a syslog prefix
(`Nov 21 09:00:00 host named[123]:`), optional `print-category`/`print-severity` words, the
`@0x...` client object pointer (9.11+), the `(name)` echo (9.10+), a `view NAME:` part, and
a trailing `[ECS ...]`. Flags: `+`/`-` recursion desired, `S` signed, `E(n)` EDNS, `T` TCP,
`D` DO, `C` CD, `V`/`K` cookies; `T` sets transport to tcp.

Times without a zone are read as UTC (run named with `print-time iso8601-utc` or TZ=UTC);
syslog stamps carry no year, so the current UTC year is assumed, or the previous one when
that would put the line more than a day in the future. A query log has no response: rcode,
answers and ttl are null.

Lines are matched with one RE2 expression over the whole block (pyarrow.compute
`extract_regex`); a line that does not match is reported with its number and skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO

import dns.rdatatype
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS
from bluelamp.sources import convert
from bluelamp.sources.base import Chunk
from bluelamp.sources.names import normalize_qnames
from bluelamp.sources.textblocks import ErrorLog, iter_line_blocks, lines_array, sample

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_TIME = (
    r"(?:(?P<d>\d{1,2})-(?P<mon>[A-Z][a-z]{2})-(?P<y>\d{4}) (?P<hms>\d\d:\d\d:\d\d)"
    r"(?:\.(?P<frac>\d{1,6}))?"
    r"|(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?P<zone>Z|[+-]\d\d:?\d\d)?"
    r"|(?P<smon>[A-Z][a-z]{2}) +(?P<sd>\d{1,2}) (?P<shms>\d\d:\d\d:\d\d)"
    r"(?:\.(?P<sfrac>\d{1,6}))?)"
)
_QUERY = (
    r"client (?:@0x[0-9a-fA-F]+ )?(?P<client>[^\s#]+)#(?P<port>\d{1,5})"
    r"(?: \((?:\\.|[^)\\])*\))?: (?:view (?P<view>[^:]*): )?(?:query: )+"
    r"(?P<qname>\S+) (?P<qclass>\S+) (?P<qtype>\S+) (?P<flags>[-+][A-Z0-9()]*) "
    r"\((?P<server>[^)\s]*)\)"
)
LINE_RE = r"^(?:<\d{1,3}>)?" + _TIME + r" .*?" + _QUERY + r"(?: \[ECS [^\]]*\])?\s*$"
_SNIFF_RE = re.compile(r"client (?:@0x[0-9a-fA-F]+ )?\S+#\d+.*: query: \S+ \S+ \S+ [-+]")


class BindQueryLogReader:
    name = "bind"
    description = "BIND 9 query log lines (file channel or syslog, gzip ok)"
    sniff_priority = 40

    def sniff(self, head: bytes) -> bool:
        lines = head.decode("utf-8", "replace").splitlines()[:20]
        return any(_SNIFF_RE.search(line) for line in lines)

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        log = ErrorLog(source)
        sensor = PurePath(source).name
        for block in iter_line_blocks(stream, source):
            table, errors = parse_block(block.data, block.first_line, source, sensor)
            errors = log.admit(block.errors + errors)
            batches = table.to_batches(max_chunksize=batch_size) if table.num_rows else []
            if not batches and errors:
                yield Chunk(None, errors)
            for i, batch in enumerate(batches):
                yield Chunk(batch, errors if i == 0 else [])
        if log.dropped:
            yield Chunk(None, log.summary())


def parse_block(data: bytes, first_line: int, source: str, sensor: str
                ) -> tuple[pa.Table, list[RecordError]]:
    try:  # zero-copy lines (with their newline; the expression allows trailing space)
        lines = lines_array(data)
        undecodable = np.zeros(len(lines), dtype=bool)
    except pa.ArrowInvalid:  # some line is not UTF-8: split in Python to find it
        texts = data.decode("utf-8", "replace").split("\n")
        if texts and texts[-1] == "":
            texts.pop()
        lines = pa.array(texts, pa.string())
        undecodable = _mask(pc.match_substring(lines, "\ufffd"))
    numbers = np.arange(first_line, first_line + len(lines), dtype=np.int64)
    blank = _mask(pc.equal(pc.utf8_trim_whitespace(lines), ""))
    parts = pc.extract_regex(lines, LINE_RE)
    unmatched = _mask(pc.is_null(parts))
    errors = _line_errors(source, numbers, lines, unmatched & ~blank & ~undecodable,
                          "not a BIND query log line")
    errors += _line_errors(source, numbers, lines, undecodable & ~blank, "not UTF-8")
    keep = ~unmatched & ~blank & ~undecodable
    if not keep.all():
        parts, lines, numbers = (parts.filter(pa.array(keep)), lines.filter(pa.array(keep)),
                                 numbers[keep])
    table, row_errors = _to_dns(parts, numbers, lines, source, sensor)
    return table, sorted(errors + row_errors, key=lambda e: e.location.line or 0)


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _line_errors(source: str, numbers: np.ndarray, lines: pa.Array, mask: np.ndarray,
                 message: str) -> list[RecordError]:
    if not mask.any():
        return []
    texts = lines.filter(pa.array(mask)).to_pylist()
    return [RecordError(Location(source, line=int(n)), message, sample(t.rstrip("\r\n")))
            for n, t in zip(numbers[mask], texts, strict=True)]


def _to_dns(parts: pa.StructArray, numbers: np.ndarray, lines: pa.Array, source: str,
            sensor: str) -> tuple[pa.Table, list[RecordError]]:
    n = len(parts)
    g = {name: parts.field(name) for name in (
        "d", "mon", "y", "hms", "frac", "iso", "zone", "smon", "sd", "shms", "sfrac",
        "client", "port", "qname", "qtype", "flags", "server")}
    ts, ts_bad = convert.iso_to_ts(_iso_strings(g))
    ts_bad = ts_bad | convert.absent(ts)
    values, present, port_bad = convert.numbers(g["port"], floats=False)
    port, port_bad = convert.bounded(values, present, port_bad, 0, 65535, pa.uint16())
    qname = normalize_qnames(g["qname"], escapes="zone")
    too_long = np.asarray(pc.greater(pc.utf8_length(qname), 1024).to_numpy(
        zero_copy_only=False), dtype=bool)
    transport = pc.if_else(pc.match_substring(g["flags"], "T"), "tcp", "udp")
    table = DNS.conform(pa.table({
        "ts": ts, "client": g["client"], "client_port": port, "server": g["server"],
        "qname": qname, "qtype": qtype_codes(g["qtype"]), "transport": transport,
        "sensor": convert.constant_strings(sensor, n),
    }))
    errors: list[RecordError] = []
    for mask, fld, msg in ((ts_bad, "ts", "not a valid time"),
                           (port_bad & ~ts_bad, "port", "port out of range"),
                           (too_long & ~ts_bad & ~port_bad, "qname",
                            "name longer than 1024 characters")):
        errors += [RecordError(Location(source, line=int(ln), field=fld), msg,
                               sample(t.rstrip("\r\n")))
                   for ln, t in zip(numbers[mask], lines.filter(pa.array(mask)).to_pylist(),
                                    strict=True)]
    bad = ts_bad | port_bad | too_long
    if bad.any():
        table = table.filter(pa.array(~bad))
    return table, errors


def _iso_strings(g: dict[str, pa.Array]) -> pa.Array:
    """One ISO 8601 string per line from whichever time form matched."""
    month = pc.utf8_lpad(pc.cast(pc.add(pc.index_in(g["mon"], pa.array(MONTHS)), 1),
                                 pa.string()), 2, "0")
    frac = pc.if_else(pc.equal(g["frac"], ""), "0", g["frac"])
    bind_form = pc.binary_join_element_wise(
        g["y"], "-", month, "-", pc.utf8_lpad(g["d"], 2, "0"), "T", g["hms"], ".", frac, "Z",
        "")
    zone = pc.if_else(pc.equal(g["zone"], ""), "Z", g["zone"])
    iso_form = pc.binary_join_element_wise(pc.replace_substring(g["iso"], " ", "T"), zone, "")
    syslog_form = _syslog_strings(g)
    out = pc.if_else(pc.not_equal(g["iso"], ""), iso_form,
                     pc.if_else(pc.not_equal(g["y"], ""), bind_form, syslog_form))
    return out


def _syslog_strings(g: dict[str, pa.Array]) -> pa.Array:
    now = dt.datetime.now(dt.UTC)
    month_no = pc.add(pc.index_in(g["smon"], pa.array(MONTHS)), 1)
    # a syslog stamp more than a day ahead of now belongs to last year
    ahead = pc.greater(pc.add(pc.multiply(month_no, 100), pc.cast(
        pc.if_else(pc.equal(g["sd"], ""), "0", g["sd"]), pa.int64())),
        now.month * 100 + now.day + 1)
    year = pc.if_else(pc.fill_null(ahead, False), str(now.year - 1), str(now.year))
    frac = pc.if_else(pc.equal(g["sfrac"], ""), "0", g["sfrac"])
    return pc.binary_join_element_wise(
        year, "-", pc.utf8_lpad(pc.cast(month_no, pa.string()), 2, "0"), "-",
        pc.utf8_lpad(g["sd"], 2, "0"), "T", g["shms"], ".", frac, "Z", "")


def qtype_codes(mnemonics: pa.Array) -> pa.Array:
    """Type mnemonics (A, AAAA, TYPE65534, ...) to codes, once per distinct value; unknown
    mnemonics become null."""
    distinct = pc.unique(mnemonics)
    codes = []
    for text in distinct.to_pylist():
        try:
            codes.append(int(dns.rdatatype.from_text(text)) if text else None)
        except (dns.rdatatype.UnknownRdatatype, ValueError):
            codes.append(None)
    return pc.take(pa.array(codes, pa.uint16()), pc.index_in(mnemonics, distinct))


READERS = [BindQueryLogReader()]
