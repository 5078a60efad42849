"""A TSIG-signed AXFR that keeps up with a fast server.

dnspython's own transfer reads and parses message by message; on a busy machine that is
slower than an authoritative server sends, and Knot DNS closes a TCP connection whose peer
does not read for its `tcp-io-timeout` (500 ms by default): measured here, a 50,000-record
zone broke off after ~10,000 records. So a thread drains the socket into memory as fast as
it can while the caller parses (and checks TSIG on) each message in order."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig

from bluelamp.registry.base import RegistryError

_END = b""


def _read_exact(sock: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        part = sock.recv(count - len(chunks))
        if not part:
            raise EOFError("connection closed")
        chunks += part
    return bytes(chunks)


def _drain(sock: socket.socket, frames: queue.Queue[bytes | Exception]) -> None:
    try:
        while True:
            size = int.from_bytes(_read_exact(sock, 2), "big")
            frames.put(_read_exact(sock, size))
    except EOFError:
        frames.put(_END)
    except OSError as exc:  # includes the close we do when the transfer is complete
        frames.put(exc)


def axfr(server: str, port: int, zone: str, key: dns.tsig.Key,
         timeout: float) -> Iterator[dns.rrset.RRset]:
    """Every record of `zone` (one RRset per record, as sent), the closing SOA excluded."""
    origin = dns.name.from_text(zone)
    query = dns.message.make_query(origin, "AXFR")
    query.use_tsig(key)
    wire = query.to_wire()
    sock = socket.create_connection((server, port), timeout=timeout)
    frames: queue.Queue[bytes | Exception] = queue.Queue()
    try:
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        threading.Thread(target=_drain, args=(sock, frames), daemon=True).start()
        yield from _records(frames, query, key, origin, timeout)
    finally:
        sock.close()


def _records(frames: queue.Queue[bytes | Exception], query: dns.message.Message,
             key: dns.tsig.Key, origin: dns.name.Name,
             timeout: float) -> Iterator[dns.rrset.RRset]:
    ctx = None
    soas = 0
    while True:
        try:
            frame = frames.get(timeout=timeout)
        except queue.Empty:
            raise RegistryError(f"AXFR of {origin}: no data for {timeout} s") from None
        if isinstance(frame, Exception) or frame == _END:
            raise RegistryError(f"AXFR of {origin}: connection ended early ({frame!r})")
        message = dns.message.from_wire(frame, keyring=key, request_mac=query.mac, xfr=True,
                                        tsig_ctx=ctx, multi=True,
                                        one_rr_per_rrset=True)
        ctx = message.tsig_ctx
        if message.rcode() != dns.rcode.NOERROR:
            raise RegistryError(f"AXFR of {origin}: {dns.rcode.to_text(message.rcode())}")
        for rrset in message.answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == origin:
                soas += 1
                if soas == 2:
                    if not message.had_tsig:
                        raise RegistryError(f"AXFR of {origin}: last message not signed")
                    return
            yield rrset
