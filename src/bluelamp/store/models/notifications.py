"""Owner notifications: contacts per organisation, notices, the hosts each notice names, and
delivery attempts (with bounces).

A notice goes through `draft` (waiting for a notifier) or `approved` (by a sending rule or a
notifier) → `sent` (accepted by our SMTP relay) → `delivered` (no bounce within the grace
period) or `bounced` (every contact bounced) → `acknowledged` (the recipient clicked the
signed link). Independently, each host in a notice is re-checked after N days: `remediated`
or `affected` (still seen in new events)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bluelamp.store.models.base import Base, UTCDateTime, utcnow


class NoticeStatus(enum.StrEnum):
    draft = "draft"  # waiting for a notifier's review
    approved = "approved"  # to be sent (waits while the recipient is throttled)
    sent = "sent"  # accepted by the SMTP relay (or shown in the portal only)
    delivered = "delivered"  # no bounce within the grace period
    bounced = "bounced"  # every contact bounced
    acknowledged = "acknowledged"  # the recipient confirmed receipt
    discarded = "discarded"  # a notifier decided not to send it


class Cleanup(enum.StrEnum):
    pending = "pending"
    remediated = "remediated"
    affected = "affected"  # still seen after the notice


class NotifyContact(Base):
    """An address notices for an organisation go to, tried in `priority` order."""

    __tablename__ = "notify_contacts"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    bounce_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of owner + interval + sorted event ids: the same notice is never built twice
    key: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True,
                                               default=None)
    owner: Mapped[str] = mapped_column(String(254))  # org name or abuse contact
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    unit_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=NoticeStatus.draft.value,
                                        index=True)
    interval_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(300))
    recipient: Mapped[str | None] = mapped_column(String(254), default=None)
    message_id: Mapped[str | None] = mapped_column(String(300), default=None, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(254), default=None)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)

    items: Mapped[list[NoticeItem]] = relationship(back_populates="notice",
                                                   order_by="NoticeItem.id")
    attempts: Mapped[list[DeliveryAttempt]] = relationship(back_populates="notice",
                                                           order_by="DeliveryAttempt.id")


class NoticeItem(Base):
    """One event in a notice: the host, what is wrong, and its clean-up outcome."""

    __tablename__ = "notice_items"
    __table_args__ = (UniqueConstraint("notice_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    owner: Mapped[str] = mapped_column(String(254), index=True)  # dedup across notices
    event_id: Mapped[str] = mapped_column(String(100), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    identifier: Mapped[str | None] = mapped_column(String(200), default=None)
    host: Mapped[str] = mapped_column(String(2048))
    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    evidence: Mapped[str] = mapped_column(Text, default="")
    feed: Mapped[str | None] = mapped_column(String(200), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    cleanup: Mapped[str] = mapped_column(String(20), default=Cleanup.pending.value)
    # last sighting after the notice was sent (None: none seen after it)
    seen_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    remediated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    notice: Mapped[Notice] = relationship(back_populates="items")


class DeliveryAttempt(Base):
    """One try to hand a notice to one address (SMTP), or a bounce that came back later."""

    __tablename__ = "notice_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    bounced: Mapped[bool] = mapped_column(Boolean, default=False)
    code: Mapped[str | None] = mapped_column(String(20), default=None)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)

    notice: Mapped[Notice] = relationship(back_populates="attempts")
