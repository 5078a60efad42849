"""Fixtures for attribution tests: the real-format sample files."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
