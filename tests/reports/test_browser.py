"""The public flow in a real browser: Playwright driving Debian's Chromium against uvicorn.
The proof-of-work runs in the page's own script (CSP: no inline scripts; the fixture fails
the test on any CSP violation or console error). Screenshots go to test-artifacts/reports/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bluelamp.settings import Settings
from bluelamp.store.models.accounts import Role
from web.test_browser import _sign_in, page, server  # noqa: F401  (fixtures: Chromium, uvicorn)

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

    # an analyst signs in (password + TOTP) and triages it on the page's forms
    _sign_in(page, accounts_by_role[Role.analyst])
    page.goto("/reports/triage")
    assert code in page.content()
    page.click("text=Run automatic checks")
    page.wait_for_url("**/reports/triage?message=**")
    assert "lookalike: combosquat of paypal" in page.content()
    page.screenshot(path=str(ARTIFACTS / "triage.png"), full_page=True)
    form = page.locator("form.decide").first
    form.locator("select[name=action]").select_option("route")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/reports/triage?message=route**")
    form = page.locator("form.decide").first
    form.locator("select[name=action]").select_option("close")
    form.locator("select[name=outcome]").select_option("taken-down")
    form.locator("input[name=reason]").fill("The hosting company removed the page.")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/reports/triage?message=close**")
    page.goto("/reports/metrics")
    assert page.locator("svg.chart").count() == 6
    page.screenshot(path=str(ARTIFACTS / "metrics.png"), full_page=True)

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
