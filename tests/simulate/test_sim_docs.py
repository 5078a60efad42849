"""docs/simulate.md stays in step with the code."""

from __future__ import annotations

from pathlib import Path

from bluelamp.simulate import LABELS
from bluelamp.simulate.registry import BEHAVIOURS
from bluelamp.simulate.writers import FORMATS

DOC = (Path(__file__).parent.parent.parent / "docs" / "simulate.md").read_text()


def test_label_fields_are_documented() -> None:
    assert LABELS.markdown() in DOC


def test_behaviours_and_formats_are_documented() -> None:
    for name in BEHAVIOURS:
        assert f"| `{name}` (" in DOC, name
    for fmt in FORMATS:
        assert f"| `{fmt}` |" in DOC, fmt
