"""Which regional unit issues a notice: the unit whose regions include the owner's region,
else the default (national) unit."""

from __future__ import annotations

from bluelamp.settings import NotifySettings, RegionalUnit


def unit_for(settings: NotifySettings, region: str | None) -> RegionalUnit:
    wanted = (region or "").strip().casefold()
    if wanted:
        for unit in settings.units:
            if wanted in {r.strip().casefold() for r in unit.regions}:
                return unit
    return settings.default_unit


def unit_by_id(settings: NotifySettings, unit_id: str) -> RegionalUnit:
    for unit in settings.units:
        if unit.id == unit_id:
            return unit
    return settings.default_unit
