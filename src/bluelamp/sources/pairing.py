"""Pair captured DNS queries with their responses so that one transaction is one row.

A response answers the oldest unanswered query with the same client address and port, DNS
id, question name and type. A query still unanswered `timeout` after the newest message of a
batch becomes a row with null rcode; a response whose query was not captured becomes a row of
its own (ts = the response's time). Queries that may still be answered are carried into the
next batch and decoded again there (cheap), so pairing works across batch boundaries.
"""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import Location, RecordError
from bluelamp.schema import DNS, TIMESTAMP
from bluelamp.sources.dnswire import DecodedMessages, decode_messages

TIMEOUT_US = 10_000_000


@dataclass
class Message:
    """One DNS message as captured."""

    ts_us: int
    src: bytes
    sport: int
    dst: bytes
    dport: int
    transport: str
    payload: bytes
    offset: int  # byte offset of the packet record that completed it


def ip_text(raw: bytes, cache: dict[bytes, str]) -> str:
    text = cache.get(raw)
    if text is None:
        text = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        cache[raw] = text
    return text


class Pairer:
    def __init__(self, source: str, sensor: str, timeout_us: int = TIMEOUT_US) -> None:
        self.source = source
        self.sensor = sensor
        self.timeout_us = timeout_us
        self.carry: list[Message] = []
        self._ips: dict[bytes, str] = {}

    def add(self, messages: list[Message], final: bool = False
            ) -> tuple[pa.Table, list[RecordError]]:
        msgs = self.carry + messages
        carried = len(self.carry)
        self.carry = []
        if not msgs:
            return DNS.empty_table(), []
        lengths = np.fromiter((len(m.payload) for m in msgs), dtype=np.int64, count=len(msgs))
        ends = np.cumsum(lengths)
        dec = decode_messages(b"".join(m.payload for m in msgs), ends - lengths, ends)
        bad = np.zeros(len(msgs), dtype=bool)
        errors = []
        for i, reason in dec.errors:
            bad[i] = True
            if i >= carried:
                errors.append(RecordError(Location(self.source, offset=msgs[i].offset),
                                          f"bad DNS message: {reason}"))
        qi, ri = self._pair(msgs, dec.qname.to_pylist(), dec.qtype.to_pylist(),
                            dec.is_response, bad, final)
        return self._table(msgs, dec, qi, ri), errors

    def _pair(self, msgs: list[Message], qnames: list[str | None], qtypes: list[int | None],
              is_resp: np.ndarray, bad: np.ndarray, final: bool
              ) -> tuple[np.ndarray, np.ndarray]:
        pending: dict[tuple[object, ...], deque[int]] = {}
        q_rows: list[int] = []
        r_rows: list[int] = []
        for i, m in enumerate(msgs):
            if bad[i]:
                continue
            dns_id = int.from_bytes(m.payload[:2], "big")
            if not is_resp[i]:
                key = (m.src, m.sport, dns_id, qnames[i], qtypes[i])
                pending.setdefault(key, deque()).append(i)
                continue
            waiting = pending.get((m.dst, m.dport, dns_id, qnames[i], qtypes[i]))
            q_rows.append(waiting.popleft() if waiting else -1)
            r_rows.append(i)
        newest = max(m.ts_us for m in msgs)
        for queue in pending.values():
            for i in queue:
                if not final and msgs[i].ts_us >= newest - self.timeout_us:
                    self.carry.append(msgs[i])
                else:
                    q_rows.append(i)
                    r_rows.append(-1)
        self.carry.sort(key=lambda m: m.ts_us)
        return np.array(q_rows, dtype=np.int64), np.array(r_rows, dtype=np.int64)

    def _table(self, msgs: list[Message], dec: DecodedMessages, qi: np.ndarray, ri: np.ndarray
               ) -> pa.Table:
        if not len(qi):
            return DNS.empty_table()
        base = np.where(qi >= 0, qi, ri)
        from_query = qi >= 0
        client, port, server = [], [], []
        for b, q in zip(base.tolist(), from_query.tolist(), strict=True):
            m = msgs[b]
            if q:
                client.append(ip_text(m.src, self._ips))
                server.append(ip_text(m.dst, self._ips))
                port.append(m.sport)
            else:
                client.append(ip_text(m.dst, self._ips))
                server.append(ip_text(m.src, self._ips))
                port.append(m.dport)
        ts = np.array([msgs[b].ts_us for b in base.tolist()], dtype=np.int64)
        resp = pa.array(ri, mask=ri < 0)
        base_idx = pa.array(base)
        table = DNS.conform(pa.table({
            "ts": pa.array(ts).cast(TIMESTAMP),
            "client": pa.array(client, pa.string()),
            "client_port": pa.array(port, pa.uint16()),
            "server": pa.array(server, pa.string()),
            "qname": pc.take(dec.qname, base_idx),
            "qtype": pc.take(dec.qtype, base_idx),
            "rcode": pc.take(dec.rcode, resp),
            "answers": pc.take(dec.answers, resp),
            "ttl": pc.take(dec.ttl, resp),
            "response_size": pc.take(dec.size, resp),
            "transport": pa.array([msgs[b].transport for b in base.tolist()], pa.string()),
            "sensor": pa.array([self.sensor] * len(base), pa.string()),
        }))
        return table.sort_by("ts")
