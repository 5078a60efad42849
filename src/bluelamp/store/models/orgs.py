"""Organisations (subscribers) and the resources they claim: networks, ASNs and domains.

Nothing about a resource is shown to the organisation until its ownership is proven:
domains by a DNS TXT challenge, networks and ASNs by an administrator's approval."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bluelamp.store.models.base import Base, UTCDateTime, utcnow


class Status(enum.StrEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sector: Mapped[str | None] = mapped_column(String(100), default=None)
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    networks: Mapped[list[OrgNetwork]] = relationship(back_populates="org")
    asns: Mapped[list[OrgAsn]] = relationship(back_populates="org")
    domains: Mapped[list[OrgDomain]] = relationship(back_populates="org")


class _Claim:
    """Columns every claimed resource has."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=Status.pending.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    verified_by: Mapped[str | None] = mapped_column(String(254), default=None)


class OrgNetwork(_Claim, Base):
    __tablename__ = "org_networks"
    __table_args__ = (UniqueConstraint("org_id", "cidr"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    cidr: Mapped[str] = mapped_column(String(64))
    org: Mapped[Organisation] = relationship(back_populates="networks")


class OrgAsn(_Claim, Base):
    __tablename__ = "org_asns"
    __table_args__ = (UniqueConstraint("org_id", "asn"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    asn: Mapped[int] = mapped_column(BigInteger)
    org: Mapped[Organisation] = relationship(back_populates="asns")


class OrgDomain(_Claim, Base):
    __tablename__ = "org_domains"
    __table_args__ = (UniqueConstraint("org_id", "domain"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    domain: Mapped[str] = mapped_column(String(253))
    challenge: Mapped[str] = mapped_column(String(64))
    org: Mapped[Organisation] = relationship(back_populates="domains")
