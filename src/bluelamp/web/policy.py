"""The authorisation policy: one table, permission → roles, used by every route.

Deny by default: a route gets nothing unless it declares a permission with `allow(...)`,
and `check_routes(app)` (run by the app factory) refuses to start an app with a route that
declares none. The authorisation-matrix test and docs/web.md are derived from this table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from bluelamp.store.models.accounts import Role

EVERYONE = frozenset(Role)
SIGNED_IN = EVERYONE - {Role.public}
A, N, AN, S = Role.admin, Role.notifier, Role.analyst, Role.subscriber


@dataclass(frozen=True)
class Permission:
    name: str
    roles: frozenset[Role]
    description: str


def _table(*rows: tuple[str, Iterable[Role], str]) -> dict[str, Permission]:
    return {name: Permission(name, frozenset(roles), text) for name, roles, text in rows}


POLICY: dict[str, Permission] = _table(
    ("site:public", EVERYONE, "See the home page, health check and static files."),
    ("auth:login", EVERYONE, "Sign in with password and, for privileged roles, TOTP."),
    ("auth:logout", SIGNED_IN, "Sign out."),
    ("account:read", SIGNED_IN, "See one's own account (role, organisation)."),
    ("findings:read", {A, AN, N}, "Search detector findings and open their evidence."),
    ("events:read", {A, AN, N}, "Search threat events from findings and feeds."),
    ("dashboard:read", {A, AN, N}, "See dashboards: detections over time, by type, region, "
     "network."),
    ("hunt:run", {A, AN}, "Retro-hunt in the lake: which clients looked up a domain."),
    ("org:manage-own", {S}, "Register one's organisation's networks, ASNs and domains and "
     "prove ownership."),
    ("threats:own", {S}, "See threats on one's own verified networks and domains, with advice."),
    ("feeds:subscribe", {S}, "Manage one's organisation's feed subscriptions; pull (JSON, CSV, "
     "NDJSON, STIX), stream (SSE) and download (daily CSV) their events; see and replay webhook "
     "dead letters."),
    ("taxii:read", {A, AN, N, S, Role.officer}, "Use the TAXII 2.1 server: subscribers their "
     "subscriptions' collections, analysts the indicators, officers the law-enforcement one."),
    ("share:export", {A, AN}, "Download a STIX 2.1 bundle of current indicators (TLP-gated)."),
    ("share:le-mark", {A, AN}, "Mark findings and events as warning indicators for law "
     "enforcement, with a note."),
    ("share:le-read", {A, Role.officer}, "Read the law-enforcement TAXII collection: warning "
     "indicators with notes and evidence."),
    ("reports:submit", EVERYONE, "Report a risky site (web form or JSON API); no account "
     "needed: rate limits, a honeypot and proof-of-work stand in for one."),
    ("reports:status", EVERYONE, "Follow a public report by its tracking code."),
    ("healthcheck:run", EVERYONE, "Check whether an IP, network or domain is listed: "
     "TLP:CLEAR events with advice; owners of the resource and analysts see up to AMBER."),
    ("reports:triage", {A, AN, Role.reviewer}, "Triage public reports: checks, clusters, "
     "routing and X-ARF, outcomes, metrics."),
    ("reports:proposals", {A, Role.reviewer, Role.officer}, "See suspensions proposed from "
     "public reports, for an agency to adopt."),
    ("orgs:admin", {A}, "Create organisations; approve or reject claimed networks and ASNs."),
    ("users:admin", {A}, "List users, change roles, deactivate accounts."),
    ("audit:read", {A}, "Read and verify the audit log."),
    ("suspensions:request", {A, Role.officer}, "File domain suspension requests (single or "
     "bulk CSV) for one's agency, with evidence."),
    ("suspensions:read", {A, Role.officer, Role.reviewer}, "See suspension cases: officers "
     "their own agency's, reviewers and admins all; open complaints; evidence."),
    ("suspensions:review", {A, Role.reviewer}, "Review the suspension queue: approve (four-eyes "
     "for bulk) or reject, execute in the zone, reinstate."),
    ("suspensions:answer", {A, Role.officer}, "Answer a complaint about a suspension one's "
     "agency requested: maintain or withdraw."),
    ("agencies:admin", {A}, "Create law-enforcement agencies and attach officer accounts."),
    ("notices:manage", {A, N}, "Review owner notices before they go out: approve "
     "and send, discard, see delivery attempts and bounces."),
    ("notices:stats", {A, N, AN}, "See the clean-up of notified hosts: rate and median days "
     "to clean-up by region and event type, with plots."),
    ("notices:own", {S}, "See the notices sent to one's organisation, with advice, and "
     "acknowledge them."),
    ("notices:ack", EVERYONE, "Acknowledge a notice through the signed link it carries."),
    ("suspensions:public", EVERYONE, "See a suspension landing page, complain about a "
     "suspension, read the yearly suspension report."),
)


def allow(name: str) -> Any:
    """A route dependency that admits only the roles the policy gives `name`.

    Returns the `Principal`; raises NotSignedIn (anonymous) or Forbidden otherwise, and
    checks CSRF on state-changing requests made with a session cookie."""
    permission = POLICY[name]  # KeyError at import time for a permission not in the table

    from bluelamp.web.auth import Principal, authorise, current_principal

    async def dependency(request: Request,
                         principal: Principal = Depends(current_principal)) -> Principal:
        await authorise(request, principal, permission)
        return principal

    dependency.permission = name  # type: ignore[attr-defined]
    dependency.__name__ = f"allow_{name.replace(':', '_').replace('-', '_')}"
    return Depends(dependency)


def route_permission(route: APIRoute) -> str | None:
    """The permission a route declared with `allow`, if any."""
    for dep in route.dependant.dependencies:
        name = getattr(dep.call, "permission", None)
        if name is not None:
            return str(name)
    return None


def all_routes(app: Starlette) -> list[BaseRoute]:
    """Every route of the app, with included routers flattened (newer FastAPI versions keep
    included routers as one entry each in `app.routes`)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        return list(app.routes)
    return [context.original_route for context in iterate(app.routes)]


def check_routes(app: Starlette) -> None:
    """Refuse routes that declare no permission (deny by default, enforced at start-up)."""
    missing = []
    for route in all_routes(app):
        if isinstance(route, APIRoute) and route_permission(route) is None:
            missing.append(f"{sorted(route.methods or ())} {route.path}")
        elif not isinstance(route, APIRoute | Mount):
            missing.append(f"{getattr(route, 'path', route)!r} (not an API route)")
    if missing:
        raise RuntimeError("routes without a policy entry: " + ", ".join(missing))


def markdown_table() -> str:
    """The roles table of docs/web.md, generated from POLICY (a test keeps them in sync)."""
    roles = list(Role)
    lines = ["| permission | " + " | ".join(r.value for r in roles) + " | what it allows |",
             "| --- | " + " | ".join("---" for _ in roles) + " | --- |"]
    for p in POLICY.values():
        marks = " | ".join("yes" if r in p.roles else "" for r in roles)
        lines.append(f"| `{p.name}` | {marks} | {p.description} |")
    return "\n".join(lines) + "\n"
