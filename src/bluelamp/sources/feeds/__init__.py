"""External threat feeds: one module per feed family, each declaring `FEEDS = [...]`.

Every module in this package that defines `FEEDS` is registered, built-ins and plug-ins
alike. A parser turns a file into chunks of `EVENT` rows plus located errors
(`bluelamp.sources.base.Chunk`); `parse_path` picks the parser by name or by sniffing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from bluelamp.errors import InputError
from bluelamp.sources.base import SNIFF_BYTES, Chunk, open_input
from bluelamp.sources.feeds.base import FeedParser

__all__ = ["FeedParser", "detect_feed", "feeds", "get_feed", "parse_path"]

_REGISTRY: dict[str, FeedParser] = {}
_LOADED = False


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for parser in getattr(module, "FEEDS", ()):
            register(parser)
    _LOADED = True


def register(parser: FeedParser) -> None:
    if parser.name in _REGISTRY and _REGISTRY[parser.name] is not parser:
        raise ValueError(f"two feed parsers are called {parser.name!r}")
    _REGISTRY[parser.name] = parser


def feeds() -> dict[str, FeedParser]:
    _load()
    return dict(_REGISTRY)


def get_feed(name: str) -> FeedParser:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError(f"unknown feed {name!r}; known feeds: {known}") from None


def detect_feed(head: bytes, filename: str, source: str = "<input>") -> FeedParser:
    """The parser most sure it reads `head` (the file's first bytes) named `filename`."""
    _load()
    scored = sorted(((p.sniff(head, filename), p.name) for p in _REGISTRY.values()),
                    reverse=True)
    if not scored or scored[0][0] <= 0:
        raise InputError(f"{source}: cannot tell which feed this is; pass --feed "
                         f"({', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[scored[0][1]]


def parse_path(path: str | Path, feed: str | None = None, *, batch_size: int = 65_536,
               strict: bool = False) -> Iterator[Chunk]:
    """Parse one feed file (gzip or not) into chunks of EVENT rows and errors."""
    source = str(path)
    with open_input(path) as stream:
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        parser = get_feed(feed) if feed and feed != "auto" else detect_feed(
            head, Path(source).name, source)
        for chunk in parser.parse(stream, source, batch_size=batch_size):  # type: ignore[arg-type]
            if strict and chunk.errors:
                raise InputError(chunk.errors[0])
            yield chunk
