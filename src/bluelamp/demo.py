"""The demo: one realistic day through the whole flow, on embedded defaults.

simulate DNS traffic of the demo organisations' hosts → detectors → findings in the lake →
events (own findings, plus simulated Shadowserver reports) attributed to the demo
organisations and regions → demo accounts in the control-plane database. Everything lands in
one folder with a `bluelamp.toml` that points at it, so every other command (and `bluelamp
serve`) can be run on the demo's results afterwards with `BLUELAMP_CONFIG=<out>/bluelamp.toml`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bluelamp.attribute import Attributor
from bluelamp.detect.base import Finding, findings_table
from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.settings import Settings, load_settings
from bluelamp.store.lake import Lake

#: the demo's national address space: documentation ranges, presented as country "GB" only
#: inside the demo (written to a delegated file in the output folder, never shipped as data)
DEMO_COUNTRY = "GB"


@dataclass
class DemoResult:
    settings: Settings
    dns: pa.Table
    labels: pa.Table
    findings: list[Finding]
    engine: Engine
    events_from_findings: int
    feed_events: int
    credentials: dict[str, str]


def demo_networks() -> list[str]:
    from bluelamp.web.seed import DEMO_ORGS

    return [net for org in DEMO_ORGS for net in org[3]]


def _toml_table(name: str, values: dict[str, object]) -> str:
    """One TOML table. JSON strings, numbers and arrays of them are valid TOML values, so
    names and paths with quotes or backslashes stay intact."""
    body = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    return f"[{name}]\n{body}\n"


def write_config(out: Path) -> Path:
    """The demo's settings file (lake, database, attribution) and the data files it names."""
    from bluelamp.web.seed import DEMO_ORGS

    out.mkdir(parents=True, exist_ok=True)
    orgs = out / "orgs.toml"
    orgs.write_text("".join(
        _toml_table("[organisation]", {"name": name, "sector": sector, "region": region,
                                       "networks": list(nets), "asns": list(asns),
                                       "country": DEMO_COUNTRY})
        for name, sector, region, nets, asns in DEMO_ORGS))
    delegated = out / "delegated-demo.txt"
    lines = ["2|demo|1|0|19700101|20261121|+0000"]
    for net in demo_networks():
        n = ipaddress.ip_network(net)
        kind, value = ("ipv4", str(n.num_addresses)) if n.version == 4 else ("ipv6",
                                                                            str(n.prefixlen))
        lines.append(f"demo|{DEMO_COUNTRY}|{kind}|{n.network_address}|{value}|20200101|assigned")
    delegated.write_text("\n".join(lines) + "\n")
    config = out / "bluelamp.toml"
    config.write_text(
        _toml_table("lake", {"path": str((out / "lake").resolve())})
        + _toml_table("database", {"url": f"sqlite:///{(out / 'bluelamp.db').resolve()}"})
        + _toml_table("attribution", {"country": DEMO_COUNTRY, "orgs": str(orgs.resolve()),
                                      "delegated": [str(delegated.resolve())]}))
    return config


def run_demo(out: Path, *, clients: int, hours: float, seed: int,
             indicators: list[Path] | None = None, seed_accounts: bool = True) -> DemoResult:
    from bluelamp.events import findings_to_events
    from bluelamp.schema import EVENT
    from bluelamp.simulate import simulate_day

    settings = load_settings(write_config(out))
    dns, labels = simulate_day(clients=clients, hours=hours, seed=seed,
                               client_networks=tuple(demo_networks()))
    pq.write_table(dns, out / "traffic.parquet")
    pq.write_table(labels, out / "labels.parquet")
    lake = Lake(settings.lake.path)
    engine = Engine(default_detectors(indicators=list(indicators or [])), lake=lake)
    findings = engine.run(dns.to_batches(max_chunksize=settings.engine.batch_size))

    attributor = Attributor.from_settings(settings)
    own = findings_to_events(findings_table(findings)) if findings else EVENT.empty_table()
    if own.num_rows:
        lake.write("event", EVENT.conform(attributor.attribute(own)))
    feed_events = _ingest_demo_feeds(out, settings, lake, attributor, dns, seed)
    credentials = {}
    if seed_accounts:
        from bluelamp.web.seed import seed_demo

        credentials = seed_demo(settings)
    return DemoResult(settings, dns, labels, findings, engine, own.num_rows, feed_events,
                      credentials)


def _ingest_demo_feeds(out: Path, settings: Settings, lake: Lake, attributor: Attributor,
                       dns: pa.Table, seed: int) -> int:
    """Simulated Shadowserver reports about the demo networks, through the real parser."""
    from bluelamp.simulate.feeds import shadowserver_reports
    from bluelamp.sources.feeds.pipeline import Ingestor, Quarantine

    day = (dns.column("ts")[0].as_py() if dns.num_rows else dt.datetime.now(dt.UTC)).date()
    folder = out / "feeds"
    folder.mkdir(exist_ok=True)
    ingestor = Ingestor(lake, attributor, None, Quarantine(settings.lake.path / "quarantine"))
    for name, text in shadowserver_reports(demo_networks(), day, seed=seed,
                                           country=DEMO_COUNTRY).items():
        (folder / name).write_text(text)
        ingestor.ingest_path(folder / name)
    return int(ingestor.result.to_json()["events"])
