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


@pytest.mark.parametrize("name", ["analyze", "query", "hunt", "demo", "lake compact",
                                  "lake prune"])
def test_every_option_is_documented(name: str) -> None:
    command = typer.main.get_command(app)
    for word in name.split():
        command = command.commands[word]  # type: ignore[attr-defined]
    doc = section(name.split()[0])
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert opt in doc, f"{opt} of `bluelamp {name}` is not in docs/cli.md"


def test_the_add_a_detector_example_in_engine_md_works() -> None:
    import datetime as dt
    import re

    from bluelamp.detect.engine import Engine
    from bluelamp.schema import DNS

    text = (CLI_DOC.parent / "engine.md").read_text()
    example = next(c for c in re.findall(r"```python\n(.*?)```", text, re.S)
                   if "DETECTORS = [" in c)
    namespace: dict[str, object] = {}
    exec(example, namespace)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [{"ts": t0 + dt.timedelta(seconds=i), "client": "a", "qname": "x" * 120}
            for i in range(12)] + [{"ts": t0, "client": "b", "qname": "short"}]
    engine = Engine([namespace["long_names"]()])  # type: ignore[operator]
    found = engine.process(DNS.from_rows(rows)) + engine.flush()
    assert [(f.subject, f.count) for f in found] == [("a", 12)]
