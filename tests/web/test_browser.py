"""Browser tests: Playwright driving Debian's Chromium against a real uvicorn server.

Screenshots are kept under test-artifacts/web/ (gitignored) for people to look at."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from bluelamp.settings import Settings
from bluelamp.store.models import Role
from bluelamp.web.app import create_app
from conftest import free_port, require_binary

from .conftest import Account

pytestmark = pytest.mark.system
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # the browser tests need one back-end only
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
def server(settings: Settings, accounts_by_role: dict[Role, Account]) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    executable = require_binary("/usr/bin/chromium", "chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        problems: list[str] = []
        pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        yield pg
        browser.close()
    # A refused login is a 401 page on purpose; anything the CSP blocked, a missing file or a
    # server error is a bug.
    bad = [m for m in problems if "Refused" in m or "Security Policy" in m or "404" in m
           or "500" in m]
    assert bad == [], f"browser console errors: {bad}"


def _sign_in(page: Any, account: Account) -> None:
    page.goto("/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.click("button[type=submit]")
    if account.totp_secret:
        page.wait_for_url("**/login/totp**")
        page.fill("input[name=code]", pyotp.TOTP(account.totp_secret).now())
        page.click("main button[type=submit]")


def test_analyst_signs_in_searches_opens_a_finding_and_sees_plots(
        page: Any, accounts_by_role: dict[Role, Account]) -> None:
    _sign_in(page, accounts_by_role[Role.analyst])
    page.wait_for_url("**/dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("svg.chart rect").count() > 0  # bars were drawn
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.click("nav >> text=Findings")
    page.select_option("select[name=type]", "dga-infected-client")
    page.fill("input[name=min_score]", "0.5")
    page.click("form.filters button")
    page.wait_for_url("**/findings?**")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 1
    page.screenshot(path=str(ARTIFACTS / "findings.png"), full_page=True)
    rows.first.locator("a").click()
    page.wait_for_url("**/findings/f-dga-1")
    assert "91% NXDOMAIN" in page.locator(".explanation").inner_text()
    assert "nx_ratio" in page.content()
    page.screenshot(path=str(ARTIFACTS / "finding.png"), full_page=True)


def test_subscriber_sees_its_threats_with_advice(
        page: Any, accounts_by_role: dict[Role, Account]) -> None:
    _sign_in(page, accounts_by_role[Role.subscriber])
    page.wait_for_url("**/my/threats")
    threats = page.locator("section.threat")
    assert threats.count() == 3
    assert "Isolate it" in page.content()
    page.screenshot(path=str(ARTIFACTS / "my-threats.png"), full_page=True)
    page.click("nav >> text=My organisation")
    page.fill("input[name=value]", "AS64511")
    page.select_option("select[name=kind]", "asn")
    page.click("form.filters button")
    page.wait_for_url("**/my/org?message=**")
    assert "AS64511" in page.content() and "pending" in page.content()


def test_wrong_totp_keeps_the_analyst_out(page: Any,
                                          accounts_by_role: dict[Role, Account]) -> None:
    analyst = accounts_by_role[Role.analyst]
    page.goto("/login")
    page.fill("input[name=email]", analyst.email)
    page.fill("input[name=password]", analyst.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/totp**")
    page.fill("input[name=code]", "000000")
    page.click("main button[type=submit]")
    assert "Wrong or already used code" in page.content()
    page.goto("/dashboard")
    assert "/login" in page.url
