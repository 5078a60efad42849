"""Subscriptions to live threat feeds, webhook deliveries (with their dead-letter queue) and
indicators that analysts share with law enforcement."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bluelamp.store.models.base import Base, UTCDateTime, utcnow
from bluelamp.store.models.orgs import Organisation


class Channel(enum.StrEnum):
    rest = "rest"  # pull: JSON, CSV or NDJSON pages
    sse = "sse"  # live Server-Sent Events stream
    webhook = "webhook"  # HMAC-signed POSTs
    taxii = "taxii"  # a TAXII 2.1 collection
    report = "report"  # a daily CSV report


class Format(enum.StrEnum):
    json = "json"
    csv = "csv"
    ndjson = "ndjson"
    stix = "stix"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"  # gave up after the last retry: the dead-letter queue


class Subscription(Base):
    """What an organisation receives (its proven scope, filtered) and how."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    include_networks: Mapped[bool] = mapped_column(Boolean, default=True)
    include_asns: Mapped[bool] = mapped_column(Boolean, default=True)
    include_domains: Mapped[bool] = mapped_column(Boolean, default=True)
    # comma-separated ENISA types; empty means every type
    event_types: Mapped[str] = mapped_column(Text, default="")
    min_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    tlp_clearance: Mapped[str] = mapped_column(String(20), default="amber")
    format: Mapped[str] = mapped_column(String(20), default=Format.json.value)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.rest.value)
    webhook_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # The HMAC key must be usable to sign, so it is stored as given (shown once on creation).
    webhook_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship()

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t for t in self.event_types.split(",") if t)


class WebhookDelivery(Base):
    """One signed POST to a subscriber's endpoint, retried with back-off until delivered or
    dead (the dead-letter queue: kept, listed and replayable)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    events: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.pending.value,
                                        index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class LawEnforcementShare(Base):
    """A finding or event an analyst marked as a warning indicator for law enforcement."""

    __tablename__ = "le_shares"
    __table_args__ = (UniqueConstraint("kind", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # finding | event
    record_id: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
