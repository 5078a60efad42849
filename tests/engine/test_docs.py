"""Every option of the commands this area owns is documented in docs/cli.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from bluelamp.cli import app

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def section(name: str) -> str:
    text = CLI_DOC.read_text()
    start = text.index(f"## `bluelamp {name}`")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


@pytest.mark.parametrize("name", ["analyze", "query", "hunt", "demo"])
def test_every_option_is_documented(name: str) -> None:
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    doc = section(name)
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert opt in doc, f"{opt} of `bluelamp {name}` is not in docs/cli.md"
