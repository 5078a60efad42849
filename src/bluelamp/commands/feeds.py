"""`bluelamp feeds ...`: ingest threat-feed files, pull configured feed URLs, list parsers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bluelamp.errors import BluelampError, InputError
from bluelamp.sources.feeds import feeds as registered_feeds
from bluelamp.sources.feeds.pipeline import (
    Attributing,
    FeedsSettings,
    FeedState,
    Ingestor,
    Quarantine,
    load_feeds_settings,
    pull,
)

app = typer.Typer(help="Threat feeds: ingest files, pull URLs, list the parsers.",
                  no_args_is_help=True)

LakeOption = Annotated[Path | None, typer.Option(
    "--lake", help="Lake folder (default: the lake.path setting).")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Settings file (default: $BLUELAMP_CONFIG or ./bluelamp.toml).")]


def _lake_root(lake: Path | None, config: Path | None) -> Path:
    if lake is not None:
        return lake
    from bluelamp.settings import load_settings

    return load_settings(config).lake.path


def _sink(root: Path) -> Any:
    from bluelamp.store.lake import Lake

    return Lake(root)


def _attributor(config: Path | None) -> Attributing | None:
    """The Attributor when attribution is configured (and the package is there); else None
    so that events are stored unattributed rather than not at all."""
    try:
        from bluelamp.attribute import Attributor
        from bluelamp.settings import load_settings

        settings = load_settings(config)
        section = getattr(settings, "attribution", None)
        if section is None or not (section.routing or section.delegated or section.orgs
                                   or section.geo):
            return None
        return Attributor.from_settings(settings)
    except ImportError:
        return None


def _state(settings: FeedsSettings, root: Path, path: Path | None) -> FeedState:
    import datetime as dt

    where = path or settings.state or root / "feeds-state.sqlite"
    return FeedState(where, dt.timedelta(hours=settings.window_hours))


def ingest(
    files: Annotated[list[Path], typer.Argument(help="Feed files (gzip is fine).",
                                                exists=True, dir_okay=False)],
    feed: Annotated[str, typer.Option("--feed", help="Parser name, or auto to sniff "
                                      "(see `bluelamp feeds list`).")] = "auto",
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="TOML mapping file for a feed without its own parser.")] = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    state: Annotated[Path | None, typer.Option(
        "--state", help="Seen-id store: skip events already ingested within the window.")
    ] = None,
    quarantine: Annotated[Path | None, typer.Option(
        "--quarantine", help="Folder for bad rows (default: <lake>/quarantine).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row.")] = False,
) -> None:
    """Parse feed files into events, validate them, attribute them and write them to the
    lake; bad rows go to the quarantine with their file, line and reason.

    Example: bluelamp feeds ingest 2026-11-20-scan_rdp-nl-geo.csv urlhaus.csv --json
    """
    settings = load_feeds_settings(config)
    root = _lake_root(lake, config)
    seen = _state(settings, root, state) if state is not None else None
    ingestor = Ingestor(_sink(root), _attributor(config), seen,
                        Quarantine(quarantine or settings.quarantine or root / "quarantine"),
                        strict)
    started = time.perf_counter()
    failed: list[str] = []
    try:
        for path in files:
            try:
                ingestor.ingest_path(path, feed, mapping)
            except InputError as exc:  # one unreadable file does not stop the others
                if strict:
                    raise
                failed.append(str(exc))
                ingestor.result.feed("unrecognised").errors += 1
    finally:
        if seen is not None:
            seen.close()
    summary = {**ingestor.result.to_json(), "failed_files": failed}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for message in failed:
        typer.secho(f"skipped: {message}", fg=typer.colors.YELLOW, err=True)
    seconds = time.perf_counter() - started
    typer.echo(f"{summary['rows']} rows, {summary['events']} events written, "
               f"{summary['duplicates']} duplicates, {summary['errors']} bad rows "
               f"in {seconds:.1f}s")
    for name, stats in summary["by_feed"].items():
        typer.echo(f"  {name}: {stats['events']} events, {stats['errors']} bad rows")
    for path in ingestor.result.quarantined:
        typer.echo(f"  quarantined: {path}")


def pull_command(
    config: ConfigOption = None,
    lake: LakeOption = None,
    force: Annotated[bool, typer.Option("--force", help="Pull even if not due.")] = False,
    loop: Annotated[bool, typer.Option("--loop", help="Keep pulling as feeds fall due.")
                    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Pull the feed URLs of the [feeds] settings that are due: conditional GET, retries
    with back-off, and no event written twice (stable ids + a seen-id store).

    Example: bluelamp feeds pull --config bluelamp.toml --json
    """
    settings = load_feeds_settings(config)
    if not settings.sources:
        raise BluelampError("no feeds configured: add [[feeds.sources]] entries "
                            "(name, url, feed, interval) to the settings file")
    root = _lake_root(lake, config)
    state = _state(settings, root, None)
    ingestor = Ingestor(_sink(root), _attributor(config), state,
                        Quarantine(settings.quarantine or root / "quarantine"))
    try:
        while True:
            outcomes = pull(settings.sources, ingestor, state, settings, force=force)
            if not loop:
                break
            for o in outcomes:
                if o.status != "not-due":
                    typer.echo(f"{o.name}: {o.status} {o.detail}".rstrip())
            force = False
            time.sleep(max(1, min(s.interval for s in settings.sources) / 10))
    finally:
        state.close()
    summary = {**ingestor.result.to_json(),
               "pulls": [vars(o) for o in outcomes], "state": state.path.name}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for o in outcomes:
        typer.echo(f"{o.name}: {o.status} {o.detail}".rstrip())
    typer.echo(f"{summary['events']} new events, {summary['duplicates']} already seen, "
               f"{summary['errors']} bad rows")


def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the feed parsers (names for --feed).

    Example: bluelamp feeds list
    """
    parsers = registered_feeds()
    if as_json:
        typer.echo(json.dumps({n: {"provider": p.provider, "description": p.description}
                               for n, p in sorted(parsers.items())}))
        return
    for name, parser in sorted(parsers.items()):
        typer.echo(f"{name:18} {parser.description}")


def findings_command(
    lake: LakeOption = None,
    config: ConfigOption = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only findings first seen from this ISO 8601 time on.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Turn the detectors' findings in the lake into events (ENISA-classified, attributed
    when configured), so they are shared and notified like feed events. Findings already
    turned into events are skipped (same stable id).

    Example: bluelamp feeds findings --lake bluelamp-lake --json
    """
    import datetime as dt

    import pyarrow as pa
    import pyarrow.compute as pc

    from bluelamp.events import findings_to_events
    from bluelamp.store.lake import Lake

    store = Lake(_lake_root(lake, config))
    when = dt.datetime.fromisoformat(since) if since else None
    findings = store.read("finding", since=when) if store.files("finding") else None
    events = findings_to_events(findings) if findings is not None else None
    written = 0
    if events is not None and events.num_rows:
        known = pa.array([], pa.string())
        if store.files("event"):
            known = store.query("SELECT DISTINCT id FROM event WHERE feed_name LIKE "
                                "'bluelamp/%'").column("id").combine_chunks()
        events = events.filter(pc.invert(pc.is_in(events.column("id"), known)))
        attributor = _attributor(config)
        if attributor is not None:
            from bluelamp.schema import EVENT

            events = EVENT.conform(attributor.attribute(events))
        store.write("event", events)
        written = events.num_rows
    summary = {"findings": findings.num_rows if findings is not None else 0,
               "events": written}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"{summary['findings']} findings, {written} new events")


app.command("ingest")(ingest)
app.command("findings")(findings_command)
app.command("pull")(pull_command)
app.command("list")(list_command)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feeds")
