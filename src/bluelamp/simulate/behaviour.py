"""The behaviour contract and the ground-truth label schema.

A behaviour is one kind of traffic (benign browsing, a DGA campaign, a beacon, ...). It
plans its actors once (`plan`), then produces rows slice by slice (`generate`), and finally
reports one label row per actor (`labels`). Behaviours share the `World` and never see
each other's rows, so a new one is one module plus an entry in `BEHAVIOURS`.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from bluelamp.schema import TIMESTAMP, Field, RecordSchema, dumps
from bluelamp.simulate.config import US
from bluelamp.simulate.frame import Draft
from bluelamp.simulate.world import World

LABELS = RecordSchema(
    "label",
    "Ground truth of a simulation: one row per labelled actor or incident.",
    (
        Field("label_id", pa.string(), "Stable id: behaviour, campaign and client.",
              nullable=False),
        Field("label", pa.string(), "benign, dga, beacon, tunnel, spam, water-torture, "
              "fast-flux or phishing.", nullable=False),
        Field("malicious", pa.bool_(), "False only for benign rows.", nullable=False),
        Field("client", pa.string(), "Client address of the actor (null for an incident "
              "that is about a domain rather than a client)."),
        Field("family", pa.string(), "DGA family, tunnel tool, or device kind for benign "
              "clients (workstation, mobile, server, iot, forwarder)."),
        Field("campaign", pa.string(), "Campaign id shared by clients of one campaign."),
        Field("c2_domain", pa.string(), "The name that resolves to the C2 (or tunnel "
              "server) the actor reached."),
        Field("c2_address", pa.string(), "The address that name resolves to."),
        Field("registered_domain", pa.string(), "Registered domain of c2_domain."),
        Field("domains", pa.list_(pa.string()), "Every malicious name or registered "
              "domain this actor queried (a DGA campaign's name set, the tunnel base)."),
        Field("first_seen", TIMESTAMP, "Time of the actor's first malicious query."),
        Field("last_seen", TIMESTAMP, "Time of its last malicious query."),
        Field("queries", pa.int64(), "Malicious queries it made (all queries for benign)."),
        Field("nxdomain", pa.int64(), "How many of those were answered NXDOMAIN."),
        Field("period_s", pa.float64(), "Beacon period (seconds), or DGA cycle."),
        Field("jitter", pa.float64(), "Beacon jitter as a fraction of the period."),
        Field("detail", pa.string(), "JSON object with behaviour-specific parameters."),
    ),
)


@dataclass
class Actor:
    """One labelled actor; counters grow as slices are generated."""

    label: str
    client: str | None
    family: str | None = None
    campaign: str | None = None
    c2_domain: str | None = None
    c2_address: str | None = None
    registered_domain: str | None = None
    domains: list[str] = field(default_factory=list)
    period_s: float | None = None
    jitter: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    first_us: int | None = None
    last_us: int | None = None
    queries: int = 0
    nxdomain: int = 0

    def seen(self, ts: np.ndarray, rcode: np.ndarray) -> None:
        if len(ts) == 0:
            return
        lo, hi = int(ts.min()), int(ts.max())
        self.first_us = lo if self.first_us is None else min(self.first_us, lo)
        self.last_us = hi if self.last_us is None else max(self.last_us, hi)
        self.queries += len(ts)
        self.nxdomain += int((rcode == 3).sum())

    def row(self, behaviour: str) -> dict[str, Any]:
        return {
            "label_id": f"{behaviour}:{self.campaign or '-'}:{self.client or '-'}",
            "label": self.label, "malicious": self.label != "benign", "client": self.client,
            "family": self.family, "campaign": self.campaign, "c2_domain": self.c2_domain,
            "c2_address": self.c2_address, "registered_domain": self.registered_domain,
            "domains": self.domains, "first_seen": _ts(self.first_us),
            "last_seen": _ts(self.last_us), "queries": self.queries,
            "nxdomain": self.nxdomain, "period_s": self.period_s, "jitter": self.jitter,
            "detail": dumps(self.detail) if self.detail else None,
        }


def _ts(us: int | None) -> dt.datetime | None:
    return None if us is None else dt.datetime.fromtimestamp(us / US, dt.UTC)


class Behaviour(ABC):
    """One kind of traffic. Subclasses set `name` and implement `generate`."""

    name: ClassVar[str]

    def __init__(self, world: World) -> None:
        self.world = world
        self.actors: list[Actor] = []

    def plan(self, g: np.random.Generator) -> None:  # noqa: B027 - optional hook
        """Choose actors, campaigns and domains (once, before the first slice)."""

    @abstractmethod
    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        """Rows in [lo_us, hi_us)."""

    def labels(self) -> list[dict[str, Any]]:
        """Every actor, also one whose queries fall outside the simulated window (an
        infected client is infected even when it was quiet): queries is then 0."""
        return [a.row(self.name) for a in self.actors]
