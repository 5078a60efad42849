"""CLI commands. Each module defines `register(app: typer.Typer)` and is found automatically."""
