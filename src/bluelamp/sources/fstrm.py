"""Frame Streams (fstrm) codec: the framing that dnstap files and sockets use.

A data frame is a 32-bit big-endian length followed by that many bytes. A control frame
starts with a zero length (the escape), then its own 32-bit length and a 32-bit control
type, then fields (type CONTENT_TYPE = 1, 32-bit length, bytes). Files are START, data...,
STOP. Sockets speak the bidirectional handshake: the sender says READY (offering content
types), the receiver answers ACCEPT, the sender says START, data follows, the sender says
STOP and the receiver answers FINISH.

Scanning frames is one small Python loop per frame (a struct unpack each); everything
after it (protobuf and DNS decoding) works on all frames of a batch at once.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import BinaryIO

import numpy as np

CONTENT_TYPE_DNSTAP = b"protobuf:dnstap.Dnstap"
MAX_CONTROL = 512
#: dnstap frames hold at most two 64 KiB DNS messages plus metadata; larger is garbage
MAX_FRAME = 1 << 20
FIELD_CONTENT_TYPE = 1
_U32 = struct.Struct(">I")
READ_BLOCK = 4 << 20


class ControlType(IntEnum):
    ACCEPT = 1
    START = 2
    STOP = 3
    READY = 4
    FINISH = 5


@dataclass(frozen=True)
class Control:
    """A decoded control frame and where it was."""

    type: ControlType
    content_types: tuple[bytes, ...] = ()
    offset: int = 0


class FrameError(ValueError):
    """The byte stream breaks the Frame Streams rules at `offset`."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"byte {offset}: {message}")
        self.offset = offset
        self.reason = message


def encode_control(kind: ControlType, content_types: Iterable[bytes] = ()) -> bytes:
    body = _U32.pack(int(kind))
    for ct in content_types:
        body += _U32.pack(FIELD_CONTENT_TYPE) + _U32.pack(len(ct)) + ct
    return _U32.pack(0) + _U32.pack(len(body)) + body


def encode_data(payload: bytes) -> bytes:
    if not payload:
        raise ValueError("a Frame Streams data frame cannot be empty")
    return _U32.pack(len(payload)) + payload


def decode_control(body: bytes | memoryview, offset: int = 0) -> Control:
    """Parse a control frame body (after the escape and length)."""
    if len(body) < 4:
        raise FrameError(offset, "control frame shorter than its type")
    code = _U32.unpack_from(body, 0)[0]
    try:
        kind = ControlType(code)
    except ValueError:
        raise FrameError(offset, f"unknown control frame type {code}") from None
    types: list[bytes] = []
    pos = 4
    while pos < len(body):
        if pos + 8 > len(body):
            raise FrameError(offset, "control field header truncated")
        ftype, flen = _U32.unpack_from(body, pos)[0], _U32.unpack_from(body, pos + 4)[0]
        if pos + 8 + flen > len(body):
            raise FrameError(offset, "control field longer than its frame")
        if ftype == FIELD_CONTENT_TYPE:
            types.append(bytes(body[pos + 8:pos + 8 + flen]))
        pos += 8 + flen
    return Control(kind, tuple(types), offset)


@dataclass
class Scan:
    """Data frames found in a buffer (payload start/end positions), then what stopped the
    scan: a control frame, an error, or the end of the complete frames (`pos`)."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    pos: int = 0
    control: Control | None = None
    error: FrameError | None = None


def scan(buf: bytes | bytearray | memoryview, pos: int, *, base: int = 0,
         max_frames: int = 1 << 62, max_frame: int = MAX_FRAME) -> Scan:
    """Scan complete frames from `pos`. Stops at a control frame (returned, consumed), an
    error (offset = `base` + position), `max_frames` data frames, or an incomplete frame."""
    out = Scan(pos=pos)
    size = len(buf)
    unpack = _U32.unpack_from
    starts, ends = out.starts, out.ends
    add_start, add_end = starts.append, ends.append
    # the hot loop: one unpack and one bounds test per data frame (everything unusual is
    # handled after it, by _stop)
    while len(starts) < max_frames and pos + 4 <= size:
        n = unpack(buf, pos)[0]
        end = pos + 4 + n
        if n == 0 or n > max_frame or end > size:
            break
        add_start(pos + 4)
        add_end(end)
        pos = end
    out.pos = pos
    if len(starts) < max_frames and pos + 4 <= size:
        _stop(out, buf, base, max_frame)
    return out


def _stop(out: Scan, buf: bytes | bytearray | memoryview, base: int, max_frame: int) -> None:
    """What ended a scan at `out.pos`: a control frame, an error, or an incomplete frame."""
    pos, size = out.pos, len(buf)
    n = _U32.unpack_from(buf, pos)[0]
    if n > max_frame:
        out.error = FrameError(base + pos, f"frame of {n} bytes exceeds the {max_frame}"
                                           "-byte limit (corrupt length or not dnstap)")
        return
    if n or pos + 8 > size:
        return  # an incomplete data frame, or an incomplete control header
    clen = _U32.unpack_from(buf, pos + 4)[0]
    if clen > MAX_CONTROL:
        out.error = FrameError(base + pos, f"control frame of {clen} bytes (max "
                                           f"{MAX_CONTROL}): not Frame Streams data")
        return
    if pos + 8 + clen > size:
        return
    try:
        out.control = decode_control(memoryview(buf)[pos + 8:pos + 8 + clen], base + pos)
    except FrameError as exc:
        out.error = exc
        return
    out.pos = pos + 8 + clen


@dataclass
class FrameBatch:
    """Data frames of one batch: `data[starts[i]:ends[i]]` is payload i; `base` is the file
    offset of `data[0]` (for error locations)."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    base: int


def read_frames(stream: BinaryIO, *, content_type: bytes = CONTENT_TYPE_DNSTAP,
                batch_size: int = 65_536, max_frame: int = MAX_FRAME
                ) -> Iterator[FrameBatch | FrameError]:
    """Read a Frame Streams file: batches of data frames, and errors. An error in the
    framing ends the read (a later frame boundary cannot be found reliably); the frames
    before it are all delivered."""
    buf = b""
    base = 0  # file offset of buf[0]
    started = False
    eof = False
    while True:
        sc = scan(buf, 0, base=base, max_frames=batch_size, max_frame=max_frame)
        if sc.starts:
            if not started:
                yield FrameError(base + sc.starts[0] - 4,
                                 "data frame before the START control frame")
                return
            yield FrameBatch(buf, np.array(sc.starts), np.array(sc.ends), base)
        if sc.error is not None:
            yield sc.error
            return
        if sc.control is not None:
            problem = _file_control(sc.control, started, content_type)
            if problem is not None:
                yield problem
                return
            started = sc.control.type == ControlType.START
        buf, base = buf[sc.pos:], base + sc.pos
        if sc.control is not None or len(sc.starts) == batch_size:
            continue
        if eof:
            if buf:
                yield FrameError(base, f"truncated frame: {len(buf)} bytes left at end of "
                                       "input")
            return
        block = stream.read(READ_BLOCK)
        eof = not block
        buf += block


def _file_control(ctl: Control, started: bool, content_type: bytes) -> FrameError | None:
    if ctl.type == ControlType.START:
        if started:
            return FrameError(ctl.offset, "START control frame inside a stream")
        if ctl.content_types and content_type not in ctl.content_types:
            got = b", ".join(ctl.content_types).decode("ascii", "backslashreplace")
            return FrameError(ctl.offset, f"content type {got!r}, expected "
                                          f"{content_type.decode()!r}")
        return None
    if ctl.type == ControlType.STOP:
        return None if started else FrameError(ctl.offset, "STOP without START")
    return FrameError(ctl.offset, f"{ctl.type.name} control frame in a file")


class FrameWriter:
    """Write a unidirectional Frame Streams file: START, data frames, STOP (on close)."""

    def __init__(self, stream: BinaryIO, content_type: bytes = CONTENT_TYPE_DNSTAP) -> None:
        self.stream = stream
        stream.write(encode_control(ControlType.START, [content_type]))

    def write(self, payload: bytes) -> None:
        self.stream.write(encode_data(payload))

    def write_many(self, payloads: Iterable[bytes]) -> None:
        self.stream.write(b"".join(encode_data(p) for p in payloads))

    def close(self) -> None:
        self.stream.write(encode_control(ControlType.STOP))
        self.stream.flush()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamDecoder:
    """Incremental decoder for a socket: feed bytes, get data frames as (stream offset,
    payload) and control frames, in order. Raises FrameError on broken framing (the
    connection should then be closed)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.buf = bytearray()
        self.offset = 0
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[tuple[int, bytes] | Control]:
        self.buf += data
        events: list[tuple[int, bytes] | Control] = []
        pos = 0
        while True:
            sc = scan(self.buf, pos, base=self.offset, max_frame=self.max_frame)
            events.extend((self.offset + s - 4, bytes(self.buf[s:e]))
                          for s, e in zip(sc.starts, sc.ends, strict=True))
            pos = sc.pos
            if sc.error is not None:
                raise sc.error
            if sc.control is None:
                break
            events.append(sc.control)
        del self.buf[:pos]
        self.offset += pos
        return events


class FrameSender:
    """The sending side of the bidirectional handshake (what a resolver does): READY, wait
    for ACCEPT, START, data frames, STOP, wait for FINISH. Used by tests and tools."""

    def __init__(self, sock: socket.socket, content_type: bytes = CONTENT_TYPE_DNSTAP,
                 timeout: float = 5.0) -> None:
        self.sock = sock
        sock.settimeout(timeout)
        self.reader = StreamDecoder()
        sock.sendall(encode_control(ControlType.READY, [content_type]))
        accept = self._expect(ControlType.ACCEPT)
        if content_type not in accept.content_types:
            raise FrameError(0, "receiver did not accept the content type")
        sock.sendall(encode_control(ControlType.START, [content_type]))

    def _expect(self, kind: ControlType) -> Control:
        while True:
            data = self.sock.recv(4096)
            if not data:
                raise FrameError(self.reader.offset, f"connection closed before {kind.name}")
            for event in self.reader.feed(data):
                if isinstance(event, Control) and event.type == kind:
                    return event

    def send(self, payloads: Iterable[bytes]) -> None:
        self.sock.sendall(b"".join(encode_data(p) for p in payloads))

    def close(self) -> None:
        try:
            self.sock.sendall(encode_control(ControlType.STOP))
            self._expect(ControlType.FINISH)
        finally:
            self.sock.close()


def connect(address: str, timeout: float = 5.0) -> socket.socket:
    """A connected socket for `unix:PATH` or `tcp:HOST:PORT`."""
    kind, _, rest = address.partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(rest)
        return sock
    host, _, port = rest.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
