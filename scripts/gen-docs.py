"""Regenerate the derived parts of docs/: python scripts/gen-docs.py

docs/configuration.md keeps hand-written prose outside the markers and the settings
reference, derived from bluelamp.settings, between them (tests/test_documented.py checks it)."""

from __future__ import annotations

from pathlib import Path

from bluelamp.settings import reference_markdown

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
path = Path(__file__).parent.parent / "docs" / "configuration.md"
text = path.read_text()
head, _, rest = text.partition(BEGIN)
_, _, tail = rest.partition(END)
path.write_text(f"{head}{BEGIN}\n{reference_markdown()}\n{END}{tail}")
print(f"wrote {path}")
