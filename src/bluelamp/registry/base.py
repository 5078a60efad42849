"""The registry adapter contract and the exact undo record.

An adapter is asked three things: `snapshot` (what the registry holds for some names now,
as an undo record), `suspend` (hold or redirect one name, then verify the change took) and
`reinstate` (put back exactly what an undo record says, then verify it). Undo records are
plain JSON so that they live in the database next to the case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bluelamp.errors import BluelampError

Undo = dict[str, Any]


class RegistryError(BluelampError):
    """The registry refused a change, could not be reached, or the change did not verify."""


@dataclass(frozen=True, order=True)
class RRset:
    """One RRset in presentation form: absolute lower-case owner, TTL, type, sorted rdata."""

    owner: str
    rdtype: str
    ttl: int
    rdatas: tuple[str, ...]

    def to_json(self) -> list[Any]:
        return [self.owner, self.rdtype, self.ttl, list(self.rdatas)]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> RRset:
        owner, rdtype, ttl, rdatas = row
        return cls(str(owner), str(rdtype), int(ttl), tuple(sorted(map(str, rdatas))))


def rrsets_of(undo: Undo) -> list[RRset]:
    return sorted(RRset.from_json(row) for row in undo.get("rrsets", []))


def zone_of(domain: str, zones: Sequence[str]) -> str | None:
    """The longest configured zone strictly above `domain` (a zone apex is not a domain the
    desk may suspend), or None when the registry does not run it."""
    best: str | None = None
    for zone in zones:
        zone = zone.lower().strip(".")
        if domain.endswith("." + zone) and (best is None or len(zone) > len(best)):
            best = zone
    return best


class RegistryAdapter(Protocol):
    name: str

    def snapshot(self, domains: Sequence[str]) -> dict[str, Undo]:
        """The undo record of each name: what the registry holds for it right now."""
        ...

    def suspend(self, domain: str, action: str, undo: Undo) -> str:
        """Hold or redirect `domain`, whose current state is `undo`; verify; say what was
        seen after the change. Raises RegistryError when refused or not verified."""
        ...

    def reinstate(self, domain: str, undo: Undo) -> str:
        """Restore exactly `undo`; verify by reading the registry back."""
        ...
