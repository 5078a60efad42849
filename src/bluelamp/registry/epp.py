"""The EPP adapter interface, for registries whose registry system speaks EPP (RFC 5730)
rather than taking DNS updates directly.

A suspension there is a change of domain statuses (RFC 5731 §2.3): `serverHold` takes the
name out of the zone, and the server locks (`serverUpdateProhibited`,
`serverDeleteProhibited`, `serverTransferProhibited`) stop the registrant moving or changing
it while the case runs. The undo record is the status set before the change, and
reinstatement removes exactly the statuses the desk added.

`EppClient` is the one thing a deployment supplies (a wrapper around its EPP library and
session). No real EPP server is available to this project: `InMemoryEppRegistry` below is a
**test double** that keeps statuses in a dict, used by the tests and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bluelamp.registry.base import RegistryError, Undo

HOLD = "serverHold"
LOCKS = ("serverUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited")


class EppClient(Protocol):
    def info(self, domain: str) -> set[str]:
        """<domain:info>: the domain's current statuses (RFC 5731 §3.1.2)."""
        ...

    def update_statuses(self, domain: str, add: set[str], remove: set[str],
                        reason: str) -> None:
        """<domain:update> with <domain:add>/<domain:rem> of <domain:status> elements."""
        ...


@dataclass
class EppAdapter:
    client: EppClient
    name: str = "epp"

    def snapshot(self, domains: Sequence[str]) -> dict[str, Undo]:
        return {d: {"adapter": self.name, "statuses": sorted(self.client.info(d))}
                for d in domains}

    def suspend(self, domain: str, action: str, undo: Undo) -> str:
        if action != "hold":
            raise RegistryError("EPP adapter: only hold (serverHold) is supported; a redirect "
                                "needs the registry's DNS, use the rfc2136 adapter")
        before = set(undo["statuses"])
        self.client.update_statuses(domain, {HOLD, *LOCKS} - before, set(),
                                    "law-enforcement suspension")
        after = self.client.info(domain)
        if not {HOLD, *LOCKS} <= after:
            raise RegistryError(f"{domain}: statuses after hold are {sorted(after)}")
        return f"verified: {domain} statuses {sorted(after)}"

    def reinstate(self, domain: str, undo: Undo) -> str:
        before = set(undo["statuses"])
        now = self.client.info(domain)
        self.client.update_statuses(domain, before - now, now - before, "suspension lifted")
        after = self.client.info(domain)
        if after != before:
            raise RegistryError(f"{domain}: statuses {sorted(after)} after reinstatement, "
                                f"expected {sorted(before)}")
        return f"restored statuses {sorted(before)}"


@dataclass
class InMemoryEppRegistry:
    """TEST DOUBLE: an in-memory stand-in for an EPP server. It does not speak EPP."""

    statuses: dict[str, set[str]] = field(default_factory=dict)
    log: list[tuple[str, str, frozenset[str], frozenset[str]]] = field(default_factory=list)

    def info(self, domain: str) -> set[str]:
        if domain not in self.statuses:
            raise RegistryError(f"{domain}: object does not exist (EPP 2303)")
        return set(self.statuses[domain])

    def update_statuses(self, domain: str, add: set[str], remove: set[str],
                        reason: str) -> None:
        current = self.info(domain)
        if "ok" in current and add:
            current.discard("ok")  # RFC 5731: "ok" cannot be combined with other statuses
        current = (current | add) - remove
        self.statuses[domain] = current or {"ok"}
        self.log.append((domain, reason, frozenset(add), frozenset(remove)))
