"""Pulling feed URLs from a local HTTP server: retries on 500, conditional GET (ETag), no
duplicate events across pulls, lifecycle (new, update, expired)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bluelamp.sources.feeds.pipeline import FeedSource, FeedsSettings, Ingestor, pull
from bluelamp.sources.feeds.state import FeedState

FEODO = """#
"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"
"2026-10-01 07:44:46","198.51.100.20","443","online","2026-11-20","QakBot"
"2026-10-03 11:12:13","203.0.113.9","8080","offline","2026-11-02","Emotet"
"""
FEODO_MORE = FEODO + '"2026-11-20 01:00:00","192.0.2.99","443","online","2026-11-20","Pikabot"\n'


@dataclass
class Script:
    """What the server answers: failures to give first, the body, its ETag; requests seen."""

    body: str = FEODO
    etag: str = '"v1"'
    fail_first: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture()
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.requests.append(dict(self.headers))
            if script.fail_first > 0:
                script.fail_first -= 1
                self.send_response(500)
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == script.etag:
                self.send_response(304)
                self.send_header("ETag", script.etag)
                self.end_headers()
                return
            data = script.body.encode()
            self.send_response(200)
            self.send_header("ETag", script.etag)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/ipblocklist.csv", script
    finally:
        httpd.shutdown()
        httpd.server_close()


class MemorySink:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def write(self, kind: str, table: object) -> list[Path]:
        assert kind == "event"
        self.ids += table.column("id").to_pylist()  # type: ignore[attr-defined]
        return []


def _setup(tmp_path: Path, url: str, **kw: object) -> tuple[list[FeedSource], FeedsSettings,
                                                             FeedState, MemorySink, Ingestor]:
    settings = FeedsSettings(retries=3, backoff=0.0, **kw)  # type: ignore[arg-type]
    state = FeedState(tmp_path / "state.sqlite", dt.timedelta(hours=settings.window_hours))
    sink = MemorySink()
    return ([FeedSource(name="feodo", url=url, feed="feodo", interval=3600)], settings, state,
            sink, Ingestor(sink, state=state))


def test_retries_on_500_then_succeeds(tmp_path: Path, server: tuple[str, Script]) -> None:
    url, script = server
    script.fail_first = 2
    sources, settings, state, sink, ingestor = _setup(tmp_path, url)
    delays: list[float] = []
    out = pull(sources, ingestor, state, settings, sleep=delays.append)
    assert [(o.status, o.attempts) for o in out] == [("fetched", 3)]
    assert len(delays) == 2 and len(sink.ids) == 2


def test_gives_up_after_retries(tmp_path: Path, server: tuple[str, Script]) -> None:
    url, script = server
    script.fail_first = 10
    sources, settings, state, sink, ingestor = _setup(tmp_path, url)
    settings.backoff = 0.5
    delays: list[float] = []
    out = pull(sources, ingestor, state, settings, sleep=delays.append)
    assert out[0].status == "failed" and out[0].detail == "HTTP 500"
    assert delays == [0.5, 1.0, 2.0]  # doubling back-off
    assert sink.ids == []


def test_etag_and_no_duplicates_across_pulls(tmp_path: Path, server: tuple[str, Script]) -> None:
    url, script = server
    sources, settings, state, sink, ingestor = _setup(tmp_path, url)
    t0 = dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC)
    assert pull(sources, ingestor, state, settings, now=t0)[0].status == "fetched"
    first = list(sink.ids)
    # not due yet: no request at all
    assert pull(sources, ingestor, state, settings, now=t0 + dt.timedelta(minutes=5)
                )[0].status == "not-due"
    assert len(script.requests) == 1
    # due, unchanged: conditional GET answered 304
    out = pull(sources, ingestor, state, settings, now=t0 + dt.timedelta(hours=2))
    assert out[0].status == "not-modified"
    assert script.requests[-1].get("If-None-Match") == '"v1"'
    # changed body (new ETag) repeating the old rows: only the new row is written
    script.body, script.etag = FEODO_MORE, '"v2"'
    out = pull(sources, ingestor, state, settings, now=t0 + dt.timedelta(hours=4), force=True)
    assert out[0].status == "fetched"
    assert len(sink.ids) == 3 and len(set(sink.ids)) == 3
    assert sink.ids[:2] == first
    assert state.status(first[0]) == ("update", 2)


def test_a_new_process_does_not_duplicate(tmp_path: Path, server: tuple[str, Script]) -> None:
    url, script = server
    t0 = dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC)
    sources, settings, state, sink, ingestor = _setup(tmp_path, url)
    pull(sources, ingestor, state, settings, now=t0)
    state.close()
    script.etag = '"v1b"'  # same content, new ETag: the state must still dedup
    sources, settings, state, sink2, ingestor = _setup(tmp_path, url)
    pull(sources, ingestor, state, settings, now=t0 + dt.timedelta(hours=2), force=True)
    assert len(sink.ids) == 2 and sink2.ids == []


def test_lifecycle_expiry_makes_an_event_new_again(tmp_path: Path,
                                                   server: tuple[str, Script]) -> None:
    url, script = server
    sources, settings, state, sink, ingestor = _setup(tmp_path, url, window_hours=1)
    t0 = dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC)
    pull(sources, ingestor, state, settings, now=t0)
    first = list(sink.ids)
    assert state.status(first[0]) == ("new", 1)
    state.expire(t0 + dt.timedelta(hours=2))
    assert state.status(first[0]) == ("expired", 1)
    script.etag = '"v3"'
    pull(sources, ingestor, state, settings, now=t0 + dt.timedelta(hours=3), force=True)
    assert sink.ids == first + first
    assert state.status(first[0]) == ("new", 1)


def test_cli_pull_writes_the_lake_once(tmp_path: Path, server: tuple[str, Script]) -> None:
    from typer.testing import CliRunner

    from bluelamp.cli import app

    url, _ = server
    config = tmp_path / "bluelamp.toml"
    config.write_text(f'[lake]\npath = "{tmp_path / "lake"}"\n\n[feeds]\nbackoff = 0.0\n\n'
                      f'[[feeds.sources]]\nname = "feodo"\nurl = "{url}"\nfeed = "feodo"\n'
                      f'interval = 3600\n')
    runner = CliRunner()
    first = runner.invoke(app, ["feeds", "pull", "--config", str(config), "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["feeds", "pull", "--config", str(config), "--force",
                                 "--json"])
    assert second.exit_code == 0, second.output
    import json

    assert json.loads(first.output)["events"] == 2
    assert json.loads(second.output)["pulls"][0]["status"] == "not-modified"
    files = list((tmp_path / "lake").glob("kind=event/day=*/*.parquet"))
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    assert rows == 2


def test_pull_a_misp_feed_fetches_its_event_files(tmp_path: Path) -> None:
    import functools
    from http.server import SimpleHTTPRequestHandler

    folder = Path(__file__).parent / "samples" / "misp"

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/manifest.json"
        sources, settings, state, sink, ingestor = _setup(tmp_path, url)
        sources = [FeedSource(name="misp", url=url, feed="misp", interval=60)]
        out = pull(sources, ingestor, state, settings)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert out[0].status == "fetched", out[0].detail
    assert len(sink.ids) == 3
