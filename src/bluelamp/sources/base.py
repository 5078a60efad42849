"""The reader contract, the registry of readers, and opening inputs (gzip, sniffing).

A reader turns a byte stream into Arrow record batches in the `dns` schema plus located
errors. It never raises on a bad record: it reports it and keeps the good ones around it.
Strict mode (in `read_path`) turns the first error into an `InputError`.
"""

from __future__ import annotations

import gzip
import importlib
import io
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import pyarrow as pa

from bluelamp.errors import InputError, RecordError

DEFAULT_BATCH_SIZE = 65_536
SNIFF_BYTES = 64 * 1024


@dataclass
class Chunk:
    """What a reader yields: a batch of good rows (may be None) and the errors met."""

    batch: pa.RecordBatch | None
    errors: list[RecordError] = field(default_factory=list)


class Reader(Protocol):
    """One input format."""

    #: short name used with --format (e.g. "zeek", "dnstap")
    name: str
    #: one-line description for --help
    description: str

    def sniff(self, head: bytes) -> bool:
        """True if `head` (the first bytes, decompressed) looks like this format."""
        ...

    def read(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Chunk]:
        """Yield chunks of rows in the `dns` schema. `source` names the input in errors."""
        ...


_REGISTRY: dict[str, Reader] = {}
_LOADED = False


def _load() -> None:
    """Import every module in this package that declares READERS (built-ins and plug-ins
    register the same way)."""
    global _LOADED
    if _LOADED:
        return
    import bluelamp.sources as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name == "base" or info.ispkg:
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for reader in getattr(module, "READERS", ()):
            register(reader)
    _LOADED = True


def register(reader: Reader) -> None:
    if reader.name in _REGISTRY and _REGISTRY[reader.name] is not reader:
        raise ValueError(f"two readers are called {reader.name!r}")
    _REGISTRY[reader.name] = reader


def readers() -> dict[str, Reader]:
    _load()
    return dict(_REGISTRY)


def get_reader(name: str) -> Reader:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError(f"unknown format {name!r}; known formats: {known}") from None


def detect_format(head: bytes, source: str = "<input>") -> Reader:
    """The first registered reader (by sniff priority) that recognises `head`."""
    _load()
    for reader in sorted(_REGISTRY.values(), key=lambda r: getattr(r, "sniff_priority", 50)):
        if reader.sniff(head):
            return reader
    raise InputError(
        f"{source}: cannot tell the format from its content; pass --format "
        f"({', '.join(sorted(_REGISTRY))})"
    )


def open_input(path: str | Path) -> io.BufferedIOBase:
    """Open a file for reading, decompressing gzip transparently (by content, not name).
    "-" is standard input. The result supports `peek`."""
    raw: io.BufferedReader
    if str(path) == "-":
        import sys

        raw = io.BufferedReader(io.FileIO(sys.stdin.fileno(), closefd=False),
                                buffer_size=SNIFF_BYTES)
    else:
        # a large buffer so that sniffing sees a useful head of the file
        raw = io.BufferedReader(io.FileIO(path, "rb"), buffer_size=SNIFF_BYTES)
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=SNIFF_BYTES)
    return raw


def read_path(
    path: str | Path,
    fmt: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    strict: bool = False,
) -> Iterator[Chunk]:
    """Read one file (any registered format, gzip or not) as chunks of `dns` rows."""
    source = str(path)
    with open_input(path) as stream:
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        reader = get_reader(fmt) if fmt else detect_format(head, source)
        for chunk in reader.read(stream, source, batch_size=batch_size):  # type: ignore[arg-type]
            if strict and chunk.errors:
                raise InputError(chunk.errors[0])
            yield chunk
