"""Demo organisations and users, for `bluelamp demo` and the browser tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bluelamp.settings import Settings
from bluelamp.store.db import make_engine, session_factory, transaction
from bluelamp.store.models.orgs import OrgAsn, OrgNetwork, Status
from bluelamp.web import accounts, orgs, security

#: (name, sector, region, networks, ASNs) of the demo organisations; the networks are
#: documentation and benchmarking ranges, never real ones.
DEMO_ORGS = (
    ("Example Hosting Ltd", "hosting", "London", ["198.51.100.0/24", "2001:db8:100::/48"],
     [64500]),
    ("Example University", "education", "North West", ["203.0.113.0/24"], [64501]),
)
DEMO_USERS = (
    ("admin@demo.bluelamp.test", "admin", None),
    ("analyst@demo.bluelamp.test", "analyst", None),
    ("notifier@demo.bluelamp.test", "notifier", None),
    ("reviewer@demo.bluelamp.test", "reviewer", None),
    ("officer@demo.bluelamp.test", "officer", None),
    ("soc@hosting.demo.bluelamp.test", "subscriber", "Example Hosting Ltd"),
)


def seed_demo(settings: Settings) -> dict[str, str]:
    """Create the demo organisations (networks and ASNs approved, as if by an admin) and one
    user per role, with fresh random passwords. Returns e-mail → credentials to print: the
    password, and for privileged roles also `totp:<secret>` to enrol in an authenticator.
    Safe to run twice: existing users and organisations are left as they are."""
    from bluelamp.web.server import prepare

    prepare(settings)
    engine = make_engine(settings.database.url)
    try:
        with transaction(session_factory(engine)) as db:
            _orgs(db)
            return _users(db)
    finally:
        engine.dispose()


def _orgs(db: Session) -> None:
    for name, sector, region, networks, asns in DEMO_ORGS:
        if accounts.find_org(db, name) is not None:
            continue
        org = orgs.create_org(db, "demo", name, sector, region)
        for cidr in networks:
            row = orgs.claim(db, "demo", org, "network", cidr)
            assert isinstance(row, OrgNetwork)
            orgs.decide(db, "demo", "network", row.id, approve=True)
        for asn in asns:
            a = orgs.claim(db, "demo", org, "asn", str(asn))
            assert isinstance(a, OrgAsn) and a.status == Status.pending.value
            orgs.decide(db, "demo", "asn", a.id, approve=True)


def _users(db: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for email, role, org in DEMO_USERS:
        if accounts.find_user(db, email) is not None:
            out[email] = "(exists; password unchanged)"
            continue
        password = security.new_token()[:20]
        user = accounts.create_user(db, "demo", email, role, password, org)
        out[email] = password + (f" totp:{user.totp_secret}" if user.totp_secret else "")
    return out
