"""Registered domains and name parts, with the Public Suffix List, offline.

The list is the copy shipped inside the `publicsuffixlist` package, so no network is needed.

Decisions (they matter to every detector):
- **Private-section suffixes count** by default (ICANN + private, e.g. ``blogspot.com``,
  ``github.io``, ``cloudfront.net``): ``x.blogspot.com`` is its own registered domain. Detectors
  then count a CDN or hosting customer as one domain of its own and never blame the provider.
  ``private=False`` gives ICANN-only results (what a registrar sees).
- **Unknown TLDs** (``corp.internal``, ``foo.local``, a DGA's made-up TLD) are treated as
  one-label public suffixes, as the PSL algorithm's default "*" rule says.
- **No registered domain** (null): IP address literals, empty names, names with an empty label
  (``a..b``), and names that are themselves a public suffix (``co.uk``, ``com``).
- Names are expected normalised (see `bluelamp.sources.names`); a trailing dot is ignored and
  results are lower-case anyway.

Bulk functions work on the unique values of an Arrow array (dictionary encoding) and cache
per name, so a batch of a million queries for a few thousand names costs a few thousand
look-ups.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from publicsuffixlist import PublicSuffixList

__all__ = [
    "NameParts",
    "is_ip",
    "is_ips",
    "labels",
    "public_suffix",
    "registered_domain",
    "registered_domains",
    "registered_labels",
    "split_name",
    "split_names",
    "subdomains",
]

_CACHE_SIZE = 1 << 18


class NameParts(NamedTuple):
    """A name cut at its public suffix: ``a.b.example.co.uk`` →
    subdomain ``a.b``, label ``example``, suffix ``co.uk``."""

    subdomain: str  # labels left of the registered domain, "" when none
    label: str  # the registered label (registered domain without its suffix)
    suffix: str  # the public suffix

    @property
    def registered_domain(self) -> str:
        return f"{self.label}.{self.suffix}"


@lru_cache(maxsize=2)
def _psl(private: bool) -> PublicSuffixList:
    # Parsing the list takes ~0.1 s: once per process and mode.
    return PublicSuffixList(accept_unknown=True, only_icann=not private)


@lru_cache(maxsize=_CACHE_SIZE)
def is_ip(name: str) -> bool:
    """True when `name` is an IPv4 or IPv6 address literal (optionally in brackets)."""
    text = name.strip().strip("[]")
    if not text or not (text[0].isdigit() or ":" in text):
        return False  # fast path: no hostname starting with a letter is an address
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=_CACHE_SIZE)
def _split(name: str, private: bool) -> NameParts | None:
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name or is_ip(name):
        return None
    parts = name.split(".")
    if "" in parts:
        return None
    suffix = _psl(private).publicsuffix(name)
    if suffix is None:
        return None
    n_suffix = suffix.count(".") + 1
    if len(parts) <= n_suffix:
        return None  # the name is a public suffix itself
    cut = len(parts) - n_suffix - 1
    return NameParts(".".join(parts[:cut]), parts[cut], suffix)


def split_name(name: str | None, *, private: bool = True) -> NameParts | None:
    """Subdomain, registered label and public suffix of `name`, or None (see module doc)."""
    if name is None:
        return None
    return _split(name, private)


def registered_domain(name: str | None, *, private: bool = True) -> str | None:
    """``www.example.co.uk`` → ``example.co.uk``; None when the name has none."""
    parts = split_name(name, private=private)
    return None if parts is None else parts.registered_domain


def public_suffix(name: str | None, *, private: bool = True) -> str | None:
    """The public suffix of a name that has a registered domain, else None."""
    parts = split_name(name, private=private)
    return None if parts is None else parts.suffix


def labels(name: str) -> list[str]:
    """The labels of a name, left to right (trailing dot ignored; "" gives [])."""
    name = name[:-1] if name.endswith(".") else name
    return name.split(".") if name else []


# ---------------------------------------------------------------- bulk (Arrow) versions


ArrayLike: TypeAlias = pa.Array | pa.ChunkedArray | Sequence[str | None]


def as_string_array(values: ArrayLike) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.string())
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"expected an array of strings, got {values.type}")
    return values


def map_unique(
    values: ArrayLike, func: Callable[[str], object], out_type: pa.DataType
) -> pa.Array:
    """Apply `func` (str -> value | None) to each distinct non-null value, then expand back."""
    arr = as_string_array(values)
    encoded = pc.dictionary_encode(arr)
    distinct = encoded.dictionary.to_pylist()
    mapped = pa.array([func(v) for v in distinct], type=out_type)
    return pc.take(mapped, encoded.indices)


def registered_domains(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """Vectorised `registered_domain`: string array, null where a name has none (or is null)."""
    return map_unique(arr, lambda v: registered_domain(v, private=private), pa.string())


def _part(index: int, private: bool) -> Callable[[str], str | None]:
    def get(v: str) -> str | None:
        parts = _split(v, private)
        return None if parts is None else parts[index]

    return get


def split_names(arr: ArrayLike, *, private: bool = True) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Vectorised `split_name`: (subdomain, label, suffix) string arrays, null where none."""
    arr = as_string_array(arr)
    encoded = pc.dictionary_encode(arr)
    distinct = [_split(v, private) for v in encoded.dictionary.to_pylist()]
    columns = []
    for i in range(3):
        mapped = pa.array([None if p is None else p[i] for p in distinct], type=pa.string())
        columns.append(pc.take(mapped, encoded.indices))
    return columns[0], columns[1], columns[2]


def registered_labels(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """The registered label (``example`` of ``www.example.co.uk``) of each name, or null."""
    return map_unique(arr, _part(1, private), pa.string())


def subdomains(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """The part left of the registered domain ("" when none; null when no registered domain)."""
    return map_unique(arr, _part(0, private), pa.string())


def is_ips(arr: ArrayLike) -> np.ndarray:
    """Vectorised `is_ip` as a bool numpy array (null → False)."""
    mapped = map_unique(arr, is_ip, pa.bool_())
    return np.asarray(mapped.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
