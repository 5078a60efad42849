"""The public flow in a real browser: Playwright driving Debian's Chromium against uvicorn.
The proof-of-work runs in the page's own script (CSP: no inline scripts; the fixture fails
the test on any CSP violation or console error). Screenshots go to test-artifacts/reports/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bluelamp.settings import Settings
from bluelamp.store.models.accounts import Role
from web.test_browser import page, server  # noqa: F401  (fixtures: Chromium, uvicorn)

from .conftest import Account, report_settings

pytestmark = pytest.mark.system
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "reports"


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # the browser tests need one back-end only
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
def settings(db_url: str, lake_path: Path, tmp_path: Path) -> Settings:
    # a real (small) proof-of-work, solved by the page's script
    return report_settings(db_url, lake_path, tmp_path, pow_bits=10)


def test_public_reports_follows_and_checks(page: Any, server: str,  # noqa: F811
                                           accounts_by_role: dict[Role, Account]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto("/report")
    box = page.locator("input[name=website]").bounding_box()  # the honeypot: off-screen
    assert box is not None and box["x"] + box["width"] <= 0
    page.fill("input[name=url]", "hxxps://secure-paypa1[.]example/login")
    page.select_option("select[name=category]", "phishing")
    page.fill("textarea[name=description]", "A text message said my parcel was held.")
    page.fill("input[name=email]", "me@citizen.example")
    page.screenshot(path=str(ARTIFACTS / "form.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url("**/report/status?code=**")
    code = page.locator("#tracking-code").inner_text().strip()
    assert code.startswith("BL-")
    assert "Received" in page.locator("#report-status").inner_text()
    assert "secure-paypa1[.]example" in page.content()  # shown defanged, not as a link
    page.screenshot(path=str(ARTIFACTS / "received.png"), full_page=True)

    # the triage team checks it, routes it, and it is taken down
    analyst = {"authorization": f"Bearer {accounts_by_role[Role.analyst].token}"}
    with httpx.Client(base_url=server, headers=analyst) as api:
        assert api.post("/api/reports/triage/run").json()["checked"] == 1
        for decision in ({"action": "route"},
                         {"action": "close", "outcome": "taken-down",
                          "reason": "The hosting company removed the page."}):
            r = api.post("/api/reports/decide", json={"codes": [code], **decision})
            assert r.status_code == 200, r.text

    page.goto("/report/status")
    page.fill("input[name=code]", code.lower().replace("-", " "))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/report/status?code=**")
    assert "taken down" in page.locator("#report-outcome").inner_text()
    assert "hosting company removed" in page.content()
    page.screenshot(path=str(ARTIFACTS / "outcome.png"), full_page=True)

    page.goto("/check")
    page.fill("input[name=q]", "login.hosting.example")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/check?q=**")
    assert "is listed" in page.locator("#check-result").inner_text()
    assert page.locator("section.threat").count() == 1
    page.screenshot(path=str(ARTIFACTS / "check.png"), full_page=True)
