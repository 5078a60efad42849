"""dnstap (Frame Streams of protobuf `dnstap.Dnstap`) → `dns` rows.

Mapping (also in docs/formats.md, section "dnstap"):

* One row per DNS transaction as the server saw it from its clients. The query/response
  pairs that face clients become rows: CLIENT_* (a recursive resolver), AUTH_* (an
  authoritative server), STUB_* and TOOL_* (a stub or a tool such as kdig). The resolver's
  own upstream traffic (RESOLVER_*, FORWARDER_*) and dynamic updates (UPDATE_*) are not
  client lookups and are skipped (counted in `DnstapDecoder.skipped`).
* A response row carries the transaction: question, rcode, answers and TTL from
  `response_message`. A query whose response is also in the stream (same client address,
  port, DNS id and question section bytes, within `Pairer.hold_us` = 3 s of stream time)
  is dropped so nothing is counted twice; a query without a response becomes a row with
  null rcode/answers.
* ts = query_time when present, else the matched query's time, else response_time.
  client/client_port = query_address/query_port; server = response_address;
  transport from socket_protocol (DNSCrypt counts as its udp/tcp carrier);
  sensor = identity; response_size = length of response_message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS
from bluelamp.sources import protowire
from bluelamp.sources.base import Chunk
from bluelamp.sources.dnswire import WireBuffer, addresses_text, decode_messages, walk_names
from bluelamp.sources.fstrm import (
    CONTENT_TYPE_DNSTAP,
    ControlType,
    FrameBatch,
    FrameError,
    read_frames,
    scan,
)

I64 = np.int64
QUERY_TYPES = (1, 5, 9, 11)
RESPONSE_TYPES = (2, 6, 10, 12)
TRANSPORTS = ("", "udp", "tcp", "dot", "doh", "udp", "tcp", "doq")
# Dnstap envelope and Message field numbers (see dnstap.proto next to this file)
D_IDENTITY, D_MESSAGE, D_TYPE = 1, 14, 15
(M_TYPE, M_PROTO, M_QADDR, M_RADDR, M_QPORT, M_QSEC, M_QNSEC, M_QMSG, M_RSEC, M_RNSEC,
 M_RMSG) = (1, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14)
_MSG_FIELDS = (M_TYPE, M_PROTO, M_QADDR, M_RADDR, M_QPORT, M_QSEC, M_QNSEC, M_QMSG, M_RSEC,
               M_RNSEC, M_RMSG)
KEY = "_pair_key"
KIND = "_is_query"
HAS_QTIME = "_has_qtime"


@dataclass
class Decoded:
    """Rows decoded from one batch of frames (DNS columns plus pairing helpers), and
    errors as (frame index, reason)."""

    table: pa.Table
    errors: list[tuple[int, str]]
    skipped: int = 0


def decode_frames(data: bytes | np.ndarray, starts: np.ndarray, ends: np.ndarray, *,
                  default_ts_us: int | None = None, pending: bool = True) -> Decoded:
    """Decode dnstap payloads `data[starts[i]:ends[i]]` in bulk.

    Queries whose response is in the same batch are recognised by a key made of raw bytes
    (client address and port, DNS id, question section) and dropped *before* their DNS
    message is decoded: with resolvers that log both, that halves the DNS decoding.
    `pending` says whether queries from earlier batches still wait for a response; when
    not, and this batch holds no queries, no keys are needed (responses-only streams)."""
    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    if not buf.size:
        buf = np.zeros(1, np.uint8)
    env = protowire.decode(buf, starts, ends, (D_IDENTITY, D_MESSAGE, D_TYPE))
    msg = env.fields[D_MESSAGE]
    reasons = env.reason.copy()
    bad_env = env.ok & ~(msg.present & (env.fields[D_TYPE].value == 1))
    reasons[bad_env] = "not a dnstap MESSAGE payload (type or message field missing)"
    ok = env.ok & ~bad_env
    mf = protowire.decode(buf, np.where(ok, msg.start, 0), np.where(ok, msg.end, 0),
                          _MSG_FIELDS)
    reasons[ok & ~mf.ok] = mf.reason[ok & ~mf.ok]
    ok &= mf.ok
    f = mf.fields
    mtype = f[M_TYPE].value.astype(I64)
    is_q = np.isin(mtype, QUERY_TYPES)
    is_r = np.isin(mtype, RESPONSE_TYPES)
    wanted = ok & (is_q | is_r)
    skipped = int((ok & ~wanted).sum())
    has_dns = np.where(is_r, f[M_RMSG].present, f[M_QMSG].present)
    reasons[wanted & ~has_dns] = "dnstap message carries no DNS message"
    cand = np.flatnonzero(wanted & has_dns)
    d_start = np.where(is_r, f[M_RMSG].start, f[M_QMSG].start)
    d_end = np.where(is_r, f[M_RMSG].end, f[M_QMSG].end)
    if pending or not is_r[cand].all():
        keys = _raw_keys(buf, f, cand, d_start[cand], d_end[cand])
    else:
        keys = pa.nulls(cand.size, pa.binary())
    ts, has_ts = _timestamps(f, cand, default_ts_us)
    answered, ts = _pair_in_batch(keys, is_r[cand], ts, has_ts, f[M_QSEC].present[cand])
    keep = ~answered
    rows, keys, ts, has_ts = cand[keep], keys.filter(pa.array(keep)), ts[keep], has_ts[keep]
    dec = decode_messages(buf, d_start[rows], d_end[rows])
    good = np.ones(rows.size, bool)
    for i, why in dec.errors:
        good[i] = False
        reasons[rows[i]] = f"DNS message: {why}"
    reasons[rows[good & ~has_ts]] = "no query_time or response_time"
    good &= has_ts
    cols = {
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "client": _addresses(buf, f[M_QADDR], rows),
        "client_port": pa.array(f[M_QPORT].value[rows].astype(np.uint16), pa.uint16(),
                                mask=~f[M_QPORT].present[rows]),
        "server": _addresses(buf, f[M_RADDR], rows),
        "qname": dec.qname, "qtype": dec.qtype, "rcode": dec.rcode,
        "answers": dec.answers, "ttl": dec.ttl,
        "response_size": pa.array(dec.size.to_numpy(zero_copy_only=False), pa.uint32(),
                                  mask=~is_r[rows]),
        "transport": _transport(f[M_PROTO], rows),
        "sensor": _strings(buf, env.fields[D_IDENTITY], rows),
        KIND: pa.array(is_q[rows]),
        HAS_QTIME: pa.array(f[M_QSEC].present[rows]),
        KEY: keys,
    }
    table = pa.table(cols)
    if not good.all():
        table = table.filter(pa.array(good))
    errors = [(int(i), str(reasons[i])) for i in np.flatnonzero(reasons != None)]  # noqa: E711
    return Decoded(table, errors, skipped)


def _pair_in_batch(keys: pa.Array, is_r: np.ndarray, ts: np.ndarray, has_ts: np.ndarray,
                   has_qtime: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which queries have their response in this batch (they need no row), and the
    timestamps with responses that lack query_time given their query's time."""
    r_idx, q_idx = np.flatnonzero(is_r), np.flatnonzero(~is_r)
    answered = np.zeros(is_r.size, bool)
    if not r_idx.size or not q_idx.size:
        return answered, ts
    r_keys, q_keys = keys.take(pa.array(r_idx)), keys.take(pa.array(q_idx))
    answered[q_idx] = pc.is_in(q_keys, value_set=r_keys).to_numpy(zero_copy_only=False)
    need = r_idx[~has_qtime[r_idx]]
    if need.size:
        found = pc.index_in(keys.take(pa.array(need)), value_set=q_keys)
        hit = found.is_valid().to_numpy(zero_copy_only=False)
        src = q_idx[found.fill_null(0).to_numpy(zero_copy_only=False)]
        ts = ts.copy()
        ts[need[hit]] = np.where(has_ts[src[hit]], ts[src[hit]], ts[need[hit]])
    return answered, ts


def _timestamps(f: dict[int, protowire.FieldColumn], rows: np.ndarray,
                default_ts_us: int | None) -> tuple[np.ndarray, np.ndarray]:
    def us(sec: int, nsec: int) -> np.ndarray:
        return (f[sec].value[rows].astype(I64) * 1_000_000
                + f[nsec].value[rows].astype(I64) // 1000)

    q, r = f[M_QSEC].present[rows], f[M_RSEC].present[rows]
    ts = np.where(q, us(M_QSEC, M_QNSEC), us(M_RSEC, M_RNSEC))
    has = q | r
    if default_ts_us is not None:
        ts = np.where(has, ts, default_ts_us)
        has = np.ones(rows.size, bool)
    return np.where(has, ts, 0), has


def _addresses(buf: np.ndarray, col: protowire.FieldColumn, rows: np.ndarray) -> pa.Array:
    """IPv4 (4 bytes) and IPv6 (16 bytes) as text; other lengths null."""
    start, ln = col.start[rows], (col.end - col.start)[rows]
    present = col.present[rows]
    where = [np.flatnonzero(present & (ln == w)) for w in (4, 16)]
    idx = np.concatenate(where)
    if not idx.size:
        return pa.nulls(rows.size, pa.string())
    texts = pa.concat_arrays([addresses_text(buf[start[i][:, None] + np.arange(w)])
                              for i, w in zip(where, (4, 16), strict=True)])
    if idx.size == rows.size and not where[1].size:
        return texts  # all IPv4, already in row order
    mask = np.zeros(rows.size, bool)
    mask[idx] = True
    order = np.argsort(idx, kind="stable")
    return pc.replace_with_mask(pa.nulls(rows.size, pa.string()), pa.array(mask),
                                texts.take(pa.array(order)))


def _transport(col: protowire.FieldColumn, rows: np.ndarray) -> pa.Array:
    code = col.value[rows].astype(I64)
    known = col.present[rows] & (code >= 1) & (code < len(TRANSPORTS))
    names = pa.array(TRANSPORTS, pa.string())
    return names.take(pa.array(np.where(known, code, 0), mask=~known))


def _strings(buf: np.ndarray, col: protowire.FieldColumn, rows: np.ndarray) -> pa.Array:
    """Byte fields as strings (UTF-8, bad bytes replaced), via the few distinct values."""
    start = col.start[rows]
    binary = gather_binary(buf, start, col.end[rows] - start, col.present[rows])
    enc = binary.dictionary_encode()
    words = [b.decode("utf-8", "replace") for b in enc.dictionary.to_pylist()]
    return pa.array(words, pa.string()).take(enc.indices)


def _raw_keys(buf: np.ndarray, f: dict[int, protowire.FieldColumn], cand: np.ndarray,
              d_start: np.ndarray, d_end: np.ndarray) -> pa.Array:
    """What a query and its response share, as raw bytes: client port, DNS id and address
    length, then the client address, then the question section (name as sent, type,
    class). Null where the question cannot be walked (the DNS decoder reports why)."""
    addr = f[M_QADDR]
    fixed = np.zeros((cand.size, 5), np.uint8)
    port = np.where(f[M_QPORT].present[cand], f[M_QPORT].value[cand], 0).astype(I64)
    fixed[:, 0], fixed[:, 1] = port >> 8, port & 0xFF
    fixed[:, 2] = buf[np.minimum(d_start, buf.size - 1)]
    fixed[:, 3] = buf[np.minimum(d_start + 1, buf.size - 1)]
    fixed[:, 4] = np.where(addr.present[cand], addr.end[cand] - addr.start[cand], 0)
    head = pa.Array.from_buffers(pa.binary(5), cand.size, [None, pa.py_buffer(fixed)])
    walk = walk_names(WireBuffer(buf), d_start, d_end, d_start + 12, collect=False)
    q_ok = walk.ok & (d_end - d_start >= 12) & (walk.after + 4 <= d_end)
    question = gather_binary(buf, d_start + 12, walk.after + 4 - (d_start + 12), q_ok)
    address = gather_binary(buf, addr.start[cand], addr.end[cand] - addr.start[cand],
                            addr.present[cand])
    return pc.binary_join_element_wise(head.cast(pa.binary()), pc.fill_null(address, b""),
                                       question, pa.scalar(b"", pa.binary()))


def gather_binary(buf: np.ndarray, start: np.ndarray, length: np.ndarray,
                  valid: np.ndarray) -> pa.Array:
    """A binary array of `buf[start[i]:start[i]+length[i]]` (null where not `valid`)."""
    ln = np.where(valid, length, 0).astype(I64)
    offsets = np.zeros(start.size + 1, np.int32)
    np.cumsum(ln, out=offsets[1:])
    ramp = np.arange(int(offsets[-1]), dtype=I64)
    data = buf[np.repeat(start - offsets[:-1], ln) + ramp]
    return pa.Array.from_buffers(pa.binary(), start.size, [
        pa.py_buffer(np.packbits(valid, bitorder="little")), pa.py_buffer(offsets),
        pa.py_buffer(data)])


class Pairer:
    """Pairs queries with their responses so each transaction is one row.

    A query waits (in `pending`) until its response arrives, then it is dropped: the
    response row stands for both. A query still unanswered `hold_us` after it was asked
    (measured on the stream's own clock, or the wall clock via `expire` when live input
    is idle) becomes a row of its own with a null rcode. At most `max_pending` queries
    wait; beyond that the oldest are emitted early."""

    def __init__(self, hold_us: int = 3_000_000, max_pending: int = 1_000_000) -> None:
        self.hold_us = hold_us
        self.max_pending = max_pending
        self.pending: pa.Table | None = None
        self.newest_us = -(2**62)

    def push(self, table: pa.Table) -> pa.Table:
        n_queries = pc.sum(table[KIND]).as_py() or 0
        if n_queries == 0:  # responses only (or nothing): no copies
            resp, queries = table, table.slice(0, 0)
        else:
            resp = table.filter(pc.invert(table[KIND]))
            queries = table.filter(table[KIND])
        if self.pending is not None and self.pending.num_rows:
            queries = pa.concat_tables([self.pending, queries])
        if queries.num_rows:
            resp = _borrow_query_time(resp, queries)
            queries = queries.filter(pc.invert(pc.is_in(queries[KEY], value_set=resp[KEY])))
        self.pending = queries
        if table.num_rows:
            newest = pc.max(table["ts"]).cast(pa.int64()).as_py()
            self.newest_us = max(self.newest_us, newest)
        return _finish([resp, self.expire(self.newest_us)])

    def expire(self, now_us: int) -> pa.Table:
        """Emit (and forget) the queries asked more than `hold_us` before `now_us`."""
        if self.pending is None or not self.pending.num_rows:
            return DNS.empty_table()
        ts = self.pending["ts"].cast(pa.int64())
        old = pc.less(ts, now_us - self.hold_us)
        if self.pending.num_rows > self.max_pending:
            extra = self.pending.num_rows - self.max_pending
            oldest = np.argpartition(ts.to_numpy(), extra - 1)[:extra]
            mask = np.zeros(self.pending.num_rows, bool)
            mask[oldest] = True
            old = pc.or_(old, pa.array(mask))
        out = self.pending.filter(old)
        self.pending = self.pending.filter(pc.invert(old))
        return _finish([out])

    def drain(self) -> pa.Table:
        out = [self.pending] if self.pending is not None else []
        self.pending = None
        return _finish(out)


def _borrow_query_time(resp: pa.Table, queries: pa.Table) -> pa.Table:
    """A response without query_time takes the time of its query when we saw it."""
    need = pc.invert(resp[HAS_QTIME])
    if not queries.num_rows or not pc.any(need).as_py():
        return resp
    idx = pc.index_in(resp[KEY], value_set=queries[KEY])
    use = pc.and_(need, pc.is_valid(idx))
    if not pc.any(use).as_py():
        return resp
    qts = queries["ts"].take(pc.fill_null(idx, 0))
    ts = pc.if_else(use, qts, resp["ts"])
    return resp.set_column(resp.schema.get_field_index("ts"), "ts", ts)


def _finish(tables: list[pa.Table]) -> pa.Table:
    """`dns` rows only (the pairing helper columns dropped)."""
    tables = [DNS.conform(t) for t in tables if t.num_rows]
    if not tables:
        return DNS.empty_table()
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


class DnstapDecoder:
    """Frames in, `dns` batches and located errors out (used by the file reader and by the
    live listener)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pairer = Pairer()
        self.skipped = 0

    def decode(self, frames: FrameBatch, *, default_ts_us: int | None = None) -> Chunk:
        waiting = self.pairer.pending is not None and self.pairer.pending.num_rows > 0
        dec = decode_frames(frames.data, frames.starts, frames.ends,
                            default_ts_us=default_ts_us, pending=waiting)
        self.skipped += dec.skipped
        errors = [RecordError(Location(self.source, offset=int(frames.base + frames.starts[i]
                                                                 - 4)), f"dnstap frame: {why}")
                  for i, why in dec.errors]
        return _chunk(self.pairer.push(dec.table), errors)

    def expire(self, now_us: int) -> Chunk:
        """Rows for queries still unanswered `hold_us` before `now_us` (live idle time)."""
        return _chunk(self.pairer.expire(now_us), [])

    def drain(self) -> Chunk:
        """End of input: every query still waiting becomes a row."""
        return _chunk(self.pairer.drain(), [])


def _chunk(table: pa.Table, errors: list[RecordError]) -> Chunk:
    if not table.num_rows:
        return Chunk(None, errors)
    batches = table.to_batches()
    batch = batches[0] if len(batches) == 1 else table.combine_chunks().to_batches()[0]
    return Chunk(batch, errors)


@dataclass
class DnstapReader:
    """The registered `dnstap` file reader."""

    name: str = "dnstap"
    description: str = "dnstap Frame Streams file (BIND, Unbound, Knot Resolver, dnsdist, ...)"
    sniff_priority: int = 10
    content_type: bytes = field(default=CONTENT_TYPE_DNSTAP)

    def sniff(self, head: bytes) -> bool:
        sc = scan(head[:1024], 0)
        return (sc.control is not None and sc.control.type == ControlType.START
                and self.content_type in sc.control.content_types)

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        decoder = DnstapDecoder(source)
        for item in read_frames(stream, content_type=self.content_type,
                                batch_size=batch_size):
            if isinstance(item, FrameError):
                yield Chunk(None, [RecordError(Location(source, offset=item.offset),
                                               f"Frame Streams: {item.reason}")])
                continue
            chunk = decoder.decode(item)
            if chunk.batch is not None or chunk.errors:
                yield chunk
        last = decoder.drain()
        if last.batch is not None:
            yield last


READERS = [DnstapReader()]


# ------------------------------------------------------------------------------------------
# Encoding (the simulator, tests and benchmarks write dnstap with this)
# ------------------------------------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(num: int, value: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(value)) + value


def _int_field(num: int, value: int) -> bytes:
    return _varint(num << 3) + _varint(value)


def _fixed32_field(num: int, value: int) -> bytes:
    return _varint(num << 3 | 5) + value.to_bytes(4, "little")


@dataclass(frozen=True)
class DnstapMessage:
    """One dnstap Message to encode. Times are microseconds since the epoch."""

    type: int
    query_address: bytes | None = None
    response_address: bytes | None = None
    query_port: int | None = None
    response_port: int | None = None
    socket_protocol: int = 1
    query_time_us: int | None = None
    response_time_us: int | None = None
    query_message: bytes | None = None
    response_message: bytes | None = None


def encode_dnstap(msg: DnstapMessage, identity: bytes | None = None,
                  version: bytes | None = None) -> bytes:
    """Serialise one `dnstap.Dnstap` payload (fields in schema order)."""
    body = _int_field(M_TYPE, msg.type)
    addr = msg.query_address or msg.response_address
    if addr is not None:
        body += _int_field(2, 2 if len(addr) == 16 else 1)
    body += _int_field(M_PROTO, msg.socket_protocol)
    for num, raw in ((M_QADDR, msg.query_address), (M_RADDR, msg.response_address)):
        if raw is not None:
            body += _bytes_field(num, raw)
    for num, port in ((M_QPORT, msg.query_port), (7, msg.response_port)):
        if port is not None:
            body += _int_field(num, port)
    if msg.query_time_us is not None:
        body += _int_field(M_QSEC, msg.query_time_us // 1_000_000)
        body += _fixed32_field(M_QNSEC, msg.query_time_us % 1_000_000 * 1000)
    if msg.query_message is not None:
        body += _bytes_field(M_QMSG, msg.query_message)
    if msg.response_time_us is not None:
        body += _int_field(M_RSEC, msg.response_time_us // 1_000_000)
        body += _fixed32_field(M_RNSEC, msg.response_time_us % 1_000_000 * 1000)
    if msg.response_message is not None:
        body += _bytes_field(M_RMSG, msg.response_message)
    out = b""
    if identity is not None:
        out += _bytes_field(D_IDENTITY, identity)
    if version is not None:
        out += _bytes_field(2, version)
    return out + _bytes_field(D_MESSAGE, body) + _int_field(D_TYPE, 1)
