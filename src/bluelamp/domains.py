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

Bulk functions (`registered_domains`, `split_names`, ...) work on the distinct values of an
Arrow array (dictionary encoding), so a batch of a million queries for a few thousand names
costs a few thousand look-ups, and run the PSL algorithm over them as Arrow kernels (about
1–2 µs of CPU per distinct name). The one-name functions use the `publicsuffixlist` package
with an LRU cache of 262,144 names; tests check that both paths agree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from publicsuffixlist import PSLFILE, PublicSuffixList, encode_idn

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


@lru_cache(maxsize=_CACHE_SIZE)
def is_ip(name: str) -> bool:
    """True when `name` is an IPv4 or IPv6 address literal (optionally in brackets)."""
    text = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if not text or not (text[0].isdigit() or ":" in text):
        return False  # fast path: no hostname starting with a letter is an address
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=2)
def _psl(private: bool) -> PublicSuffixList:
    # parsing the list takes ~0.1 s: once per process and mode
    return PublicSuffixList(accept_unknown=True, only_icann=not private)


@lru_cache(maxsize=_CACHE_SIZE)
def _split(name: str, private: bool) -> NameParts | None:
    # The scalar path uses the publicsuffixlist package (fast for one name); the bulk path is
    # our vectorised version of the same algorithm. Tests check that both agree.
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


# ---------------------------------------------------------------- the vectorised PSL algorithm


@dataclass(frozen=True)
class _Rules:
    exact: pa.Array  # "co.uk"
    wildcard: pa.Array  # "ck" for the rule "*.ck"
    exception: pa.Array  # "www.ck" for the rule "!www.ck"
    max_depth: int  # labels in the longest rule
    # parents[d]: the (d-1)-label tails of every rule string with d or more labels; a name
    # whose (d-1)-label tail is not in it cannot match any rule longer than d - 1 labels
    parents: dict[int, pa.Array]


@lru_cache(maxsize=2)
def _rules(private: bool) -> _Rules:
    """The PSL rules of the list shipped with `publicsuffixlist`, IDN rules also as A-labels."""
    exact: set[str] = set()
    wildcard: set[str] = set()
    exception: set[str] = set()
    icann = False
    with open(PSLFILE, encoding="utf-8") as lines:
        for line in lines:
            text = line.strip()
            if text.startswith("// ===BEGIN ICANN"):
                icann = True
            elif text.startswith("// ===END ICANN"):
                icann = False
            if not text or text.startswith("//") or (not icann and not private):
                continue
            rule = text.split()[0].lower()
            for form in {rule, _a_labels(rule)}:
                if form.startswith("!"):
                    exception.add(form[1:])
                elif form.startswith("*."):
                    wildcard.add(form[2:])
                else:
                    exact.add(form)
    strings = exact | wildcard | exception
    depth = max(r.count(".") + 1 for r in strings) + 1  # + 1: the wildcard's own label
    parents: dict[int, set[str]] = {d: set() for d in range(2, depth + 1)}
    for rule in strings:
        labels = rule.split(".")
        for d in range(2, len(labels) + 1):
            parents[d].add(".".join(labels[-(d - 1) :]))
    exact_a, wildcard_a, exception_a = (
        pa.array(sorted(x), pa.string()) for x in (exact, wildcard, exception))
    return _Rules(exact_a, wildcard_a, exception_a, depth,
                  {d: pa.array(sorted(p), pa.string()) for d, p in parents.items()})


def _a_labels(rule: str) -> str:
    if rule.isascii():
        return rule  # already A-labels: skip the slow IDNA codec
    prefix = "!" if rule.startswith("!") else ""
    try:
        return prefix + encode_idn(rule.lstrip("!"))
    except UnicodeError:
        return rule


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}$"


def _ip_mask(norm: pa.Array) -> np.ndarray:
    """IP literals among normalised names: IPv4 by regex; IPv6 (rare: contains ':') exactly."""
    v4 = pc.match_substring_regex(norm, _IPV4).to_numpy(zero_copy_only=False)
    colon = np.flatnonzero(pc.match_substring(norm, ":").to_numpy(zero_copy_only=False))
    out = v4.astype(bool)
    for i in colon:
        out[i] = is_ip(norm[int(i)].as_py())
    return out


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _suffix_depths(dotted: pa.Array, n_labels: np.ndarray, rules: _Rules) -> np.ndarray:
    """Labels in the public suffix of each ".name" (PSL algorithm: the longest matching rule
    wins; at one length, exception before wildcard before exact; unknown TLDs count as a
    one-label suffix).

    Tails are tried from one label up, and a name goes on to d + 1 labels only while its d-label
    tail is the tail of some longer rule: most names stop after two look-ups.
    """
    depth = np.zeros(len(dotted), dtype=np.int64)
    rows = np.arange(len(dotted))
    for d in range(1, rules.max_depth + 1):
        rows = rows[n_labels[rows] >= d]
        if rows.size == 0:
            break
        parts = pc.split_pattern(dotted.take(pa.array(rows)), ".", max_splits=d, reverse=True)
        tail = pc.binary_join(pc.list_slice(parts, 1), ".")
        exc = _np(pc.is_in(tail, value_set=rules.exception))
        wild = _np(pc.is_in(tail, value_set=rules.wildcard))
        exact = _np(pc.is_in(tail, value_set=rules.exact))
        found = np.select([exc, wild & (n_labels[rows] > d), wild, exact], [d - 1, d + 1, d, d], 0)
        hit = found > 0
        depth[rows[hit]] = found[hit]  # a longer match overrides a shorter one
        if d + 1 in rules.parents:
            rows = rows[_np(pc.is_in(tail, value_set=rules.parents[d + 1])).astype(bool)]
    return np.where(depth == 0, 1, depth)


def _split_unique(arr: pa.Array, private: bool) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(subdomain, label, suffix) for every value of `arr`; null where no registered domain."""
    norm = pc.utf8_lower(pc.fill_null(arr, ""))
    norm = pc.replace_substring_regex(norm, r"\.$", "", max_replacements=1)
    n_labels = _np(pc.count_substring(norm, ".")) + 1
    broken = _np(pc.match_substring_regex(norm, r"^$|^\.|\.\.|\.$")).astype(bool)
    broken |= _np(pc.is_null(arr)).astype(bool) | _ip_mask(norm)
    dotted = pc.binary_join_element_wise("", norm, ".")  # "." + name (separator is last)
    depth = _suffix_depths(dotted, n_labels, _rules(private))
    ok = ~broken & (n_labels > depth)
    return _cut(dotted, depth, ok)


def _cut(dotted: pa.Array, depth: np.ndarray, ok: np.ndarray) -> tuple[pa.Array, ...]:
    """Cut each ".name" into subdomain, label and suffix at its suffix depth."""
    n = len(dotted)
    pieces: list[list[pa.Array]] = [[], [], []]
    order: list[np.ndarray] = []
    for d in np.unique(depth[ok]):
        rows = np.flatnonzero(ok & (depth == d))
        parts = pc.split_pattern(dotted.take(pa.array(rows)), ".", max_splits=int(d) + 1,
                                 reverse=True)
        pieces[0].append(pc.utf8_slice_codeunits(pc.list_element(parts, 0), 1, 1 << 30))
        pieces[1].append(pc.list_element(parts, 1))
        pieces[2].append(pc.binary_join(pc.list_slice(parts, 2), "."))
        order.append(rows)
    # position of each row in the concatenated pieces; rows without a result read a null
    index = np.full(n, sum(len(r) for r in order), dtype=np.int64)
    if order:
        flat = np.concatenate(order)
        index[flat] = np.arange(flat.size)
    take = pa.array(index)
    return tuple(
        pa.concat_arrays([*(p.cast(pa.string()) for p in col), pa.nulls(1, pa.string())]).take(
            take)
        for col in pieces
    )


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


def _parts(values: ArrayLike, private: bool) -> tuple[pa.Array, pa.Array, pa.Array]:
    """`_split_unique` over the distinct values only, expanded back to every row."""
    encoded = pc.dictionary_encode(as_string_array(values))
    columns = _split_unique(encoded.dictionary, private)
    return columns[0].take(encoded.indices), columns[1].take(encoded.indices), columns[2].take(
        encoded.indices)


def registered_domains(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """Vectorised `registered_domain`: string array, null where a name has none (or is null)."""
    _, label, suffix = _parts(arr, private)
    return pc.binary_join_element_wise(label, suffix, ".")


def split_names(
    arr: ArrayLike, *, private: bool = True, distinct: bool = False
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Vectorised `split_name`: (subdomain, label, suffix) string arrays, null where none.
    `distinct=True` says the values are already unique (skips the dictionary encoding)."""
    if distinct:
        return _split_unique(as_string_array(arr), private)
    return _parts(arr, private)


def registered_labels(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """The registered label (``example`` of ``www.example.co.uk``) of each name, or null."""
    return _parts(arr, private)[1]


def subdomains(arr: ArrayLike, *, private: bool = True) -> pa.Array:
    """The part left of the registered domain ("" when none; null when no registered domain)."""
    return _parts(arr, private)[0]


def is_ips(arr: ArrayLike) -> np.ndarray:
    """Vectorised `is_ip` as a bool numpy array (null → False)."""
    mapped = map_unique(arr, is_ip, pa.bool_())
    return np.asarray(mapped.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
