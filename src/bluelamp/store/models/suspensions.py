"""The suspension desk: agencies and their officers, suspension requests (one or many domain
names), evidence, the per-name items that are executed in the zone, and complaints.

A request is what an officer files; each name in it becomes an item with its own life:
requested → suspended → reinstated, or refused (failed validation) / rejected (reviewer) /
failed (the registry change did not verify). The undo record of an item is the exact set of
RRsets the zone held at and below the name before the change (JSON)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bluelamp.store.models.base import Base, UTCDateTime, utcnow


class Category(enum.StrEnum):
    unlicensed_medicines = "unlicensed-medicines"
    counterfeit_goods = "counterfeit-goods"
    phishing = "phishing"
    fraud = "fraud"
    malware = "malware"
    botnet_c2 = "botnet-c2"
    child_abuse_material = "child-abuse-material"
    other = "other"


class Urgency(enum.StrEnum):
    immediate = "immediate"
    high = "high"
    normal = "normal"
    low = "low"


class Action(enum.StrEnum):
    hold = "hold"  # the name stops resolving
    redirect = "redirect"  # the name points at the suspension landing page


class RequestStatus(enum.StrEnum):
    pending = "pending"  # waiting for a reviewer
    second_review = "second-review"  # bulk: first approval given, needs a second reviewer
    approved = "approved"  # approved and executed (items say how each name went)
    rejected = "rejected"


class ItemStatus(enum.StrEnum):
    requested = "requested"
    refused = "refused"  # failed validation (not our zone, already suspended, ...)
    rejected = "rejected"  # a reviewer said no
    suspended = "suspended"
    failed = "failed"  # the registry change was refused or did not verify
    reinstated = "reinstated"


class ComplaintStatus(enum.StrEnum):
    open = "open"  # waiting for the agency
    maintained = "maintained"  # the agency answered: keep the suspension
    withdrawn = "withdrawn"  # the agency withdrew: reinstated
    lapsed = "lapsed"  # no answer within the working-day clock: reinstated
    closed = "closed"  # the reviewer reinstated for another reason


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyOfficer(Base):
    """Which agency an officer account acts for (one agency per officer)."""

    __tablename__ = "agency_officers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))


class SuspensionRequest(Base):
    __tablename__ = "suspension_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    officer: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    category: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    urls: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.pending.value,
                                        index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    first_reviewer: Mapped[str | None] = mapped_column(String(254), default=None)
    second_reviewer: Mapped[str | None] = mapped_column(String(254), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)

    agency: Mapped[Agency] = relationship()
    items: Mapped[list[SuspensionItem]] = relationship(back_populates="request",
                                                       order_by="SuspensionItem.id")
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id")


class SuspensionItem(Base):
    __tablename__ = "suspension_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("suspension_requests.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    line: Mapped[int | None] = mapped_column(Integer, default=None)  # in the uploaded CSV
    merged: Mapped[int] = mapped_column(Integer, default=0)  # duplicates merged into this one
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.requested.value,
                                        index=True)
    note: Mapped[str | None] = mapped_column(Text, default=None)  # why refused / failed
    context: Mapped[str] = mapped_column(Text, default="{}")  # JSON: resolves, lake, ...
    undo: Mapped[str | None] = mapped_column(Text, default=None)  # JSON RRsets before
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    registrant_email: Mapped[str | None] = mapped_column(String(254), default=None)
    notice: Mapped[str | None] = mapped_column(Text, default=None)  # registrant notice
    notice_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    reinstated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    request: Mapped[SuspensionRequest] = relationship(back_populates="items")
    complaints: Mapped[list[Complaint]] = relationship(back_populates="item",
                                                       order_by="Complaint.id")


class Evidence(Base):
    __tablename__ = "suspension_evidence"
    __table_args__ = (UniqueConstraint("request_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("suspension_requests.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="file")  # file | screenshot
    added_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Complaint(Base):
    __tablename__ = "suspension_complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("suspension_items.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    complainant: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.open.value,
                                        index=True)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_by: Mapped[str | None] = mapped_column(String(254), default=None)
    answer: Mapped[str | None] = mapped_column(Text, default=None)

    item: Mapped[SuspensionItem] = relationship(back_populates="complaints")
