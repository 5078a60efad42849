"""Per-row details that logs carry but the `dns` schema does not (message id, round-trip
time, Zeek connection uid), derived from a hash of the row so that writing the same table
twice, in any batching, gives the same bytes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def row_hash(table: pa.Table) -> np.ndarray:
    ts = table.column("ts").cast(pa.int64()).to_numpy().astype(np.uint64)
    port = table.column("client_port").fill_null(0).to_numpy().astype(np.uint64)
    qtype = table.column("qtype").fill_null(0).to_numpy().astype(np.uint64)
    with np.errstate(over="ignore"):
        return _mix(ts ^ (port << np.uint64(44)) ^ (qtype << np.uint64(28)))


def txids(h: np.ndarray) -> np.ndarray:
    return (h & np.uint64(0xFFFF)).astype(np.int64)


def rtts_us(h: np.ndarray) -> np.ndarray:
    """Round-trip times: most answers come from the cache (0.1-1 ms); one in five needs
    the resolver to recurse (5-80 ms)."""
    recursed = (h >> np.uint64(16)) % np.uint64(5) == 0
    fast = 100 + (h >> np.uint64(20)) % np.uint64(900)
    slow = 5_000 + (h >> np.uint64(30)) % np.uint64(75_000)
    return np.where(recursed, slow, fast).astype(np.int64)


def zeek_uids(h: np.ndarray) -> list[str]:
    """Zeek-style connection ids: "C" and 17 base62 characters."""
    digits = np.empty((len(h), 17), np.uint8)
    x = _mix(h ^ np.uint64(0x5EED))
    y = _mix(x)
    for i in range(17):
        src = x if i < 9 else y
        digits[:, i] = _B62[(src >> np.uint64(6 * (i % 9))) % np.uint64(62)]
    raw = digits.tobytes().decode()
    return ["C" + raw[i * 17 : (i + 1) * 17] for i in range(len(h))]
