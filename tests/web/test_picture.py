"""The national picture in the web UI and API: the same counts as `bluelamp picture`."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bluelamp.settings import Settings
from bluelamp.store.models import Role
from bluelamp.web.app import create_app

from .conftest import Account, sign_in


def _client(settings: Settings, tmp_path: Path, country: str | None) -> TestClient:
    delegated = tmp_path / "delegated-test"
    # 198.51.100.0/24 is national (GB); 203.0.113.0/24 is not
    delegated.write_text("2|test|1|2|19830705|20240101|+0000\n"
                         "ripencc|GB|ipv4|198.51.100.0|256|20100910|allocated\n"
                         "ripencc|FR|ipv4|203.0.113.0|256|20100910|allocated\n")
    data = settings.model_dump()
    data["attribution"] = {"country": country, "delegated": [str(delegated)]}
    return TestClient(create_app(Settings.model_validate(data)))


def test_picture_counts_national_hosts(settings: Settings, tmp_path: Path,
                                       accounts_by_role: dict[Role, Account]) -> None:
    client = _client(settings, tmp_path, "GB")
    token = accounts_by_role[Role.analyst].token
    r = client.get("/api/picture", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body = r.json()
    # the two London events on 198.51.100.7 and .9; the IPv6 one has no GB delegation here,
    # 203.0.113.50 is French, the domain-only events have no address
    assert body["hosts"] == 2
    assert {row["key"]: row["hosts"] for row in body["by"]["region"]} == {"London": 2}
    sign_in(client, accounts_by_role[Role.analyst])
    page = client.get("/picture")
    assert page.status_code == 200
    assert "2 compromised hosts in GB address space" in page.text
    assert "<svg" in page.text


def test_picture_without_a_country_says_what_to_configure(
        settings: Settings, tmp_path: Path, accounts_by_role: dict[Role, Account]) -> None:
    client = _client(settings, tmp_path, None)
    token = accounts_by_role[Role.analyst].token
    r = client.get("/api/picture", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 409
    assert "[attribution] country" in r.json()["detail"]


def test_subscribers_do_not_see_the_picture(settings: Settings, tmp_path: Path,
                                            accounts_by_role: dict[Role, Account]) -> None:
    client = _client(settings, tmp_path, "GB")
    token = accounts_by_role[Role.subscriber].token
    r = client.get("/api/picture", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 403
