"""The `[detect]` settings of the domain-behaviour detectors, for their factories.

`default_detectors()` does not hand settings to factories, so a factory called without them
reads the settings file in force (as `bluelamp analyze` does) once, when the detector is
built; never while it runs.
"""

from __future__ import annotations

from typing import Any

from bluelamp.settings import DetectSettings, load_settings


def detect_settings(settings: Any = None) -> DetectSettings:
    """`settings.detect` of a `Settings`, a `DetectSettings` as is, else the loaded one."""
    if isinstance(settings, DetectSettings):
        return settings
    if settings is not None:
        found: DetectSettings = settings.detect
        return found
    return load_settings().detect


def full_settings(settings: Any = None) -> Any:
    """The whole `Settings` (for sections other than `[detect]`): the one given, the loaded
    one when none is given, None when only a `DetectSettings` was given (tests)."""
    if isinstance(settings, DetectSettings):
        return None
    return settings if settings is not None else load_settings()
