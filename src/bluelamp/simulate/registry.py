"""Every behaviour by name. Add a behaviour: write its module, add it here."""

from __future__ import annotations

from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import Benign

BEHAVIOURS: dict[str, type[Behaviour]] = {
    b.name: b for b in (Benign,)
}
#: what `simulate` runs unless told otherwise (order matters: it fixes the random streams'
#: use of the shared client pool)
DEFAULT_BEHAVIOURS: tuple[str, ...] = tuple(BEHAVIOURS)
