"""Registry adapters: how an approved suspension becomes a change at the registry.

`base` holds the adapter contract and the undo record; `rfc2136` changes a zone on a real
authoritative server by DNS UPDATE signed with TSIG; `epp` is the interface for registries
that run EPP (RFC 5730/5731) with an in-memory test double. `build_adapter(settings)` picks
one from the `[suspensions]` settings."""

from __future__ import annotations

from bluelamp.registry.base import RegistryAdapter, RegistryError, RRset, Undo, zone_of
from bluelamp.settings import SuspensionSettings

__all__ = ["RRset", "RegistryAdapter", "RegistryError", "Undo", "build_adapter", "zone_of"]


def build_adapter(settings: SuspensionSettings) -> RegistryAdapter | None:
    """The adapter the settings name, or None when suspensions are only recorded."""
    if settings.adapter == "none":
        return None
    if settings.adapter == "rfc2136":
        from bluelamp.registry.rfc2136 import DnsUpdateAdapter

        return DnsUpdateAdapter.from_settings(settings)
    raise RegistryError(f"suspensions.adapter {settings.adapter!r}: unknown (rfc2136, none)")
