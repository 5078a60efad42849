"""Subscriptions: create, change and list them, and turn them into matching filters.

A subscription's scope is only ever its organisation's *proven* networks, ASNs and domains
(`bluelamp.web.orgs.verified_scope`, the same rule as the subscriber's own threat view);
the subscription chooses which of those kinds to include and narrows further by type,
confidence and TLP.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp import taxonomy
from bluelamp.act.feeds import tlp, webhooks
from bluelamp.act.feeds.matching import Filter
from bluelamp.errors import BluelampError
from bluelamp.store import audit
from bluelamp.store.models.orgs import Organisation, OrgAsn, OrgDomain, OrgNetwork, Status
from bluelamp.store.models.subscriptions import Channel, Format, Subscription
from bluelamp.web import security
from bluelamp.web.orgs import verified_scope


class SubscriptionError(BluelampError):
    """A subscription field is not acceptable (the message names it)."""


@dataclass
class Spec:
    """The fields a subscriber chooses."""

    name: str
    include_networks: bool = True
    include_asns: bool = True
    include_domains: bool = True
    event_types: Sequence[str] = ()
    min_confidence: float = 0.0
    tlp_clearance: str = "amber"
    format: str = Format.json.value
    channel: str = Channel.rest.value
    webhook_url: str | None = None


def _check(spec: Spec, allow_private: bool) -> None:
    if not spec.name.strip() or len(spec.name) > 100:
        raise SubscriptionError("name: 1 to 100 characters")
    unknown = [t for t in spec.event_types if t not in taxonomy.CLASS_OF_TYPE]
    if unknown:
        raise SubscriptionError(f"event_types: unknown type(s) {', '.join(unknown)}")
    if not 0.0 <= spec.min_confidence <= 1.0:
        raise SubscriptionError("min_confidence: between 0 and 1")
    if spec.tlp_clearance not in tlp.CLEARANCES:
        raise SubscriptionError(f"tlp_clearance: one of {', '.join(tlp.CLEARANCES)} "
                                "(amber+strict and red are never sent automatically)")
    if spec.format not in Format.__members__:
        raise SubscriptionError(f"format: one of {', '.join(Format.__members__)}")
    if spec.channel not in Channel.__members__:
        raise SubscriptionError(f"channel: one of {', '.join(Channel.__members__)}")
    if spec.channel == Channel.webhook and not _http_url(spec.webhook_url):
        raise SubscriptionError("webhook_url: an http(s) URL is required for webhooks")
    if spec.channel == Channel.webhook:
        problem = webhooks.url_problem(str(spec.webhook_url), allow_private, resolve=False)
        if problem:
            raise SubscriptionError(problem)


def _http_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("https://", "http://")) and len(str(url)) <= 500


def create(db: Session, actor: str, org: Organisation, spec: Spec,
           allow_private: bool = False) -> Subscription:
    """A new subscription; webhooks get a fresh signing secret (returned on the row).
    `allow_private`: accept webhook URLs on non-public addresses (sharing settings)."""
    _check(spec, allow_private)
    row = Subscription(org_id=org.id, created_by=actor, **_columns(spec))
    if spec.channel == Channel.webhook:
        row.webhook_secret = security.new_token("whsec_")
    db.add(row)
    db.flush()
    audit.record(db, actor, "subscription.create", f"subscription:{row.id}",
                 {"org_id": org.id, "channel": row.channel, "tlp": row.tlp_clearance})
    return row


def update(db: Session, actor: str, row: Subscription, spec: Spec,
           allow_private: bool = False) -> Subscription:
    _check(spec, allow_private)
    for key, value in _columns(spec).items():
        setattr(row, key, value)
    if spec.channel == Channel.webhook and not row.webhook_secret:
        row.webhook_secret = security.new_token("whsec_")
    audit.record(db, actor, "subscription.update", f"subscription:{row.id}",
                 {"channel": row.channel, "tlp": row.tlp_clearance})
    return row


def _columns(spec: Spec) -> dict[str, object]:
    return {"name": spec.name.strip(), "include_networks": spec.include_networks,
            "include_asns": spec.include_asns, "include_domains": spec.include_domains,
            "event_types": ",".join(sorted(set(spec.event_types))),
            "min_confidence": float(spec.min_confidence), "tlp_clearance": spec.tlp_clearance,
            "format": spec.format, "channel": spec.channel, "webhook_url": spec.webhook_url}


def of_org(db: Session, org_id: int) -> list[Subscription]:
    return list(db.scalars(select(Subscription).where(Subscription.org_id == org_id)
                           .order_by(Subscription.id)))


def active(db: Session, channel: str | None = None) -> list[Subscription]:
    query = select(Subscription).where(Subscription.active.is_(True))
    if channel is not None:
        query = query.where(Subscription.channel == channel)
    return list(db.scalars(query.order_by(Subscription.id)))


def to_filter(db: Session, row: Subscription) -> Filter:
    """The matching filter of one subscription, from its organisation's proven scope."""
    scope = verified_scope(db, row.org_id)
    networks = tuple(str(ipaddress.ip_network(n, strict=False)) for n in scope.networks)
    return Filter(key=row.id,
                  networks=networks if row.include_networks else (),
                  asns=tuple(scope.asns) if row.include_asns else (),
                  domains=tuple(scope.domains) if row.include_domains else (),
                  types=row.types, min_confidence=row.min_confidence,
                  clearance=row.tlp_clearance)


def filters(db: Session, rows: Sequence[Subscription]) -> list[Filter]:
    """Filters of many subscriptions with three queries in all (the live hub rebuilds them
    for every active subscription)."""
    v = Status.verified.value
    nets: dict[int, list[str]] = defaultdict(list)
    asns: dict[int, list[int]] = defaultdict(list)
    doms: dict[int, list[str]] = defaultdict(list)
    for org_id, cidr in db.execute(select(OrgNetwork.org_id, OrgNetwork.cidr)
                                   .where(OrgNetwork.status == v)):
        nets[org_id].append(str(ipaddress.ip_network(cidr, strict=False)))
    for org_id, asn in db.execute(select(OrgAsn.org_id, OrgAsn.asn).where(OrgAsn.status == v)):
        asns[org_id].append(int(asn))
    for org_id, domain in db.execute(select(OrgDomain.org_id, OrgDomain.domain)
                                     .where(OrgDomain.status == v)):
        doms[org_id].append(domain)
    return [Filter(key=row.id,
                   networks=tuple(nets[row.org_id]) if row.include_networks else (),
                   asns=tuple(asns[row.org_id]) if row.include_asns else (),
                   domains=tuple(doms[row.org_id]) if row.include_domains else (),
                   types=row.types, min_confidence=row.min_confidence,
                   clearance=row.tlp_clearance) for row in rows]


def public(row: Subscription) -> dict[str, object]:
    """The subscription as the API shows it (never the webhook secret)."""
    return {"id": row.id, "org_id": row.org_id, "name": row.name,
            "include_networks": row.include_networks, "include_asns": row.include_asns,
            "include_domains": row.include_domains, "event_types": list(row.types),
            "min_confidence": row.min_confidence, "tlp_clearance": row.tlp_clearance,
            "format": row.format, "channel": row.channel, "webhook_url": row.webhook_url,
            "active": row.active, "created_at": row.created_at.isoformat()}
