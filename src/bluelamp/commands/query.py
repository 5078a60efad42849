"""`bluelamp query` (SQL over the lake) and `bluelamp hunt` (who looked a domain up)."""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from bluelamp.commands.analyze import parse_duration
from bluelamp.errors import BluelampError
from bluelamp.schema import json_value
from bluelamp.store.lake import Lake

LakeOption = Annotated[Path | None, typer.Option(
    "--lake", help="Lake folder (default: the lake.path setting).")]

HUNT_SQL = """
SELECT client,
       min(ts) AS first_seen,
       max(ts) AS last_seen,
       count(*) AS queries,
       count(DISTINCT qname) AS names,
       min(qname) AS sample_name
FROM dns
WHERE day >= ? AND ts >= ? AND ({match})
GROUP BY client
ORDER BY queries DESC, client
"""
MATCH_DOMAIN = "qname = ? OR ends_with(qname, ?)"
MATCH_ANSWER = "list_contains(answers, ?)"


def hunt_table(lake: Lake, domain: str, since: dt.datetime) -> pa.Table:
    """Clients that looked up `domain` or any name under it since `since`: first and last
    time, number of queries and of distinct names, one sample name."""
    from bluelamp.sources.names import normalize_qname

    name = normalize_qname(domain.strip()) if domain.strip() else ""
    if not name:
        raise typer.BadParameter("the domain is empty")
    sql = HUNT_SQL.format(match=MATCH_DOMAIN)
    return lake.query(sql, [since.date(), since, name, "." + name])


def hunt_ip_table(lake: Lake, address: str, since: dt.datetime) -> pa.Table:
    """Clients that got `address` in an answer since `since` (same columns as
    `hunt_table`; the names are the ones that resolved to it)."""
    try:
        ip = str(ipaddress.ip_address(address.strip()))
    except ValueError:
        raise typer.BadParameter(f"{address!r} is not an IP address") from None
    return lake.query(HUNT_SQL.format(match=MATCH_ANSWER), [since.date(), since, ip])


def since_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """A duration back from now ('90d') or an ISO 8601 time ('2025-03-01'), in UTC."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return (now or dt.datetime.now(dt.UTC)) - parse_duration(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def open_lake(path: Path | None) -> Lake:
    """The lake at `path`, else at the lake.path setting."""
    if path is None:
        from bluelamp.settings import load_settings

        path = load_settings().lake.path
    return Lake(path)


def _json_rows(table: pa.Table) -> list[dict[str, object]]:
    return [{k: json_value(v) for k, v in row.items()} for row in table.to_pylist()]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"
    return str(json_value(value))


def _print(table: pa.Table, as_json: bool, as_csv: bool, title: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(_json_rows(table)) + "\n")
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(table.column_names)
        for row in _json_rows(table):
            writer.writerow(["" if v is None else v for v in row.values()])
    else:
        out = Table(title=title)
        for name in table.column_names:
            out.add_column(name, overflow="fold")
        for row in table.to_pylist():
            out.add_row(*(_cell(v) for v in row.values()))
        Console().print(out)


def query(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the views dns, finding, event.")],
    lake: LakeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Rows as a JSON array.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Rows as CSV with a header.")] = False,
) -> None:
    """Run SQL over the lake (views: dns, finding, event; each has a `day` column).

    Example: [bold]bluelamp query "SELECT type, count(*) FROM finding GROUP BY type" --json[/bold]
    """
    try:
        table = open_lake(lake).query(sql)
    except BluelampError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _print(table, as_json, as_csv)


def hunt(
    domain: Annotated[str | None, typer.Option("--domain", help="Domain to hunt for; its "
                                               "subdomains match too.")] = None,
    ip: Annotated[str | None, typer.Option("--ip", help="Or: an address to hunt for in "
                                           "answers (e.g. a C2 server).")] = None,
    since: Annotated[str, typer.Option(help="How far back to look (24h, 90d) or from when "
                                       "(2025-03-01, ISO 8601, UTC).")] = "90d",
    lake: LakeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Rows as a JSON array.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Rows as CSV with a header.")] = False,
) -> None:
    """Which clients looked up a domain (or any subdomain), or got an address in an answer;
    when, and how often.

    Example: [bold]bluelamp hunt --domain c2.example.net --since 90d --json[/bold]
    """
    if (domain is None) == (ip is None):
        raise typer.BadParameter("give exactly one of --domain and --ip")
    start = since_time(since)
    try:
        if domain is not None:
            table = hunt_table(open_lake(lake), domain, start)
            what = f"looked up {domain} (or below)"
        else:
            table = hunt_ip_table(open_lake(lake), str(ip), start)
            what = f"got the answer {ip}"
    except BluelampError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _print(table, as_json, as_csv,
           title=f"clients that {what} since {start:%Y-%m-%d %H:%M} UTC")


def register(app: typer.Typer) -> None:
    app.command("query")(query)
    app.command("hunt")(hunt)
