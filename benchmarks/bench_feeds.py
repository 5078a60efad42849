"""Feed ingestion throughput: parse + validate + normalise (+ attribute) a large generated
Shadowserver `scan_rdp` report, per core, side by side with IntelMQ 3.5's Shadowserver
parser bot on the same file.

    python benchmarks/bench_feeds.py --rows 500000

Our figure: `pa.set_cpu_count(1)` and CPU time (`time.process_time`) of this process.
IntelMQ runs in its own virtual environment (created here with `python -m venv` and
`pip install intelmq==3.5.*`), driven in-process without Redis by a small driver script
that feeds the bot's `parse`/`parse_line` the file the way its own tests do; its CPU time
is measured inside that process the same way. If IntelMQ cannot be installed or driven the
reason is printed and our figure still is.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import pyarrow as pa

from bluelamp.sources.feeds import feeds, parse_path
from bluelamp.sources.feeds.shadowserver import reports

REPORT = "scan_rdp"


def generate(path: Path, rows: int, seed: int = 7) -> Path:
    """A Shadowserver scan_rdp report with the published columns and plausible values."""
    rng = random.Random(seed)
    fields = reports()[REPORT].fields
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        out.writerow(fields)
        for i in range(rows):
            ip = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{i % 250 + 1}"
            values = {
                "timestamp": f"2026-11-20 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
                "severity": "medium", "ip": ip, "protocol": "tcp", "port": 3389,
                "hostname": f"host{i}.example.net" if i % 3 else "", "tag": "rdp",
                "asn": 64500 + i % 500, "geo": "NL", "region": "UTRECHT", "city": "UTRECHT",
                "naics": 517311, "hostname_source": "ptr", "sector": "Communications",
                "rdp_protocol": "RDP", "cert_length": 2048, "subject_common_name": f"WIN-{i}",
                "issuer_common_name": f"WIN-{i}", "ssl_version": 3,
                "sha256_fingerprint": f"{i:064x}",
            }
            out.writerow([values.get(f, "") for f in fields])
    return path


def bench_ours(path: Path, attributor: object | None) -> tuple[int, float]:
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    feeds()  # import the parsers before the clock starts: start-up is not throughput
    reports()
    start = time.process_time()
    events = 0
    for chunk in parse_path(path, "shadowserver"):
        if chunk.batch is not None:
            table = pa.Table.from_batches([chunk.batch])
            if attributor is not None:
                table = attributor.attribute(table)  # type: ignore[attr-defined]
            events += table.num_rows
    return events, time.process_time() - start


# The IntelMQ side, run by the IntelMQ venv's python. It builds the bot the way IntelMQ's
# BotTestCase does (mocked runtime configuration, no Redis), hands it the report through
# `receive_message`, and counts (and serialises, as `send_message` would) what `process`
# emits. The Shadowserver schema IntelMQ normally downloads is replaced by an entry for this
# one report type, built from the same published field list.
DRIVER = r"""
import base64, io, json, sys, time
from unittest import mock

import intelmq.lib.utils as utils
from intelmq.lib import message
from intelmq.lib.test import BOT_CONFIG, mocked_config, mocked_get_global_settings
import intelmq.bots.parsers.shadowserver._config as ssconfig
from intelmq.bots.parsers.shadowserver.parser import ShadowserverParserBot

csv_path, schema_path, file_name = sys.argv[1:4]
state = getattr(ssconfig, "__config")
state.schema_file = state.schema_active = schema_path
state.schema_mtime = 0.0
config = dict(BOT_CONFIG, logging_level="ERROR", destination_queues={"_default": "out"})
logger = utils.log("bench", log_path=False, stream=io.StringIO(), log_level="ERROR")
patches = [
    mock.patch("intelmq.lib.utils.load_configuration", new=mocked_config(
        "bench", sysconfig=config, group="Parser", module=ShadowserverParserBot.__module__)),
    mock.patch("intelmq.lib.utils.get_global_settings", mocked_get_global_settings),
    mock.patch("intelmq.lib.utils.log", lambda *a, **k: logger),
]
for p in patches:
    p.start()
bot = ShadowserverParserBot("bench")
with open(csv_path, "rb") as fh:
    raw = base64.b64encode(fh.read()).decode()
report = message.Report({"raw": raw, "extra.file_name": file_name, "feed.name": "bench",
                         "time.observation": "2026-11-21T00:00:00+00:00"})
count = [0]
def send(*events, **kw):
    for event in events:
        event.serialize()
        count[0] += 1
bot.receive_message = lambda: report
bot.send_message = send
bot.acknowledge_message = lambda: None
start = time.process_time()
bot.process()
cpu = time.process_time() - start
print(json.dumps({"events": count[0], "cpu_s": cpu}))
"""


def intelmq_schema(fields: tuple[str, ...]) -> dict[str, object]:
    """An IntelMQ Shadowserver-schema entry for scan_rdp, in the format of IntelMQ's
    schema.json.test, mapping the same columns our parser maps."""
    mapped = {"timestamp", "ip", "port", "protocol", "hostname", "asn", "geo", "region", "city"}
    optional: list[list[str]] = [
        ["protocol.transport", "protocol"], ["source.reverse_dns", "hostname"],
        ["source.asn", "asn", "invalidate_zero"], ["source.geolocation.cc", "geo"],
        ["source.geolocation.region", "region"], ["source.geolocation.city", "city"]]
    optional += [["extra.", f, "validate_to_none"] for f in fields if f not in mapped]
    return {"scan_rdp": {
        "constant_fields": {"classification.identifier": "accessible-rdp",
                            "classification.taxonomy": "vulnerable",
                            "classification.type": "vulnerable-system",
                            "protocol.application": "rdp"},
        "feed_name": "Accessible-RDP", "file_name": "scan_rdp",
        "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"],
                            ["source.ip", "ip", "validate_ip"],
                            ["source.port", "port", "convert_int"]],
        "optional_fields": optional}}


def bench_intelmq(path: Path, work: Path, rows: int | None) -> dict[str, object]:
    """Install IntelMQ 3.5 in its own venv and time its parser; a dict with the figure or
    with `error` saying exactly what went wrong."""
    env_dir = work / "intelmq-venv"
    python = env_dir / "bin" / "python"
    try:
        if not python.exists():
            venv.create(env_dir, with_pip=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "intelmq==3.5.*"],
                           check=True, capture_output=True, text=True, timeout=900)
    except subprocess.CalledProcessError as exc:
        return {"error": f"pip install intelmq==3.5.* failed: {exc.stderr.strip()[-800:]}"}
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"could not create the IntelMQ virtual environment: {exc}"}
    source = path
    if rows is not None:
        source = work / path.name
        with path.open() as src, source.open("w") as dst:
            for n, line in enumerate(src):
                if n > rows:
                    break
                dst.write(line)
    schema = work / "shadowserver-schema.json"
    schema.write_text(json.dumps(intelmq_schema(reports()[REPORT].fields)))
    driver = work / "drive_intelmq.py"
    driver.write_text(DRIVER)
    done = subprocess.run([str(python), str(driver), str(source), str(schema), path.name],
                          capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        return {"error": f"driving IntelMQ's ShadowserverParserBot failed: "
                         f"{done.stderr.strip()[-1500:]}"}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _attributor() -> object | None:
    """The Attributor from the settings when attribution is configured, else None."""
    try:
        from bluelamp.attribute import Attributor
        from bluelamp.settings import load_settings

        settings = load_settings()
        section = settings.attribution
        if section.routing or section.delegated or section.orgs or section.geo:
            return Attributor.from_settings(settings)
    except Exception as exc:  # the benchmark still measures parsing without it
        print(f"attribution skipped: {exc}", file=sys.stderr)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--file", type=Path, help="use this report instead of generating one")
    parser.add_argument("--no-intelmq", action="store_true", help="skip the IntelMQ side")
    parser.add_argument("--intelmq-rows", type=int, default=None,
                        help="give IntelMQ only the first N rows (default: the whole file)")
    parser.add_argument("--work", type=Path, help="folder for the file and IntelMQ's venv")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    work.mkdir(parents=True, exist_ok=True)
    path = args.file or generate(work / f"2026-11-20-{REPORT}-bench-geo.csv", args.rows)
    attributor = _attributor()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    events, cpu = bench_ours(path, attributor)
    our_rate = events / cpu
    ours = {"tool": "bluelamp", "file": path.name, "events": events, "cpu_s": round(cpu, 3),
            "events_per_s_per_core": round(our_rate),
            "attributed": attributor is not None,
            "peak_rss_mb": round(max(peak_before, resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss) / 1024)}
    print(json.dumps(ours))
    if args.no_intelmq:
        return 0
    theirs = bench_intelmq(path, work, args.intelmq_rows)
    if "error" in theirs:
        print(json.dumps({"tool": "intelmq-3.5", **theirs}))
        return 0
    rate = float(theirs["events"]) / float(theirs["cpu_s"])  # type: ignore[arg-type]
    print(json.dumps({"tool": "intelmq-3.5", "events": theirs["events"],
                      "cpu_s": round(float(theirs["cpu_s"]), 3),  # type: ignore[arg-type]
                      "events_per_s_per_core": round(rate),
                      "bluelamp_speedup": round(our_rate / rate, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
