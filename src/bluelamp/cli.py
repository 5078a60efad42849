"""The `bluelamp` command line: one Typer app, one command per job.

Commands live in `bluelamp.commands.*`; every module there that defines `register(app)` is
loaded, so adding a command is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from bluelamp import __version__
from bluelamp.errors import BluelampError

app = typer.Typer(
    name="bluelamp",
    help="Find cybercrime in DNS traffic and threat feeds, attribute it, and act on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bluelamp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Bluelamp: watch DNS, collect threat feeds, attribute, notify, share, suspend."""


def _register_commands() -> None:
    import bluelamp.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except BluelampError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
