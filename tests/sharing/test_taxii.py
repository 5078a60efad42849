"""The TAXII 2.1 server, used by the OASIS taxii2-client against a real uvicorn on
127.0.0.1: discovery, API root, collections per role and subscription, objects with
`added_after` and `next`/`more` paging, manifest, status, authentication, TLP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import requests
from fastapi import FastAPI
from stix2validator import ValidationOptions, validate_string
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Server, as_pages

from bluelamp.act.share import taxii
from bluelamp.settings import Settings
from bluelamp.store.models.accounts import Role
from bluelamp.web.app import create_app

from .conftest import SECRETS, Account, bearer


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A real server per test is slow enough: SQLite only (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'taxii.db'}"


@pytest.fixture
def base(settings: Settings, accounts_by_role: dict[Role, Account],
         serve: Callable[[FastAPI], str]) -> str:
    return serve(create_app(settings))


def server(base: str, account: Account) -> Server:
    return Server(f"{base}/taxii2/", user=account.email, password=account.token)


def _collections(base: str, account: Account) -> dict[str, object]:
    root = server(base, account).api_roots[0]
    return {c.title: c for c in root.collections}


def _all_objects(collection: object, per_request: int) -> tuple[list[dict], int]:
    objects: list[dict] = []
    pages = 0
    for envelope in as_pages(collection.get_objects, per_request=per_request):  # type: ignore[attr-defined]
        objects += envelope.get("objects", [])
        pages += 1
    return objects, pages


def test_discovery_and_api_root(base: str, accounts_by_role: dict[Role, Account]) -> None:
    srv = server(base, accounts_by_role[Role.analyst])
    assert srv.title == "Bluelamp TAXII 2.1"
    root = srv.api_roots[0]
    assert root.url == f"{base}/taxii2/api/"
    assert "application/taxii+json;version=2.1" in root.versions
    r = httpx.get(f"{base}/taxii2/api/", headers=bearer(accounts_by_role[Role.analyst]))
    assert r.headers["content-type"] == "application/taxii+json;version=2.1"


def test_collections_follow_the_role(base: str, accounts_by_role: dict[Role, Account]) -> None:
    assert set(_collections(base, accounts_by_role[Role.analyst])) == {"Indicators"}
    assert set(_collections(base, accounts_by_role[Role.officer])) == {"Law enforcement"}
    assert set(_collections(base, accounts_by_role[Role.admin])) == {"Indicators",
                                                                     "Law enforcement"}
    sub = accounts_by_role[Role.subscriber]
    assert _collections(base, sub) == {}
    r = httpx.post(f"{base}/api/subscriptions", json={"name": "taxii", "channel": "taxii"},
                   headers=bearer(sub))
    assert r.status_code == 201
    assert set(_collections(base, sub)) == {"Subscription taxii"}
    with pytest.raises((TAXIIServiceException, requests.HTTPError)):
        server(base, accounts_by_role[Role.reviewer]).api_roots  # noqa: B018


def test_objects_paged_with_next_and_added_after(base: str,
                                                 accounts_by_role: dict[Role, Account]) -> None:
    indicators = _collections(base, accounts_by_role[Role.analyst])["Indicators"]
    full = indicators.get_objects()  # type: ignore[attr-defined]
    assert full["more"] is False
    everything = full["objects"]
    paged, pages = _all_objects(indicators, per_request=7)
    assert pages == -(-len(everything) // 7) and pages > 2
    assert [o["id"] for o in paged] == [o["id"] for o in everything]
    assert len({o["id"] for o in paged}) == len(paged)
    bundle = {"type": "bundle", "id": "bundle--6f1e7c3a-2b4d-4e5f-8a9b-0c1d2e3f4a5b",
              "objects": everything}
    assert validate_string(json.dumps(bundle), ValidationOptions(strict=True)).is_valid
    text = json.dumps(everything)
    assert [s for s in SECRETS if s in text] == []
    # added_after: only objects added after the first event's date
    manifest = indicators.get_manifest()  # type: ignore[attr-defined]
    dates = sorted({m["date_added"] for m in manifest["objects"]})
    assert len(dates) > 2
    later = indicators.get_objects(added_after=dates[0])  # type: ignore[attr-defined]
    expected = {m["id"] for m in manifest["objects"] if m["date_added"] > dates[0]}
    assert {o["id"] for o in later["objects"]} == expected and expected


def test_manifest_and_filters(base: str, accounts_by_role: dict[Role, Account]) -> None:
    indicators = _collections(base, accounts_by_role[Role.analyst])["Indicators"]
    manifest = indicators.get_manifest()  # type: ignore[attr-defined]
    entry = manifest["objects"][0]
    assert set(entry) == {"id", "date_added", "version", "media_type"}
    only = indicators.get_objects(type="indicator")  # type: ignore[attr-defined]
    assert only["objects"] and {o["type"] for o in only["objects"]} == {"indicator"}


def test_subscriber_collection_has_only_its_scope(base: str,
                                                  accounts_by_role: dict[Role, Account]) -> None:
    sub = accounts_by_role[Role.subscriber]
    httpx.post(f"{base}/api/subscriptions", json={"name": "t", "tlp_clearance": "green"},
               headers=bearer(sub))
    collection = _collections(base, sub)["Subscription t"]
    objects, _ = _all_objects(collection, per_request=50)
    patterns = sorted(o["pattern"] for o in objects if o["type"] == "indicator")
    assert patterns == ["[domain-name:value = 'c2.hosting.example']",
                        "[ipv6-addr:value = '2001:db8:100::5']",
                        "[url:value = 'http://login.hosting.example/verify']"]


def test_law_enforcement_collection_carries_notes(base: str,
                                                  accounts_by_role: dict[Role, Account]) -> None:
    r = httpx.post(f"{base}/api/share/law-enforcement", headers=bearer(
        accounts_by_role[Role.analyst]), json={"kind": "event", "id": "s-ip-amber",
                                               "note": "botnet node, op. Lamp"})
    assert r.status_code == 201, r.text
    collection = _collections(base, accounts_by_role[Role.officer])["Law enforcement"]
    objects = collection.get_objects()["objects"]  # type: ignore[attr-defined]
    notes = [o for o in objects if o["type"] == "note"]
    assert len(notes) == 1 and "op. Lamp" in notes[0]["content"]
    # the analyst cannot open the law-enforcement collection, not even by its id
    r = httpx.get(f"{base}/taxii2/api/collections/{taxii.LAW_ENFORCEMENT_ID}/objects/",
                  headers=bearer(accounts_by_role[Role.analyst]))
    assert r.status_code == 404


def test_bearer_tokens_status_and_errors(base: str,
                                         accounts_by_role: dict[Role, Account]) -> None:
    token = accounts_by_role[Role.analyst].token

    class Bearer(requests.auth.AuthBase):
        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            r.headers["Authorization"] = f"Bearer {token}"
            return r

    srv = Server(f"{base}/taxii2/", auth=Bearer())
    assert [c.title for c in srv.api_roots[0].collections] == ["Indicators"]
    r = httpx.get(f"{base}/taxii2/api/status/abc/", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 404 and r.json()["http_status"] == "404"
    r = httpx.get(f"{base}/taxii2/api/collections/",
                  headers={"authorization": f"Bearer {token}", "accept": "text/html"})
    assert r.status_code == 406
    assert httpx.get(f"{base}/taxii2/").status_code == 401
    bad = httpx.get(f"{base}/taxii2/", auth=(accounts_by_role[Role.analyst].email, "wrong"))
    assert bad.status_code == 401
