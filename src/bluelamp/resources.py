"""Access to the reference data shipped inside the package (see data/README.md)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources


def _read(name: str) -> bytes:
    return gzip.decompress(resources.files("bluelamp.data").joinpath(name).read_bytes())


@cache
def dga_names() -> tuple[tuple[str, str], ...]:
    """(family, domain) pairs of known DGA output."""
    lines = _read("dga-train.tsv.gz").decode("ascii").splitlines()
    pairs = (line.split("\t", 1) for line in lines[1:] if "\t" in line)
    return tuple((family, domain.lower()) for family, domain in pairs)


@cache
def benign_domains(kind: str = "top") -> tuple[str, ...]:
    """Benign domains: kind "top" (popular) or "random" (randomly sampled resolved names)."""
    if kind not in ("top", "random"):
        raise ValueError(f"unknown benign list {kind!r}")
    text = _read(f"benign-{kind}.txt.gz").decode("ascii", "replace")
    return tuple(line.strip().lower() for line in text.splitlines() if line.strip())


@cache
def tunnel_names(tool: str) -> tuple[bytes, ...]:
    """Query names from real tunnelling sessions of `tool` ("iodine" or "dns2tcp"), as bytes:
    they may hold non-ASCII bytes."""
    if tool not in ("iodine", "dns2tcp"):
        raise ValueError(f"unknown tunnel tool {tool!r}")
    return tuple(line for line in _read(f"tunnel-{tool}.txt.gz").splitlines() if line)
