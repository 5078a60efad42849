"""Live dnstap: accept Frame Streams connections from resolvers and yield `dns` chunks.

BIND, Unbound and Knot Resolver connect to us (we are the Frame Streams *receiver*) over a
Unix socket or TCP and speak the bidirectional handshake: READY (content types) → we answer
ACCEPT → START → data frames → STOP → we answer FINISH. A resolver that restarts or a
socket that drops only ends that connection; the listening socket stays and the next
connection is accepted. Frames are decoded in bulk once `batch_size` are waiting or
`flush_interval` seconds after the first one arrived, so findings appear while traffic flows.

One thread, one `selectors` loop: there is no shared state to lock, and a blocked client
cannot stall the others (sockets are non-blocking).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bluelamp.errors import ConfigError, Location, RecordError
from bluelamp.sources.base import Chunk
from bluelamp.sources.dnstap import DnstapDecoder
from bluelamp.sources.fstrm import (
    CONTENT_TYPE_DNSTAP,
    Control,
    ControlType,
    FrameBatch,
    FrameError,
    StreamDecoder,
    encode_control,
)
from bluelamp.textutil import is_decimal

RECV_BYTES = 256 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where to listen: `unix:PATH` or `tcp:HOST:PORT`."""

    kind: str
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        kind, _, rest = text.partition(":")
        if kind == "unix" and rest:
            return cls("unix", path=rest)
        if kind == "tcp":
            host, _, port = rest.rpartition(":")
            if host and is_decimal(port):
                return cls("tcp", host=host.strip("[]"), port=int(port))
        raise ConfigError(f"{text!r}: expected unix:PATH or tcp:HOST:PORT")

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.kind == "unix" else f"tcp:{self.host}:{self.port}"


@dataclass
class ListenerStats:
    connections: int = 0
    open_connections: int = 0
    frames: int = 0
    bytes: int = 0
    errors: int = 0
    batches: int = 0


@dataclass
class _Conn:
    sock: socket.socket
    name: str
    decoder: StreamDecoder = field(default_factory=StreamDecoder)
    started: bool = False


class DnstapListener:
    """Listen on `endpoint`; `chunks()` yields decoded batches (and, when idle, empty
    chunks every `flush_interval` so the caller can advance its clock)."""

    def __init__(self, endpoint: Endpoint | str, *, batch_size: int = 8192,
                 flush_interval: float = 0.5,
                 content_type: bytes = CONTENT_TYPE_DNSTAP) -> None:
        self.endpoint = Endpoint.parse(endpoint) if isinstance(endpoint, str) else endpoint
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.content_type = content_type
        self.stats = ListenerStats()
        self.decoder = DnstapDecoder(str(self.endpoint))
        self._sel = selectors.DefaultSelector()
        try:
            self._server = self._bind()
        except OSError as exc:
            self._sel.close()
            raise ConfigError(f"cannot listen on {self.endpoint}: {exc}") from None
        self._sel.register(self._server, selectors.EVENT_READ, None)
        self._conns: dict[int, _Conn] = {}
        self._frames: list[bytes] = []
        self._origins: list[tuple[str, int]] = []
        self._errors: list[RecordError] = []
        self._first_at: float | None = None

    @property
    def address(self) -> str:
        """The bound address (with the real port when port 0 was asked for)."""
        if self.endpoint.kind == "unix":
            return f"unix:{self.endpoint.path}"
        host, port = self._server.getsockname()[:2]
        return f"tcp:{host}:{port}"

    def _bind(self) -> socket.socket:
        ep = self.endpoint
        if ep.kind == "unix":
            path = Path(ep.path)
            if path.is_socket():
                path.unlink()  # a stale socket from a previous run
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(ep.path)
            # owner and group only: anyone who can write here can inject observations;
            # put the resolver's user in our group (docs/live.md)
            os.chmod(ep.path, 0o660)
        else:
            family = socket.AF_INET6 if ":" in ep.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ep.host, ep.port))
        sock.listen(16)
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        for conn in list(self._conns.values()):
            self._drop(conn)
        self._sel.unregister(self._server)
        self._server.close()
        self._sel.close()
        if self.endpoint.kind == "unix":
            Path(self.endpoint.path).unlink(missing_ok=True)

    def __enter__(self) -> DnstapListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ main loop

    def chunks(self, stop: threading.Event | None = None) -> Iterator[Chunk]:
        """Serve until `stop` is set; then decode what is waiting and return."""
        stop = stop or threading.Event()
        last_yield = time.monotonic()
        while not stop.is_set():
            self.poll(min(self.flush_interval, 0.2))
            now = time.monotonic()
            due = self._first_at is not None and now - self._first_at >= self.flush_interval
            if len(self._frames) >= self.batch_size or due or self._errors:
                yield self._decode()
                last_yield = now
            elif now - last_yield >= self.flush_interval:
                # idle: queries whose response never came become rows, and the caller
                # gets a chance to advance its clock
                yield self.decoder.expire(time.time_ns() // 1000)
                last_yield = now
        self._read_what_is_waiting()
        yield self._decode()
        yield self.decoder.drain()

    def _read_what_is_waiting(self, budget: float = 1.0) -> None:
        """On stop: frames already sent sit in socket buffers; read them (briefly)."""
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            before = (self.stats.bytes, self.stats.connections)
            self.poll(0.05)
            if (self.stats.bytes, self.stats.connections) == before:
                return

    def poll(self, timeout: float) -> None:
        """Accept, read and answer control frames for up to `timeout` seconds."""
        for key, _ in self._sel.select(timeout):
            if key.data is None:
                self._accept()
            else:
                self._read(key.data)

    def _accept(self) -> None:
        try:
            sock, peer = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        self.stats.connections += 1
        self.stats.open_connections += 1
        name = f"{self.endpoint} connection {self.stats.connections}"
        if peer:
            name += f" from {peer[0]}:{peer[1]}" if isinstance(peer, tuple) else f" ({peer})"
        conn = _Conn(sock, name)
        self._conns[sock.fileno()] = conn
        self._sel.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        self.stats.bytes += len(data)
        try:
            events = conn.decoder.feed(data)
        except FrameError as exc:
            self._error(conn.name, exc.offset, f"Frame Streams: {exc.reason}; connection "
                                               "closed")
            conn.decoder.buf.clear()  # already reported: not also "ended inside a frame"
            self._drop(conn)
            return
        for event in events:
            if isinstance(event, Control):
                if not self._control(conn, event):
                    return
            else:
                self._frame(conn, event[1], event[0])

    def _frame(self, conn: _Conn, payload: bytes, pos: int) -> None:
        if not conn.started:
            self._error(conn.name, pos, "data frame before START; frame ignored")
            return
        if self._first_at is None:
            self._first_at = time.monotonic()
        self._frames.append(payload)
        self._origins.append((conn.name, pos))
        self.stats.frames += 1

    def _control(self, conn: _Conn, ctl: Control) -> bool:
        """Answer the handshake; False if the connection was closed."""
        if ctl.type == ControlType.READY:
            if ctl.content_types and self.content_type not in ctl.content_types:
                offered = b", ".join(ctl.content_types).decode("ascii", "replace")
                self._error(conn.name, ctl.offset, f"sender offers content type(s) {offered}, "
                                                   f"not {self.content_type.decode()}")
                self._drop(conn)
                return False
            self._send(conn, encode_control(ControlType.ACCEPT, [self.content_type]))
        elif ctl.type == ControlType.START:
            if ctl.content_types and self.content_type not in ctl.content_types:
                self._error(conn.name, ctl.offset, "START with the wrong content type")
                self._drop(conn)
                return False
            conn.started = True
        elif ctl.type == ControlType.STOP:
            self._send(conn, encode_control(ControlType.FINISH))
            self._drop(conn)
            return False
        return True

    def _send(self, conn: _Conn, data: bytes) -> None:
        """Control replies are a few bytes; send them with a short blocking timeout."""
        with contextlib.suppress(OSError):
            conn.sock.settimeout(2.0)
            conn.sock.sendall(data)
        with contextlib.suppress(OSError):
            conn.sock.setblocking(False)

    def _drop(self, conn: _Conn) -> None:
        if conn.decoder.buf:
            self._error(conn.name, conn.decoder.offset,
                        f"connection ended inside a frame ({len(conn.decoder.buf)} bytes lost)")
        self._conns.pop(conn.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(conn.sock)
        conn.sock.close()
        self.stats.open_connections -= 1

    def _error(self, source: str, offset: int, message: str) -> None:
        self.stats.errors += 1
        self._errors.append(RecordError(Location(source, offset=offset), message))

    # ------------------------------------------------------------------ decoding

    def _decode(self) -> Chunk:
        frames, origins, errors = self._frames, self._origins, self._errors
        self._frames, self._origins, self._errors = [], [], []
        self._first_at = None
        if not frames:
            return Chunk(None, errors)
        lengths = np.fromiter((len(f) for f in frames), np.int64, len(frames))
        ends = np.cumsum(lengths)
        batch = FrameBatch(b"".join(frames), ends - lengths, ends, 0)
        chunk = self.decoder.decode(batch, default_ts_us=time.time_ns() // 1000)
        # the decoder located errors in the joined buffer; name the connection instead
        for err in chunk.errors:
            index = int(np.searchsorted(ends, (err.location.offset or 0) + 4, "right"))
            name, pos = origins[min(index, len(origins) - 1)]
            errors.append(RecordError(Location(name, offset=pos), err.message))
        self.stats.batches += 1
        return Chunk(chunk.batch, errors)
