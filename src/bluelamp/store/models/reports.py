"""Public reports of risky sites: the report itself (one URL each), what was done with it
(referrals, X-ARF reports, a proposed suspension) and proposals of suspension for domains in
the registry's own zone, waiting for an agency to adopt them.

A report's life: received → checked (automatic checks done) → routed (sent to the body that
acts) → closed with an outcome (taken-down, suspended or no-action, with the reason)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bluelamp.store.models.base import Base, UTCDateTime, utcnow


class ReportStatus(enum.StrEnum):
    received = "received"
    checked = "checked"
    routed = "routed"
    closed = "closed"


class Outcome(enum.StrEnum):
    taken_down = "taken-down"
    suspended = "suspended"
    no_action = "no-action"


class ProposalStatus(enum.StrEnum):
    proposed = "proposed"  # waiting for an agency to adopt it
    adopted = "adopted"  # an agency filed a suspension request for the domain
    dismissed = "dismissed"


class PublicReport(Base):
    __tablename__ = "public_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)  # the tracking code
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(10))  # web | api | email
    raw_url: Mapped[str] = mapped_column(Text)  # as submitted (defanged, unnormalised)
    url: Mapped[str] = mapped_column(Text)  # normalised
    host: Mapped[str] = mapped_column(String(253), index=True)
    registered_domain: Mapped[str | None] = mapped_column(String(253), default=None, index=True)
    campaign: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    claimed_category: Mapped[str | None] = mapped_column(String(40), default=None)
    category: Mapped[str | None] = mapped_column(String(40), default=None)  # suggested / set
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_email: Mapped[str | None] = mapped_column(String(254), default=None)
    source_ref: Mapped[str | None] = mapped_column(String(300), default=None)  # e-mail id
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.received.value,
                                        index=True)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    outcome_reason: Mapped[str | None] = mapped_column(Text, default=None)
    checks: Mapped[str] = mapped_column(Text, default="{}")  # JSON: resolves, lake, lookalike
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    routed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    routed_to: Mapped[str | None] = mapped_column(String(100), default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    actions: Mapped[list[ReportAction]] = relationship(back_populates="report",
                                                       order_by="ReportAction.id")


class ReportAction(Base):
    """One thing done to route a report: a referral to a body, an X-ARF report to a hosting
    or registrar abuse contact, or a proposed suspension."""

    __tablename__ = "public_report_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("public_reports.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # referral | xarf-hosting | xarf-registrar | proposal
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str | None] = mapped_column(String(254), default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str | None] = mapped_column(Text, default=None)  # the .eml written
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    report: Mapped[PublicReport] = relationship(back_populates="actions")


class SuspensionProposal(Base):
    """A domain in the registry's own zone that public reports point at, proposed to the
    suspension desk. An agency adopts it by filing a suspension request for the domain;
    `request_id` then names that request (table of the suspension desk)."""

    __tablename__ = "suspension_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    category: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.proposed.value,
                                        index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    # suspension_requests.id, deliberately without a foreign key: the reports migration
    # branch does not depend on the suspensions branch
    request_id: Mapped[int | None] = mapped_column(Integer, default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(254), default=None)
