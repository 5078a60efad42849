"""The live feed through a real uvicorn on 127.0.0.1: events written to the lake reach the
subscriber's SSE stream and webhook (HMAC-signed; retried with back-off; dead-lettered and
replayable), and TLP-restricted events never do."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bluelamp.act.feeds import webhooks
from bluelamp.schema import EVENT
from bluelamp.store.lake import Lake
from bluelamp.store.models.accounts import Role
from bluelamp.web.app import create_app

from .conftest import SECRETS, Account, bearer, make_settings, share_events


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'live.db'}"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers the given statuses in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    calls: list[tuple[float, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def wait(self, n: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n:
            assert time.monotonic() < deadline, f"{len(self.calls)} of {n} webhook calls"
            time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.calls.append((time.monotonic(), dict(self.headers.items()), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Live:
    base: str
    lake: Lake
    account: Account

    def subscribe(self, **fields: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.base}/api/subscriptions", json={"name": "live", **fields},
                       headers=bearer(self.account))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def write(self, rows: list[dict[str, object]]) -> float:
        now = dt.datetime.now(dt.UTC)
        self.lake.write("event", EVENT.from_rows(
            [{**r, "time_observed": now} for r in rows]))
        return time.monotonic()


@pytest.fixture
def live(tmp_path: Path, db_url: str, accounts_by_role: dict[Role, Account],
         serve: Callable[[FastAPI], str]) -> Live:
    lake = Lake(tmp_path / "lake")
    settings = make_settings(db_url, lake.root, webhook_backoff_seconds=0.2,
                             webhook_max_attempts=3, filter_refresh_seconds=0.5,
                             webhook_allow_private=True)  # the receiver is on 127.0.0.1
    return Live(serve(create_app(settings)), lake, accounts_by_role[Role.subscriber])


class Stream:
    """Reads an SSE stream in a thread; `messages` are the parsed `events` payloads."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.messages: list[tuple[float, list[dict[str, Any]]]] = []
        self.ready = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "SSE stream did not open"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                self.ready.set()
                if line.startswith("data: "):
                    self.messages.append((time.monotonic(), json.loads(line[6:])))
                if self._stop:
                    return

    def wait(self, ids: set[str], timeout: float = 15) -> float:
        deadline = time.monotonic() + timeout
        while True:
            seen = {e["id"] for _, batch in self.messages for e in batch}
            if ids <= seen:
                return max(t for t, batch in self.messages if {e["id"] for e in batch} & ids)
            assert time.monotonic() < deadline, f"SSE got {seen}, wanted {ids}"
            time.sleep(0.02)

    def close(self) -> None:
        self._stop = True


def _no_secrets(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert leaked == [], f"TLP-restricted data leaked: {leaked}"


def test_sse_and_webhook_get_new_events_signed_and_tlp_gated(live: Live,
                                                             receiver: Receiver) -> None:
    sub = live.subscribe(channel="webhook", webhook_url=receiver.url)
    stream = Stream(f"{live.base}/api/subscriptions/{sub['id']}/stream", bearer(live.account))
    try:
        written = live.write(share_events())
        wanted = {"s-ip-amber", "s-c2-green", "s-phish-clear", "s-v6-green"}
        arrived = stream.wait(wanted)
        receiver.wait(1)
        assert arrived - written < 5  # generous on a loaded machine; the benchmark measures
        sse_text = json.dumps([batch for _, batch in stream.messages])
        _no_secrets(sse_text)
        assert "s-other" not in sse_text
        _, headers, body = receiver.calls[0]
        assert webhooks.verify(sub["webhook_secret"], headers["X-Bluelamp-Signature"], body)
        assert not webhooks.verify("whsec_wrong", headers["X-Bluelamp-Signature"], body)
        payload = json.loads(body)
        assert {e["id"] for e in payload["events"]} == wanted
        _no_secrets(body.decode())
    finally:
        stream.close()


def test_webhook_retries_with_backoff(live: Live, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    sub = live.subscribe(channel="webhook", webhook_url=receiver.url)
    live.write(share_events()[:1])
    receiver.wait(3)
    (t1, _, b1), (t2, _, _), (t3, _, b3) = receiver.calls[:3]
    assert b1 == b3  # the same delivery again
    # the wait doubles: at least 0.2 s, then at least 0.4 s (upper bounds depend on load)
    assert t2 - t1 >= 0.2 and t3 - t2 >= 0.4, (t2 - t1, t3 - t2)
    time.sleep(0.5)
    assert len(receiver.calls) == 3  # delivered: no more attempts
    dead = httpx.get(f"{live.base}/api/subscriptions/{sub['id']}/dead-letters",
                     headers=bearer(live.account)).json()
    assert dead == []


def test_dead_letter_queue_and_replay(live: Live, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 500]
    sub = live.subscribe(channel="webhook", webhook_url=receiver.url)
    live.write(share_events()[:1])
    receiver.wait(3)
    url = f"{live.base}/api/subscriptions/{sub['id']}/dead-letters"
    deadline = time.monotonic() + 10
    while not (dead := httpx.get(url, headers=bearer(live.account)).json()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert dead[0]["attempts"] == 3 and dead[0]["last_error"] == "HTTP 500"
    r = httpx.post(f"{url}/{dead[0]['id']}/replay", headers=bearer(live.account))
    assert r.status_code == 200
    receiver.wait(4)
    assert json.loads(receiver.calls[3][2])["events"][0]["id"] == "s-ip-amber"


def test_signature_verification_rejects_replays_and_tampering() -> None:
    header = webhooks.sign("k", b"{}", timestamp=1_000_000)
    assert webhooks.verify("k", header, b"{}", now=1_000_100)
    assert not webhooks.verify("k", header, b"{}", now=1_000_400)  # too old
    assert not webhooks.verify("k", header, b"{ }", now=1_000_100)
    assert not webhooks.verify("k", "garbage", b"{}")


def test_tlp_red_and_amber_strict_leak_through_no_channel(live: Live, receiver: Receiver,
                                                         tmp_path: Path) -> None:
    """One subscriber with the highest clearance there is, every channel open at once; a
    TLP:RED and a TLP:AMBER+STRICT event inside its scope arrive; none may show them."""
    from typer.testing import CliRunner

    from bluelamp.cli import app

    hook = live.subscribe(channel="webhook", webhook_url=receiver.url, tlp_clearance="amber")
    stream = Stream(f"{live.base}/api/subscriptions/{hook['id']}/stream", bearer(live.account))
    outputs: dict[str, str] = {}
    try:
        live.write(share_events())
        stream.wait({"s-ip-amber"})
        receiver.wait(1)
        outputs["sse"] = json.dumps([batch for _, batch in stream.messages])
        outputs["webhook"] = b"".join(body for _, _, body in receiver.calls).decode()
    finally:
        stream.close()
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    for fmt in ("json", "csv", "ndjson", "stix"):
        r = httpx.get(f"{live.base}/api/subscriptions/{hook['id']}/events",
                      params={"since": since, "format": fmt}, headers=bearer(live.account))
        assert r.status_code == 200
        outputs[f"rest-{fmt}"] = r.text
    today = dt.datetime.now(dt.UTC).date().isoformat()
    outputs["report"] = httpx.get(f"{live.base}/api/subscriptions/{hook['id']}/report.csv",
                                  params={"day": today}, headers=bearer(live.account)).text
    from taxii2client.v21 import Server

    collections = Server(f"{live.base}/taxii2/", user=live.account.email,
                         password=live.account.token).api_roots[0].collections
    outputs["taxii-subscriber"] = json.dumps([c.get_objects() for c in collections])
    for name, args in {"stix": ["--out", str(tmp_path / "b.json"), "--tlp", "red"],
                       "misp": ["--out", str(tmp_path / "misp")],
                       "rpz": ["--out", str(tmp_path / "z.rpz")]}.items():
        result = CliRunner().invoke(app, ["share", name, *args, "--lake", str(live.lake.root)])
        assert result.exit_code == 0, result.output
    outputs["cli"] = "".join(p.read_text() for p in tmp_path.rglob("*")
                             if p.is_file() and p.suffix in (".json", ".rpz", ".csv"))
    # the in-scope shareable events did arrive (the test could not pass by sending nothing)
    for name in ("sse", "webhook", "rest-json", "report", "taxii-subscriber", "cli"):
        assert "198.51.100.7" in outputs[name] or "s-ip-amber" in outputs[name], name
    leaks = {name: [s for s in SECRETS if s in text] for name, text in outputs.items()}
    assert {k: v for k, v in leaks.items() if v} == {}


@pytest.mark.parametrize("fmt", ["stix", "csv", "ndjson"])
def test_webhook_body_in_the_subscription_format(live: Live, receiver: Receiver,
                                                 fmt: str) -> None:
    from stix2validator import ValidationOptions, validate_string

    sub = live.subscribe(channel="webhook", webhook_url=receiver.url, format=fmt)
    live.write(share_events())
    receiver.wait(1)
    _, headers, body = receiver.calls[0]
    assert headers["Content-Type"] == webhooks.CONTENT_TYPES[fmt]
    assert webhooks.verify(sub["webhook_secret"], headers["X-Bluelamp-Signature"], body)
    text = body.decode()
    _no_secrets(text)
    assert "198.51.100.7" in text
    if fmt == "stix":
        assert validate_string(text, ValidationOptions(strict=True)).is_valid
    elif fmt == "csv":
        assert text.startswith("id,") and len(text.splitlines()) == 5
    else:
        assert [json.loads(line)["id"] for line in text.splitlines()] == [
            "s-ip-amber", "s-c2-green", "s-phish-clear", "s-v6-green"]


def test_a_failing_poll_is_logged_once_a_minute(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    from bluelamp.act.feeds.live import FeedHub
    from bluelamp.settings import SharingSettings

    hub = FeedHub(Lake(tmp_path), None, SharingSettings())  # type: ignore[arg-type]
    for _ in range(5):
        hub._report(RuntimeError("database unreachable"))
    hub._report(RuntimeError("another problem"))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["live feed poll failed: RuntimeError: database unreachable",
                        "live feed poll failed: RuntimeError: another problem"]
