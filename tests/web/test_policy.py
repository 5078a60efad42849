"""The authorisation matrix: every route of the app × every role, expected outcome derived
from the policy table and checked by calling the route. Also: no route without a policy
entry, the OpenAPI document is valid, and docs/web.md matches the table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from bluelamp.settings import Settings
from bluelamp.store.models import Role
from bluelamp.web.app import create_app
from bluelamp.web.policy import POLICY, all_routes, check_routes, markdown_table, route_permission

from .conftest import Account

DOCS = Path(__file__).parents[2] / "docs"
# A value for each path parameter; ids of things that exist where it matters little.
PARAMS = {"finding_id": "f-dga-1", "event_id": "e-own-ip", "domain_id": "1",
          "kind": "network", "claim_id": "999", "user_id": "999",
          # feeds and sharing
          "sub_id": "999", "delivery_id": "999", "collection_id": "999", "status_id": "999",
          # suspension desk
          "request_id": "999", "item_id": "999", "complaint_id": "999", "agency_id": "999",
          "domain": "example.reg.test", "sha256": "0" * 64,
          # owner notices
          "notice_id": "999"}


def _calls(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, concrete path, permission) for every method of every API route."""
    calls = []
    for route in all_routes(app):
        if not isinstance(route, APIRoute):
            continue
        permission = route_permission(route)
        assert permission is not None, f"{route.path} has no permission"
        path = re.sub(r"{(\w+)}", lambda m: PARAMS[m.group(1)], route.path)
        for method in sorted(route.methods or ()):
            calls.append((method, path, permission))
    return calls


def _denied(role: Role, status: int, location: str) -> bool:
    if role is Role.public:
        return status == 401 or (status == 303 and location.startswith("/login"))
    return status == 403


def test_every_route_for_every_role(settings: Settings,
                                    accounts_by_role: dict[Role, Account]) -> None:
    app = create_app(settings)
    calls = _calls(app)
    assert len(calls) >= 30  # the table below really covers the app
    wrong = []
    with TestClient(app) as client:
        # An anonymous visitor holds a CSRF cookie and echoes it, as a browser's form would:
        # CSRF has its own tests, roles are what is checked here.
        client.get("/")
        anonymous = {"x-csrf-token": client.cookies["bl_csrf"]}
        for role in Role:
            headers = (anonymous if role is Role.public else
                       {"authorization": f"Bearer {accounts_by_role[role].token}"})
            for method, path, permission in calls:
                r = client.request(method, path, headers=headers, follow_redirects=False)
                should = role in POLICY[permission].roles
                denied = _denied(role, r.status_code, r.headers.get("location", ""))
                # (the TOTP step sends a visitor without a half-open session back to /login)
                refused = denied and permission != "auth:login"
                if should and (refused or r.status_code in (401, 403) or r.status_code >= 500):
                    wrong.append(f"{role.value} {method} {path}: {r.status_code}, expected "
                                 f"allowed ({permission})")
                if not should and not denied:
                    wrong.append(f"{role.value} {method} {path}: {r.status_code}, expected "
                                 f"denied ({permission})")
            # the one mount, static files, is public
            assert client.get("/static/style.css", headers=headers).status_code == 200
    assert wrong == []


def test_the_matrix_covers_every_permission(settings: Settings) -> None:
    used = {p for _, _, p in _calls(create_app(settings))}
    assert used == set(POLICY), f"permissions without a route: {set(POLICY) - used}"


def test_a_route_without_policy_entry_is_refused(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/api/unprotected")
    def unprotected() -> dict[str, str]:
        return {"secret": "x"}

    with pytest.raises(RuntimeError, match="/api/unprotected"):
        check_routes(app)


def test_unknown_permission_fails_at_import() -> None:
    from bluelamp.web.policy import allow

    with pytest.raises(KeyError):
        allow("nothing:here")


def test_openapi_document_is_valid(settings: Settings) -> None:
    from openapi_spec_validator import validate

    app = create_app(settings)
    with TestClient(app) as client:
        doc = client.get("/api/openapi.json").json()
    validate(doc)
    paths = set(doc["paths"])
    documented = {r.path for r in all_routes(app) if isinstance(r, APIRoute)
                  and r.include_in_schema}
    assert documented == paths
    assert {p for p in paths if not p.startswith("/api/")} == {"/healthz"}, (
        "JSON routes live under /api/")
    assert doc["info"]["title"] == "Bluelamp"


def test_docs_roles_table_is_in_sync() -> None:
    text = (DOCS / "web.md").read_text()
    assert markdown_table() in text, ("docs/web.md is out of date: paste the output of "
                                      "`python -c 'from bluelamp.web.policy import "
                                      "markdown_table; print(markdown_table())'`")
