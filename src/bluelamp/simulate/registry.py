"""Every behaviour by name. Add a behaviour: write its module, add it here."""

from __future__ import annotations

from bluelamp.simulate.beacon import Beacon
from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import Benign
from bluelamp.simulate.cdn import CdnNames
from bluelamp.simulate.dga import Dga
from bluelamp.simulate.probes import BrowserProbes
from bluelamp.simulate.services import Services
from bluelamp.simulate.tunnel import Tunnel

BEHAVIOURS: dict[str, type[Behaviour]] = {
    b.name: b for b in (Dga, Beacon, Tunnel, Benign, CdnNames, BrowserProbes, Services)
}
#: what `simulate` runs unless told otherwise (order matters: it fixes the random streams'
#: use of the shared client pool)
DEFAULT_BEHAVIOURS: tuple[str, ...] = tuple(BEHAVIOURS)
