"""Organisations claim networks, ASNs and domains; nothing flows until ownership is proven.

Domains: the organisation publishes `_bluelamp-challenge.<domain> TXT <token>` and we look it
up through a real resolver. Networks and ASNs: an administrator approves the claim (after
checking it against registry data and contacts)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.errors import BluelampError
from bluelamp.settings import Settings
from bluelamp.store import audit
from bluelamp.store.models.orgs import Organisation, OrgAsn, OrgDomain, OrgNetwork, Status
from bluelamp.textutil import is_decimal
from bluelamp.web import security
from bluelamp.web.lakeview import DOMAIN

CHALLENGE_LABEL = "_bluelamp-challenge"
# Space nobody can own on the internet. Documentation ranges stay claimable: demos use them.
_NOT_CLAIMABLE = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3", "::/8", "fc00::/7", "fe80::/10",
    "ff00::/8")]


class ClaimError(BluelampError):
    """A claim was refused: malformed, duplicate, or not allowed."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_org(db: Session, actor: str, name: str, sector: str | None = None,
               region: str | None = None) -> Organisation:
    name = name.strip()
    if not name or len(name) > 200:
        raise ClaimError("an organisation needs a name of 1 to 200 characters")
    if db.scalars(select(Organisation).where(Organisation.name == name)).first():
        raise ClaimError(f"organisation {name!r} already exists")
    org = Organisation(name=name, sector=sector or None, region=region or None)
    db.add(org)
    db.flush()
    audit.record(db, actor, "org.created", name, {"sector": sector, "region": region})
    return org


def parse_network(text: str) -> str:
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ClaimError(f"{text!r} is not a network in CIDR form: {exc}") from None
    if any(net.version == p.version and net.subnet_of(p) for p in _NOT_CLAIMABLE):  # type: ignore[arg-type]
        raise ClaimError(f"{net} is private, loopback, link-local or multicast space")
    return str(net)


def parse_asn(text: str | int) -> int:
    value = str(text).strip().upper().removeprefix("AS")
    if not is_decimal(value) or not 0 < int(value) < 2**32:
        raise ClaimError(f"{text!r} is not an AS number")
    return int(value)


def parse_domain(text: str) -> str:
    name = text.strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode() if not name.isascii() else name
    except UnicodeError:
        raise ClaimError(f"{text!r} is not a domain name") from None
    if not DOMAIN.match(name) or "." not in name:
        raise ClaimError(f"{text!r} is not a domain name")
    return name


def claim(db: Session, actor: str, org: Organisation, kind: str, value: str) -> OrgNetwork | \
        OrgAsn | OrgDomain:
    """Register a resource for `org`, pending until proven."""
    row: OrgNetwork | OrgAsn | OrgDomain
    if kind == "network":
        row = OrgNetwork(org_id=org.id, cidr=parse_network(value))
        key = row.cidr
    elif kind == "asn":
        row = OrgAsn(org_id=org.id, asn=parse_asn(value))
        key = f"AS{row.asn}"
    elif kind == "domain":
        row = OrgDomain(org_id=org.id, domain=parse_domain(value), challenge=security.new_token())
        key = row.domain
    else:
        raise ClaimError(f"unknown claim kind {kind!r}")
    model = type(row)
    column = {"network": "cidr", "asn": "asn", "domain": "domain"}[kind]
    existing = db.scalars(select(model).where(model.org_id == org.id,
                                              getattr(model, column) == getattr(row, column)))
    if existing.first() is not None:
        raise ClaimError(f"{key} is already registered for {org.name}")
    db.add(row)
    db.flush()
    audit.record(db, actor, f"org.{kind}_claimed", key, {"org": org.name})
    return row


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str


def challenge_name(domain: str) -> str:
    return f"{CHALLENGE_LABEL}.{domain}"


def lookup_txt(settings: Settings, name: str) -> list[str]:
    """TXT strings at `name`, through the configured resolver (or the system's)."""
    web = settings.web
    resolver = dns.resolver.Resolver(configure=not web.dns_nameservers)
    if web.dns_nameservers:
        resolver.nameservers = list(web.dns_nameservers)
    resolver.port = web.dns_port
    resolver.lifetime = 5.0
    answer = resolver.resolve(name, "TXT", raise_on_no_answer=False)
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def check_domain(db: Session, settings: Settings, actor: str, row: OrgDomain) -> CheckResult:
    """Look up the TXT challenge; on a match the domain is verified (and audited)."""
    name = challenge_name(row.domain)
    try:
        found = lookup_txt(settings, name)
    except dns.resolver.NXDOMAIN:
        result = CheckResult(False, f"{name} does not exist")
    except dns.exception.DNSException as exc:
        result = CheckResult(False, f"lookup of {name} failed: {exc.__class__.__name__}")
    else:
        ok = any(security.same(text, row.challenge) for text in found)
        result = CheckResult(ok, "token found" if ok else f"{name} has no TXT record with "
                             "the token")
    if result.ok:
        _decide(db, actor, row, "domain", row.domain, Status.verified)
    else:
        audit.record(db, actor, "org.domain_check_failed", row.domain, {"reason": result.reason})
    return result


def decide(db: Session, actor: str, kind: str, claim_id: int, approve: bool) -> None:
    """An administrator approves or rejects a network or ASN claim."""
    if kind not in ("network", "asn"):
        raise ClaimError("only network and ASN claims are approved by hand; domains are "
                         "proven by DNS")
    row: OrgNetwork | OrgAsn | None = (db.get(OrgNetwork, claim_id) if kind == "network"
                                        else db.get(OrgAsn, claim_id))
    if row is None:
        raise ClaimError(f"no {kind} claim {claim_id}")
    label = row.cidr if isinstance(row, OrgNetwork) else f"AS{getattr(row, 'asn', '')}"
    _decide(db, actor, row, kind, label, Status.verified if approve else Status.rejected)


def _decide(db: Session, actor: str, row: OrgNetwork | OrgAsn | OrgDomain, kind: str,
            label: str, status: Status) -> None:
    row.status = status.value
    row.verified_at = _now()
    row.verified_by = actor
    audit.record(db, actor, f"org.{kind}_{status.value}", label, {"org_id": row.org_id})


@dataclass(frozen=True)
class Scope:
    """What an organisation has proven: the only things its users may see."""

    networks: list[str]
    asns: list[int]
    domains: list[str]


def verified_scope(db: Session, org_id: int) -> Scope:
    v = Status.verified.value
    return Scope(
        networks=list(db.scalars(select(OrgNetwork.cidr).where(OrgNetwork.org_id == org_id,
                                                               OrgNetwork.status == v))),
        asns=list(db.scalars(select(OrgAsn.asn).where(OrgAsn.org_id == org_id,
                                                      OrgAsn.status == v))),
        domains=list(db.scalars(select(OrgDomain.domain).where(OrgDomain.org_id == org_id,
                                                               OrgDomain.status == v))),
    )
