"""TAXII 2.1 server under /taxii2/: discovery, one API root, collections, objects (paged with
`added_after`, `next` and `more`), manifest and status. Read-only.

Clients authenticate with the web platform's API tokens, either as `Authorization: Bearer
<token>` or as HTTP Basic with the account's e-mail and the token as password (what most
TAXII clients offer)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from bluelamp.act.feeds import pull, subscriptions
from bluelamp.act.share import le
from bluelamp.act.share import taxii as data
from bluelamp.store.models.accounts import ApiToken, Role
from bluelamp.web import security
from bluelamp.web.auth import (
    Forbidden,
    NotSignedIn,
    Principal,
    authorise,
    current_principal,
    get_db,
)
from bluelamp.web.policy import POLICY

router = APIRouter(prefix="/taxii2", tags=["taxii"], include_in_schema=False)
Db = Annotated[Session, Depends(get_db)]
MAX_LIMIT = 5000
ANALYSTS = {Role.admin, Role.analyst, Role.notifier}


def _basic(db: Session, header: str) -> Principal:
    try:
        raw = base64.b64decode(header.split(" ", 1)[1], validate=True).decode()
        email, _, token = raw.partition(":")
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise NotSignedIn("malformed Basic credentials") from None
    row = db.scalars(sql_select(ApiToken).where(ApiToken.token_hash == security.digest(token),
                                                ApiToken.revoked.is_(False))).first()
    if row is None or not row.user.active or not security.same(row.user.email, email):
        raise NotSignedIn("unknown or revoked API token")
    row.last_used = dt.datetime.now(dt.UTC)
    db.commit()
    return Principal(Role(row.user.role), row.user, "token")


def taxii_allow(name: str) -> Any:
    """Like `policy.allow`, but also takes HTTP Basic (e-mail, API token)."""
    permission = POLICY[name]

    async def dependency(request: Request, db: Db) -> Principal:
        # TAXII clients are machines: answer 401/403, never the login page's redirect
        header = request.headers.get("authorization", "")
        try:
            if header.lower().startswith("basic "):
                principal = _basic(db, header)
            else:
                principal = current_principal(request, db)
            await authorise(request, principal, permission)
        except NotSignedIn as exc:
            raise HTTPException(401, str(exc) or "sign in first", headers={
                "WWW-Authenticate": 'Basic realm="taxii"'}) from None
        except Forbidden as exc:
            raise HTTPException(403, exc.reason) from None
        return principal

    dependency.permission = name  # type: ignore[attr-defined]
    dependency.__name__ = "allow_" + name.replace(":", "_")
    return Depends(dependency)


class TaxiiResponse(JSONResponse):
    media_type = data.TAXII_MEDIA_TYPE


def _error(status: int, title: str, description: str = "") -> TaxiiResponse:
    return TaxiiResponse({"title": title, "description": description,
                          "http_status": str(status)}, status_code=status)


def _acceptable(request: Request) -> bool:
    accept = request.headers.get("accept", "*/*").replace(" ", "").lower()
    return any(a in accept for a in ("application/taxii+json", "*/*", "application/*"))


def _collections(request: Request, db: Session, principal: Principal) -> list[data.Collection]:
    out = []
    if principal.role is Role.subscriber and principal.org_id is not None:
        for row in subscriptions.of_org(db, principal.org_id):
            if row.active:
                out.append(data.Collection(data.subscription_collection_id(row.id),
                                           f"Subscription {row.name}",
                                           "Events on your organisation's proven systems."))
    if principal.role in ANALYSTS:
        out.append(data.Collection(data.INDICATORS_ID, "Indicators",
                                   "Every current event, up to TLP:AMBER."))
    if principal.role in POLICY["share:le-read"].roles:
        out.append(data.Collection(data.LAW_ENFORCEMENT_ID, "Law enforcement",
                                   "Warning indicators marked by analysts, with evidence."))
    return out


def _entries(request: Request, db: Session, principal: Principal,
             collection_id: str) -> list[data.Entry] | None:
    lake = request.app.state.lake
    hours = request.app.state.settings.sharing.pull_default_hours
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=max(hours, 24 * 30))
    if collection_id == data.LAW_ENFORCEMENT_ID and principal.role in POLICY[
            "share:le-read"].roles:
        shared = le.shared(db, lake)
        return data.entries(shared.events, shared.notes)
    if collection_id == data.INDICATORS_ID and principal.role in ANALYSTS:
        return data.entries(lake.read("event", since=since))
    if principal.role is Role.subscriber and principal.org_id is not None:
        for row in subscriptions.of_org(db, principal.org_id):
            if row.active and data.subscription_collection_id(row.id) == collection_id:
                events = pull.matched(lake, subscriptions.to_filter(db, row), since)
                return data.entries(events)
    return None


@router.get("/", summary="TAXII discovery")
def discovery(request: Request, principal: Principal = taxii_allow("taxii:read")) -> Response:
    base = str(request.url_for("api_root"))
    return TaxiiResponse({"title": "Bluelamp TAXII 2.1", "description": "Threat indicators "
                          "from Bluelamp", "default": base, "api_roots": [base]})


@router.get("/api/", name="api_root", summary="TAXII API root")
def api_root(request: Request, principal: Principal = taxii_allow("taxii:read")) -> Response:
    if not _acceptable(request):
        return _error(406, "Not Acceptable", "ask for application/taxii+json;version=2.1")
    return TaxiiResponse({"title": "Bluelamp", "versions": [data.TAXII_MEDIA_TYPE],
                          "max_content_length": request.app.state.settings.web.max_body_bytes})


@router.get("/api/collections/", summary="TAXII collections")
def collections(request: Request, db: Db,
                principal: Principal = taxii_allow("taxii:read")) -> Response:
    if not _acceptable(request):
        return _error(406, "Not Acceptable")
    return TaxiiResponse({"collections": [c.resource() for c in
                                          _collections(request, db, principal)]})


@router.get("/api/collections/{collection_id}/", summary="TAXII collection")
def collection(request: Request, db: Db, collection_id: str,
               principal: Principal = taxii_allow("taxii:read")) -> Response:
    for c in _collections(request, db, principal):
        if c.id == collection_id:
            return TaxiiResponse(c.resource())
    return _error(404, "Collection not found")


def _page(request: Request, db: Session, principal: Principal, collection_id: str,
          added_after: dt.datetime | None, limit: int | None, next_token: str | None,
          types: str | None, ids: str | None
          ) -> tuple[list[data.Entry], bool] | TaxiiResponse:
    if not _acceptable(request):
        return _error(406, "Not Acceptable")
    found = _entries(request, db, principal, collection_id)
    if found is None:
        return _error(404, "Collection not found")
    size = min(limit or request.app.state.settings.sharing.page_size, MAX_LIMIT)
    try:
        return data.select(found, added_after, next_token, size,
                           set(types.split(",")) if types else None,
                           set(ids.split(",")) if ids else None)
    except ValueError as exc:
        return _error(400, "Bad request", str(exc))


def _headers(chosen: list[data.Entry]) -> dict[str, str]:
    if not chosen:
        return {}
    return {"X-TAXII-Date-Added-First": chosen[0].added,
            "X-TAXII-Date-Added-Last": chosen[-1].added}


AddedAfter = Annotated[dt.datetime | None, Query()]
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT)]
Next = Annotated[str | None, Query(alias="next", max_length=500)]
MatchType = Annotated[str | None, Query(alias="match[type]", max_length=500)]
MatchId = Annotated[str | None, Query(alias="match[id]", max_length=5000)]


@router.get("/api/collections/{collection_id}/objects/", summary="TAXII objects")
def objects(request: Request, db: Db, collection_id: str, added_after: AddedAfter = None,
            limit: Limit = None, next_token: Next = None, match_type: MatchType = None,
            match_id: MatchId = None,
            principal: Principal = taxii_allow("taxii:read")) -> Response:
    result = _page(request, db, principal, collection_id, added_after, limit, next_token,
                   match_type, match_id)
    if isinstance(result, TaxiiResponse):
        return result
    chosen, more = result
    body: dict[str, Any] = {"more": more, "objects": [e.obj for e in chosen]}
    if more:
        body["next"] = data.encode_next(chosen[-1])
    return TaxiiResponse(body, headers=_headers(chosen))


@router.get("/api/collections/{collection_id}/manifest/", summary="TAXII manifest")
def manifest(request: Request, db: Db, collection_id: str, added_after: AddedAfter = None,
             limit: Limit = None, next_token: Next = None, match_type: MatchType = None,
             match_id: MatchId = None,
             principal: Principal = taxii_allow("taxii:read")) -> Response:
    result = _page(request, db, principal, collection_id, added_after, limit, next_token,
                   match_type, match_id)
    if isinstance(result, TaxiiResponse):
        return result
    chosen, more = result
    body: dict[str, Any] = {"more": more, "objects": [
        {"id": e.obj["id"], "date_added": e.added, "version": e.version,
         "media_type": "application/stix+json;version=2.1"} for e in chosen]}
    if more:
        body["next"] = data.encode_next(chosen[-1])
    return TaxiiResponse(body, headers=_headers(chosen))


@router.get("/api/status/{status_id}/", summary="TAXII status")
def status(status_id: str, principal: Principal = taxii_allow("taxii:read")) -> Response:
    """Collections are read-only, so no add request ever creates a status resource."""
    return _error(404, "Status not found", f"no status {status_id}: collections are read-only")


