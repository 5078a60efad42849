"""Pair captured DNS queries with their responses so that one transaction is one row.

Vectorised: all messages of a batch are sorted by (client address, client port, DNS id,
qname, qtype) and, within that key, queries before responses in capture order; the k-th
response of a key answers the k-th query of that key. A query still unanswered `timeout`
after the newest message of a batch becomes a row with null rcode; a response whose query
was not captured becomes a row of its own (ts = the response's time). Queries that may still
be answered are carried into the next batch (their bytes copied, decoded again there), so
pairing works across batch boundaries.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS, TIMESTAMP
from bluelamp.sources.convert import constant_strings
from bluelamp.sources.dnswire import DecodedMessages, decode_messages

TIMEOUT_US = 10_000_000
I64 = np.int64


@dataclass
class MessageBatch:
    """DNS messages data[starts[i]:ends[i]] with their capture metadata. Addresses are 16
    bytes (IPv4 as ::ffff:a.b.c.d) with `v4` saying which were IPv4."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    ts_us: np.ndarray
    src: np.ndarray       # (n, 16) uint8
    dst: np.ndarray       # (n, 16) uint8
    v4: np.ndarray        # bool
    sport: np.ndarray
    dport: np.ndarray
    tcp: np.ndarray       # bool
    offsets: np.ndarray   # byte offset of the packet record that completed the message

    def __len__(self) -> int:
        return int(self.starts.size)

    @classmethod
    def empty(cls) -> MessageBatch:
        z = np.zeros(0, I64)
        a = np.zeros((0, 16), np.uint8)
        return cls(b"", z, z, z, a, a, z.astype(bool), z, z, z.astype(bool), z)

    def take(self, idx: np.ndarray) -> MessageBatch:
        """A reordered/filtered view sharing `data`."""
        return MessageBatch(self.data, self.starts[idx], self.ends[idx], self.ts_us[idx],
                            self.src[idx], self.dst[idx], self.v4[idx], self.sport[idx],
                            self.dport[idx], self.tcp[idx], self.offsets[idx])

    def compact(self) -> MessageBatch:
        """A copy holding only its own payload bytes (for carrying a few messages)."""
        parts = [self.data[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist(),
                                                strict=True)]
        lengths = np.array([len(p) for p in parts], I64)
        ends = np.cumsum(lengths)
        return MessageBatch(b"".join(parts), ends - lengths, ends, self.ts_us, self.src,
                            self.dst, self.v4, self.sport, self.dport, self.tcp, self.offsets)


def concat(batches: list[MessageBatch]) -> MessageBatch:
    batches = [b for b in batches if len(b)]
    if not batches:
        return MessageBatch.empty()
    if len(batches) == 1:
        return batches[0]
    shift = np.cumsum([0] + [len(b.data) for b in batches[:-1]])

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in batches])

    return MessageBatch(
        b"".join(b.data for b in batches),
        np.concatenate([b.starts + k for b, k in zip(batches, shift, strict=True)]),
        np.concatenate([b.ends + k for b, k in zip(batches, shift, strict=True)]),
        cat("ts_us"), cat("src"), cat("dst"), cat("v4"), cat("sport"), cat("dport"),
        cat("tcp"), cat("offsets"))


def address_text(addr: np.ndarray, v4: np.ndarray) -> pa.Array:
    """Text form of (n, 16) addresses, converting each distinct address once."""
    if not len(addr):
        return pa.array([], pa.string())
    keyed = np.concatenate([addr, v4[:, None].astype(np.uint8)], axis=1)
    void = np.ascontiguousarray(keyed).view(np.dtype((np.void, 17))).ravel()
    distinct, inverse = np.unique(void, return_inverse=True)
    texts = []
    for raw in distinct.tolist():
        b = bytes(raw)
        texts.append(socket.inet_ntop(socket.AF_INET, b[12:16]) if b[16] else
                     socket.inet_ntop(socket.AF_INET6, b[:16]))
    return pc.take(pa.array(texts, pa.string()), pa.array(inverse.ravel()))


class Pairer:
    def __init__(self, source: str, sensor: str, timeout_us: int = TIMEOUT_US) -> None:
        self.source = source
        self.sensor = sensor
        self.timeout_us = timeout_us
        self.carry = MessageBatch.empty()
        self.held = DNS.empty_table()  # rows not yet emitted, to keep the output in ts order

    def add(self, batch: MessageBatch, final: bool = False
            ) -> tuple[pa.Table, list[RecordError]]:
        carried = len(self.carry)
        msgs = concat([self.carry, batch])
        self.carry = MessageBatch.empty()
        if not len(msgs):
            return self._in_order(DNS.empty_table()), []
        dec = decode_messages(msgs.data, msgs.starts, msgs.ends)
        bad = np.zeros(len(msgs), dtype=bool)
        errors = []
        for i, reason in dec.errors:
            bad[i] = True
            if i >= carried:  # carried messages were reported in their own batch
                errors.append(RecordError(Location(self.source, offset=int(msgs.offsets[i])),
                                          f"bad DNS message: {reason}"))
        qi, ri, keep = self._pair(msgs, dec, bad, final)
        if keep.size:
            self.carry = msgs.take(keep).compact()
        return self._in_order(self._table(msgs, dec, qi, ri)), errors

    def _in_order(self, table: pa.Table) -> pa.Table:
        """Emit only rows older than the oldest query still waiting for its answer (that
        query's row comes later, and must not come out of order)."""
        rows = pa.concat_tables([self.held, table]).sort_by("ts")
        if not len(self.carry):
            self.held = DNS.empty_table()
            return rows
        cut = pa.scalar(int(self.carry.ts_us.min()), pa.int64()).cast(TIMESTAMP)
        early = pc.less(rows.column("ts"), cut)
        self.held = rows.filter(pc.invert(early))
        return rows.filter(early)

    def _pair(self, m: MessageBatch, dec: DecodedMessages, bad: np.ndarray, final: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        good = np.flatnonzero(~bad)
        resp = dec.is_response[good]
        client = np.where(resp[:, None], m.dst[good], m.src[good])
        halves = np.ascontiguousarray(client).view(np.uint64)  # (n, 2): sortable keys
        port = np.where(resp, m.dport[good], m.sport[good])
        data = np.frombuffer(m.data, np.uint8) if m.data else np.zeros(2, np.uint8)
        starts = m.starts[good]
        dns_id = (data[starts].astype(I64) << 8) | data[starts + 1]
        names = pc.dictionary_encode(pc.take(dec.qname, pa.array(good)))
        qcode = np.asarray(names.indices.to_numpy(zero_copy_only=False), I64)
        qtype = np.asarray(pc.take(dec.qtype, pa.array(good)).to_numpy(zero_copy_only=False),
                           I64)
        keys = (halves[:, 0], halves[:, 1], port, dns_id, qcode, qtype)
        order = np.lexsort((np.arange(good.size), resp, *reversed(keys)))
        n = order.size
        change = np.zeros(n, dtype=bool)
        change[:1] = True
        for k in keys:
            ks = k[order]
            change[1:] |= ks[1:] != ks[:-1]
        gid = np.cumsum(change) - 1
        gstart = np.flatnonzero(change)
        is_r = resp[order]
        nq = np.bincount(gid, weights=~is_r, minlength=gstart.size).astype(I64)
        rank = np.arange(n) - gstart[gid] - nq[gid]       # position among the responses
        paired = is_r & (rank < nq[gid])
        q_pos = gstart[gid[paired]] + rank[paired]
        answered = np.zeros(n, dtype=bool)
        answered[q_pos] = True
        lone_q = ~is_r & ~answered
        lone_r = is_r & ~paired
        q_of = good[order]
        newest = int(m.ts_us.max())
        waiting = lone_q & (m.ts_us[q_of] >= newest - self.timeout_us)
        if final:
            waiting[:] = False
        given_up = lone_q & ~waiting
        qi = np.concatenate([q_of[q_pos], q_of[given_up], np.full(int(lone_r.sum()), -1)])
        ri = np.concatenate([q_of[paired], np.full(int(given_up.sum()), -1), q_of[lone_r]])
        keep = np.sort(q_of[waiting])
        return qi.astype(I64), ri.astype(I64), keep

    def _table(self, m: MessageBatch, dec: DecodedMessages, qi: np.ndarray, ri: np.ndarray
               ) -> pa.Table:
        if not qi.size:
            return DNS.empty_table()
        from_q = qi >= 0
        base = np.where(from_q, qi, ri)
        client = np.where(from_q[:, None], m.src[base], m.dst[base])
        server = np.where(from_q[:, None], m.dst[base], m.src[base])
        port = np.where(from_q, m.sport[base], m.dport[base])
        resp = pa.array(ri, mask=ri < 0)
        base_idx = pa.array(base)
        transport = pc.if_else(pa.array(m.tcp[base]), "tcp", "udp")
        table = DNS.conform(pa.table({
            "ts": pa.array(m.ts_us[base]).cast(TIMESTAMP),
            "client": address_text(client, m.v4[base]),
            "client_port": pa.array(port.astype(np.uint16), pa.uint16()),
            "server": address_text(server, m.v4[base]),
            "qname": pc.take(dec.qname, base_idx),
            "qtype": pc.take(dec.qtype, base_idx),
            "rcode": pc.take(dec.rcode, resp),
            "answers": pc.take(dec.answers, resp),
            "ttl": pc.take(dec.ttl, resp),
            "response_size": pc.take(dec.size, resp),
            "transport": transport,
            "sensor": constant_strings(self.sensor, int(base.size)),
        }))
        return table.sort_by("ts")
