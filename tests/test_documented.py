"""Nothing undocumented: every command has help with an example and a section in docs/cli.md,
and every setting has a description and a line in docs/configuration.md (as datasette does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel

from bluelamp.cli import app
from bluelamp.settings import Settings, reference_markdown

DOCS = Path(__file__).parent.parent / "docs"


def _commands() -> list[tuple[str, Any]]:
    # Typer vendors its own click, so groups are recognised by their `commands` mapping
    found: list[tuple[str, Any]] = []

    def walk(group: Any, prefix: str) -> None:
        for name, cmd in group.commands.items():
            full = f"{prefix} {name}".strip()
            if hasattr(cmd, "commands"):
                walk(cmd, full)
            else:
                found.append((full, cmd))

    walk(typer.main.get_command(app), "")
    return found


COMMANDS = _commands()


def test_there_are_commands() -> None:
    assert len(COMMANDS) >= 3


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_help_has_an_example(name: str, command: Any) -> None:
    text = (command.help or "") + (command.epilog or "")
    assert "bluelamp " + name.split()[0] in text and "xample" in text, (
        f"`bluelamp {name} --help` needs an example (a line 'Example: bluelamp {name} ...')"
    )


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_command_is_in_cli_docs(name: str) -> None:
    assert f"bluelamp {name}" in (DOCS / "cli.md").read_text(), f"docs/cli.md lacks `{name}`"


def _settings() -> list[tuple[str, str | None]]:
    out = []
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel), section
        for key, sub in model.model_fields.items():
            out.append((f"{section}.{key}", sub.description))
    return out


@pytest.mark.parametrize(("key", "description"), _settings())
def test_setting_has_a_description(key: str, description: str | None) -> None:
    assert description, f"setting {key} has no description"


def test_configuration_reference_is_current() -> None:
    text = (DOCS / "configuration.md").read_text()
    assert reference_markdown() in text, (
        "docs/configuration.md is out of date: run python scripts/gen-docs.py"
    )


def test_links_between_docs_resolve() -> None:
    import re

    pages = [*DOCS.glob("*.md"), DOCS.parent / "README.md"]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
