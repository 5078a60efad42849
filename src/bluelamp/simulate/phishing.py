"""Phishing and lookalike domains (optional behaviour "phishing"): typosquats,
combosquats and homoglyph (IDNA) imitations of popular brands, each visited by a few
clients who followed a link. The labels are about the domains (client null)."""

from __future__ import annotations

import numpy as np

from bluelamp.simulate.behaviour import Actor
from bluelamp.simulate.config import US
from bluelamp.simulate.scheduled import Rows, Scheduled
from bluelamp.simulate.world import MOBILE, WORKSTATION
from bluelamp.simulate.zone import Pinned, address_v4

BRANDS = ("paypal", "microsoft", "apple", "netflix", "amazon", "dhl", "ing", "office365")
WORDS = ("login", "secure", "verify", "account", "support", "update", "billing")
#: Cyrillic look-alikes of Latin letters, written in IDNA A-label form by `encode`
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с"}


def lookalikes(brand: str, g: np.random.Generator) -> list[tuple[str, str]]:
    """(kind, domain) imitations of `brand`."""
    out = [("combosquat", f"{brand}-{WORDS[int(g.integers(0, len(WORDS)))]}.com"),
           ("typosquat", f"{brand[:-1]}{brand[-1] * 2}.com")]
    swap = next((c for c in brand if c in HOMOGLYPHS), None)
    if swap:
        fake = brand.replace(swap, HOMOGLYPHS[swap], 1)
        out.append(("homoglyph", fake.encode("idna").decode() + ".com"))
    return out


class Phishing(Scheduled):
    name = "phishing"

    def plan(self, g: np.random.Generator) -> None:
        cfg = self.world.cfg
        people = np.flatnonzero(np.isin(self.world.kind, (WORKSTATION, MOBILE)))
        span = cfg.end_us - cfg.start_us
        for n, brand in enumerate(g.choice(BRANDS, size=3, replace=False).tolist()):
            for kind, domain in lookalikes(brand, g):
                address = address_v4(domain, salt="phish")
                self.world.zone.pin(domain, Pinned(v4=(address,), ttl=300))
                self.world.zone.pin("www." + domain, Pinned(v4=(address,), ttl=300))
                actor = Actor("phishing", None, family=kind, campaign=f"phishing-{n + 1}",
                              c2_domain=domain, c2_address=address, registered_domain=domain,
                              domains=[domain], detail={"brand": brand})
                victims = g.choice(people, size=min(len(people), int(g.integers(1, 6))),
                                   replace=False)
                for client in victims.tolist():
                    t = cfg.start_us + int(g.random() * span)
                    ts = np.array([t, t + 150, t + int(0.8 * US)], np.int64)
                    self.add(actor, client, Rows(ts, [domain, domain, "www." + domain],
                                                 np.array([1, 28, 1], np.uint16), 0))
        self.finish()
