"""Every behaviour by name. Add a behaviour: write its module, add it here."""

from __future__ import annotations

from bluelamp.simulate.beacon import Beacon
from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import Benign
from bluelamp.simulate.cdn import CdnNames
from bluelamp.simulate.dga import Dga
from bluelamp.simulate.fast_flux import FastFlux
from bluelamp.simulate.heartbeats import Heartbeats
from bluelamp.simulate.phishing import Phishing
from bluelamp.simulate.probes import BrowserProbes
from bluelamp.simulate.services import Services
from bluelamp.simulate.spam import SpamBot
from bluelamp.simulate.tunnel import Tunnel
from bluelamp.simulate.water_torture import WaterTorture

_DEFAULT = (Dga, Beacon, Tunnel, Benign, CdnNames, BrowserProbes, Services, Heartbeats)
#: hooks for later detectors: run with SimConfig(extra=(...)) or `--extra`
_OPTIONAL = (SpamBot, WaterTorture, FastFlux, Phishing)
BEHAVIOURS: dict[str, type[Behaviour]] = {b.name: b for b in (*_DEFAULT, *_OPTIONAL)}
#: what `simulate` runs unless told otherwise (the order fixes which clients each
#: malicious behaviour claims)
DEFAULT_BEHAVIOURS: tuple[str, ...] = tuple(b.name for b in _DEFAULT)
