"""Labelled DNS traffic for demos, tests, benchmarks and evaluation.

`simulate_day(...)` returns (dns table, labels table); `Simulation` yields the same rows
slice by slice for bounded memory; `bluelamp.simulate.writers.write` writes any format.
"""

from bluelamp.simulate.behaviour import LABELS, Behaviour
from bluelamp.simulate.config import SimConfig
from bluelamp.simulate.day import Simulation, simulate_day

__all__ = ["LABELS", "Behaviour", "SimConfig", "Simulation", "simulate_day"]
