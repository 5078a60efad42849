"""Text log writers: Zeek dns.log (ASCII/TSV and JSON) and the BIND 9 query log.

Zeek TSV lines are assembled column-wise with pyarrow.compute (no per-row Python); JSON
lines per row with the standard library. Fields Zeek would log but the `dns` schema does
not carry (uid, trans_id, rtt) are derived from a hash of the row (`rowmeta`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.simulate import dnsenc, rowmeta
from bluelamp.simulate.jsontext import needs_escapes, quoted, quoted_lists

ZEEK_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name",
               "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs",
               "rejected")
ZEEK_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "count", "interval",
              "string", "count", "string", "count", "string", "count", "string", "bool",
              "bool", "bool", "bool", "count", "vector[string]", "vector[interval]", "bool")
_DDD = re.compile(r"\\(\d{3})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNUSUAL = r"[\\\x00-\x1f\x7f]"  # names that need zeek_query


def zeek_query(name: str) -> str:
    """Zeek writes a name's non-printable bytes as \\xHH (where the zone form has \\DDD);
    raw control characters (not in simulated names, possible in a foreign table) too, so a
    name can never break a line or a column."""
    def repl(m: re.Match[str]) -> str:
        byte = int(m.group(1))
        return chr(byte) if 0x20 < byte < 0x7F and chr(byte) not in "\\," else f"\\x{byte:02x}"
    name = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", name)
    return _DDD.sub(repl, name) if "\\" in name else name


def _zeek_answer(qtype: int, answer: str, for_json: bool = False) -> str:
    """Zeek logs a TXT answer as `TXT <length> <text>`; commas (the set separator) and
    control characters are escaped as \\xHH."""
    if qtype == 16:
        answer = f"TXT {len(answer)} {answer}"
    answer = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", answer)
    return answer if for_json else answer.replace(",", "\\x2c")


def _seconds(us: np.ndarray) -> pa.Array:
    """`1741000000.123456` from microseconds."""
    whole = pa.array(us // 1_000_000).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(us % 1_000_000).cast(pa.string()), 6, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _lookup(codes: pa.Array, names: dict[int, str], fallback: str) -> pa.Array:
    values = codes.to_pylist()
    distinct = {v: (names.get(v, f"{fallback}{v}") if v is not None else "-")
                for v in set(values)}
    return pa.array([distinct[v] for v in values], pa.string())


def _zeek_answer_lists(table: pa.Table, *, for_json: bool = False) -> pa.Array:
    """Answers as Zeek spells them: TXT as `TXT <length> <text>`, control characters as
    \\xHH, and in TSV commas (the set separator) as \\x2c."""
    answers = table.column("answers").combine_chunks()
    qtype = table.column("qtype").to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(answers)
    odd = bool((qtype == 16).any()) or (len(flat) > 0 and bool(pc.any(
        pc.match_substring_regex(flat, r"[,\x00-\x1f\x7f]")).as_py()))
    if not odd:
        return answers
    return pa.array([None if a is None else [_zeek_answer(int(t), x, for_json) for x in a]
                     for a, t in zip(answers.to_pylist(), qtype.tolist(), strict=True)],
                    pa.list_(pa.string()))


def _zeek_queries(table: pa.Table) -> pa.Array:
    qname = table.column("qname").combine_chunks()
    if not pc.any(pc.match_substring_regex(qname, _UNUSUAL)).as_py():
        return qname
    return pa.array([None if q is None else zeek_query(q) for q in qname.to_pylist()],
                    pa.string())


def _answers_columns(table: pa.Table) -> tuple[pa.Array, pa.Array]:
    """answers and TTLs columns: one TTL per answer (the row's smallest, as that is what
    the dns schema keeps), `-` when there are none."""
    answers = _zeek_answer_lists(table)
    joined = pc.binary_join(answers, ",")
    count = pc.fill_null(pc.list_value_length(answers), 0)
    ttl = pc.binary_join_element_wise(
        pc.cast(pc.fill_null(table.column("ttl").combine_chunks(), 0), pa.string()),
        pa.scalar("000000"), ".")
    ttls = pc.binary_join_element_wise(
        ttl, pc.binary_repeat(pc.binary_join_element_wise(pa.scalar(""), ttl, ","),
                              pc.max_element_wise(pc.subtract(count, 1), 0)), "")
    empty = pc.equal(count, 0)
    return (pc.if_else(empty, "-", joined), pc.if_else(empty, "-", ttls))


def zeek_lines(table: pa.Table) -> pa.Array:
    """The data lines of a Zeek dns.log for `table` (without the newline)."""
    n = table.num_rows
    h = rowmeta.row_hash(table)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    rcode = table.column("rcode").combine_chunks()
    answers, ttls = _answers_columns(table)
    resp = pc.is_valid(rcode)
    rtt = pc.if_else(resp, _seconds(rowmeta.rtts_us(h)), "-")
    query = pc.fill_null(_zeek_queries(table), "-")
    qtype = table.column("qtype").combine_chunks()

    def text(col: str) -> pa.Array:
        return pc.fill_null(pc.cast(table.column(col).combine_chunks(), pa.string()), "-")

    const = {v: pa.repeat(pa.scalar(v), n) for v in ("53", "1", "C_INTERNET", "F", "T", "0")}
    columns = [
        _seconds(ts), pa.array(rowmeta.zeek_uids(h), pa.string()), text("client"),
        text("client_port"), text("server"), const["53"],
        pc.fill_null(table.column("transport").combine_chunks(), "udp"),
        pa.array(rowmeta.txids(h)).cast(pa.string()), rtt, query, const["1"],
        const["C_INTERNET"], text("qtype"), _lookup(qtype, dnsenc.QTYPE_NAMES, "TYPE"),
        text("rcode"), _lookup(rcode, dnsenc.RCODE_NAMES, "RCODE"), const["F"], const["F"],
        const["T"], pc.if_else(resp, "T", "F"), const["0"], answers, ttls, const["F"],
    ]
    return pc.binary_join_element_wise(*columns, "\t")


def _zeek_time(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")


class ZeekWriter:
    """Zeek's ASCII writer: `#` header lines, tab-separated fields, a `#close` footer.
    #open and #close carry the first and last record times (so output is reproducible)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._first: int | None = None
        self._last = 0

    def _header(self, first_us: int) -> bytes:
        lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                 "#unset_field\t-", "#path\tdns", f"#open\t{_zeek_time(first_us)}",
                 "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(ZEEK_TYPES)]
        return ("\n".join(lines) + "\n").encode()

    def write(self, table: pa.Table) -> None:
        ts = table.column("ts").cast(pa.int64())
        if self._first is None:
            self._first = int(pc.min(ts).as_py())
            self._stream.write(self._header(self._first))
        self._last = max(self._last, int(pc.max(ts).as_py()))
        lines = zeek_lines(table)
        self._stream.write(("\n".join(lines.to_pylist()) + "\n").encode("utf-8",
                                                                         "surrogateescape"))

    def close(self) -> None:
        if self._first is None:
            self._first = 0
            self._stream.write(self._header(0))
        self._stream.write(f"#close\t{_zeek_time(self._last)}\n".encode())


class ZeekJsonWriter:
    """Zeek's JSON writer (LogAscii::use_json): one object per line, unset (null) fields
    left out, ts and rtt as seconds. Lines are built column-wise; a table with control
    characters in its strings goes through json.dumps instead."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, table: pa.Table) -> None:
        if needs_escapes(table, ("client", "server", "transport")):
            lines = _zeek_json_slow(table)
        else:
            lines = zeek_json_lines(table).to_pylist()
        self._stream.write(("\n".join(lines) + "\n").encode())

    def close(self) -> None:
        pass


def _field(name: str, value: pa.Array, present: pa.Array | None = None) -> pa.Array:
    """`,"name":value`, or nothing where the value is null (or `present` is false)."""
    text = pc.binary_join_element_wise(pa.scalar(f",{json.dumps(name)}:"), value, "")
    if present is not None:
        text = pc.if_else(present, text, pa.scalar(None, pa.string()))
    return pc.fill_null(text, "")


def zeek_json_lines(table: pa.Table) -> pa.Array:
    n = table.num_rows
    h = rowmeta.row_hash(table)
    rcode = table.column("rcode").combine_chunks()
    qtype = table.column("qtype").combine_chunks()
    answered = pc.is_valid(rcode)
    answers = _zeek_answer_lists(table, for_json=True)
    count = pc.fill_null(pc.list_value_length(answers), 0)
    has_answers = pc.greater(count, 0)
    ttl = pc.binary_join_element_wise(
        pc.cast(pc.fill_null(table.column("ttl").combine_chunks(), 0), pa.string()),
        pa.scalar("0"), ".")
    ttls = pc.binary_join_element_wise(
        pa.scalar("["), ttl, pc.binary_repeat(pc.binary_join_element_wise(
            pa.scalar(""), ttl, ","), pc.max_element_wise(pc.subtract(count, 1), 0)),
        pa.scalar("]"), "")

    def num(col: str) -> pa.Array:
        return pc.cast(table.column(col).combine_chunks(), pa.string())

    const = {v: pa.repeat(pa.scalar(v), n) for v in ("53", "1", '"C_INTERNET"', "false",
                                                     "true", "0")}
    fields = [
        _field("uid", quoted(pa.array(rowmeta.zeek_uids(h), pa.string()))),
        _field("id.orig_h", quoted(table.column("client"))),
        _field("id.orig_p", num("client_port")),
        _field("id.resp_h", quoted(table.column("server"))),
        _field("id.resp_p", const["53"]),
        _field("proto", quoted(pc.fill_null(table.column("transport"), "udp"))),
        _field("trans_id", pa.array(rowmeta.txids(h)).cast(pa.string())),
        _field("rtt", _seconds(rowmeta.rtts_us(h)), answered),
        _field("query", quoted(_zeek_queries(table))),
        _field("qclass", const["1"]), _field("qclass_name", const['"C_INTERNET"']),
        _field("qtype", num("qtype")),
        _field("qtype_name", quoted(_lookup(qtype, dnsenc.QTYPE_NAMES, "TYPE")),
               pc.is_valid(qtype)),
        _field("rcode", num("rcode")),
        _field("rcode_name", quoted(_lookup(rcode, dnsenc.RCODE_NAMES, "RCODE")), answered),
        _field("AA", const["false"]), _field("TC", const["false"]),
        _field("RD", const["true"]), _field("RA", pc.if_else(answered, "true", "false")),
        _field("Z", const["0"]),
        _field("answers", pc.binary_join_element_wise(
            pa.scalar("["), pc.binary_join(quoted_lists(answers), ","), pa.scalar("]"), ""),
            has_answers),
        _field("TTLs", ttls, has_answers),
        _field("rejected", const["false"]),
    ]
    ts = _seconds(table.column("ts").cast(pa.int64()).to_numpy())
    return pc.binary_join_element_wise(pa.scalar('{"ts":'), ts, *fields, pa.scalar("}"), "")


def _zeek_json_slow(table: pa.Table) -> list[str]:
    """The same objects through json.dumps, for strings with control characters (which
    JSON spells as \\uXXXX)."""
    lines = zeek_json_lines(table.drop_columns(["client", "server", "transport"])
                            .append_column("client", pa.nulls(table.num_rows, pa.string()))
                            .append_column("server", pa.nulls(table.num_rows, pa.string()))
                            .append_column("transport", pa.nulls(table.num_rows, pa.string())))
    out = []
    cols = [table.column(c).to_pylist() for c in ("client", "server", "transport")]
    for line, client, server, proto in zip(lines.to_pylist(), *cols, strict=True):
        row = json.loads(line)
        row |= {k: v for k, v in (("id.orig_h", client), ("id.resp_h", server),
                                  ("proto", proto or "udp")) if v is not None}
        order = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"]
        head = {k: row.pop(k) for k in order if k in row}
        out.append(json.dumps(head | row, separators=(",", ":")))
    return out


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BindWriter:
    """BIND 9 query log as a `channel` with `print-time yes; print-category yes;
    print-severity yes;`, times in UTC:

    `03-Mar-2025 12:00:00.123 queries: info: client @0x7f3a2c0d8e10 10.0.0.7#53421
    (example.com): query: example.com IN A +E(0)K (10.0.0.53)` (one line)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, table: pa.Table) -> None:
        h = rowmeta.row_hash(table)
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        day = pc.strftime(table.column("ts"), format="%d-%m-%Y %H:%M:%S").to_pylist()
        qtype = table.column("qtype").to_pylist()
        cols = [table.column(c).to_pylist() for c in
                ("client", "client_port", "server", "qname", "transport")]
        ms = (ts // 1000 % 1000).tolist()
        ptr = (0x7F0000000000 + (h >> np.uint64(24)) % np.uint64(1 << 36) * 16).tolist()
        out = []
        for i, (client, port, server, qname, proto) in enumerate(zip(*cols, strict=True)):
            d, m, rest = day[i].split("-", 2)
            t = qtype[i] or 1
            flags = "+E(0)" + ("D" if t in (43, 48) else "") + ("T" if proto == "tcp" else "") \
                + ("K" if h[i] % 3 else "")
            # the format needs addresses: rows without them get the unspecified one
            out.append(f"{d}-{_MONTHS[int(m) - 1]}-{rest[:13]}.{ms[i]:03d} queries: info: "
                       f"client @0x{ptr[i]:x} {client or '0.0.0.0'}#{port or 0} ({qname}): "
                       f"query: {qname} IN {dnsenc.qtype_name(t)} {flags} "
                       f"({server or '0.0.0.0'})")
        self._stream.write(("\n".join(out) + "\n").encode())

    def close(self) -> None:
        pass
