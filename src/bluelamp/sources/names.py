"""Query-name normalisation, shared by every reader (contract 2 in the reader API).

A name leaves here in the form the `dns.qname` field documents: lower-case, no trailing dot,
IDNA A-labels for Unicode labels, and every byte that is not printable ASCII written as
``\\DDD`` (decimal, as in zone files); a literal dot or backslash inside a label is ``\\.``
or ``\\\\``. The root name is ``.``.

Sources escape names differently, so the caller says which escapes its text carries:

- ``"zone"`` (BIND, dnstap presentation form): ``\\DDD`` is a byte, ``\\X`` is X literally;
- ``"zeek"``: ``\\xHH`` is a byte (Zeek's ASCII writer), other backslashes are literal;
- ``"none"``: backslashes are plain characters.

Non-ASCII *characters* in the text are Unicode and become IDNA A-labels; *escaped* bytes
(``\\DDD``, Zeek's ``\\xHH``) are wire bytes and stay escaped, exactly as the wire decoder
renders them, so the same query reads the same from a capture and from a log.

`normalize_qnames` is vectorised: the common case (printable ASCII, no backslash) is handled
with pyarrow.compute over the whole array; only the unusual values go through Python, once
per distinct value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import idna
import pyarrow as pa
import pyarrow.compute as pc

Escapes = Literal["zone", "zeek", "none"]

_ZONE_ESCAPE = re.compile(rb"\\(\d{3}|.)", re.DOTALL)
_ZEEK_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_PLAIN = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\")}


def normalize_qname(name: str | bytes, escapes: Escapes = "zone") -> str:
    """Normalise one name (see module docstring). Never raises on odd bytes: they are kept,
    escaped as ``\\DDD``."""
    return _normalize_cached(name, escapes)


@lru_cache(maxsize=65_536)
def _normalize_cached(name: str | bytes, escapes: Escapes) -> str:
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)
    labels = _split_labels(raw, escapes)
    if len(labels) > 1 and labels[-1][0] == b"":  # trailing dot: absolute name
        labels = labels[:-1]
    if len(labels) == 1 and labels[0][0] == b"":
        return "."
    return ".".join(_label_text(label, escaped) for label, escaped in labels)


def _split_labels(raw: bytes, escapes: Escapes) -> list[tuple[bytes, bool]]:
    """Split at unescaped dots and resolve escapes into raw label bytes. The flag says
    whether the label holds an escaped byte >= 0x80: such bytes are wire bytes, not
    Unicode text, so the label is not IDNA-encoded."""
    if escapes == "zeek":
        raw = _ZEEK_ESCAPE.sub(lambda m: _protect(bytes([int(m.group(1), 16)])), raw)
        escapes = "zone"  # the protected bytes now use zone-style escapes
    elif escapes == "none":
        raw = raw.replace(b"\\", b"\\\\")
    labels: list[tuple[bytes, bool]] = []
    current = bytearray()
    escaped_high = False
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x5C and i + 1 < len(raw):  # backslash
            m = _ZONE_ESCAPE.match(raw, i)
            assert m is not None
            code = m.group(1)
            value = bytes([int(code) & 0xFF]) if len(code) == 3 else code
            escaped_high |= value[0] >= 0x80
            current += value
            i = m.end()
        elif byte == 0x2E:  # dot
            labels.append((bytes(current), escaped_high))
            current, escaped_high = bytearray(), False
            i += 1
        else:
            current.append(byte)
            i += 1
    labels.append((bytes(current), escaped_high))
    return labels


def _protect(byte: bytes) -> bytes:
    """A decoded Zeek byte, written as a zone escape so that a dot stays inside its label."""
    return b"\\%03d" % byte[0]


def _label_text(label: bytes, escaped_high: bool) -> str:
    if not escaped_high and any(b >= 0x80 for b in label):
        label = _to_alabel(label)
    label = label.lower()
    return "".join(chr(b) if b in _PLAIN else f"\\{chr(b)}" if b in (0x2E, 0x5C) else f"\\{b:03d}"
                   for b in label)


def _to_alabel(label: bytes) -> bytes:
    """IDNA A-label for a UTF-8 Unicode label (UTS 46 mapping folds case); the raw bytes when
    the label is not valid UTF-8 or not a valid IDN."""
    try:
        text = label.decode("utf-8")
        return idna.encode(text, uts46=True)
    except (UnicodeError, idna.IDNAError):
        return label


def normalize_qnames(arr: pa.Array | pa.ChunkedArray, escapes: Escapes = "zone") -> pa.Array:
    """Vectorised `normalize_qname` over a string or binary array; nulls stay null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return _normalize_binary(arr, escapes)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    if len(arr) == 0:
        return arr
    unusual = _unusual(arr)
    if pc.any(unusual).as_py():
        return _normalize_slow(arr, unusual, escapes)
    lowered = pc.ascii_lower(arr)
    # a trailing dot, and the root written "" or ".", are rare: only then pay for if_else
    dotted = pc.ends_with(lowered, ".")
    if pc.any(dotted).as_py():
        lowered = pc.if_else(dotted, pc.utf8_slice_codeunits(lowered, 0, -1), lowered)
    empty = pc.equal(lowered, "")
    if pc.any(empty).as_py():
        lowered = pc.if_else(empty, pa.scalar(".", pa.string()), lowered)
    return lowered


def _unusual(arr: pa.Array) -> pa.Array:
    """Values that need more than ASCII lower-casing: anything outside printable ASCII
    (space included), or a backslash. Three fast kernels instead of one regex."""
    odd = pc.or_(pc.invert(pc.ascii_is_printable(arr)), pc.match_substring(arr, "\\"))
    return pc.or_(odd, pc.match_substring(arr, " "))


def _normalize_slow(arr: pa.Array, unusual: pa.Array, escapes: Escapes) -> pa.Array:
    """Fast path for the usual values, Python once per distinct unusual value."""
    usual = normalize_qnames(pc.if_else(unusual, pa.scalar(None, pa.string()), arr), escapes)
    odd = pc.filter(arr, unusual)
    distinct = pc.unique(odd)
    mapped = pa.array([normalize_qname(v, escapes) for v in distinct.to_pylist()], pa.string())
    positions = pc.index_in(pc.if_else(unusual, arr, pa.scalar(None, pa.string())), distinct)
    odd_full = pc.take(mapped, positions)
    return pc.if_else(unusual, odd_full, usual)


def _normalize_binary(arr: pa.Array, escapes: Escapes) -> pa.Array:
    distinct = pc.unique(arr)
    values = distinct.to_pylist()
    mapped = pa.array([None if v is None else normalize_qname(v, escapes) for v in values],
                      pa.string())
    return pc.take(mapped, pc.index_in(arr, distinct))
