"""notifications: contacts, notices, notice items, delivery attempts

Revision ID: 0003_notifications
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_notifications"
down_revision = "0001"
branch_labels = ("notifications",)
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "notify_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounce_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("notify_contacts", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_contacts")),
        sa.UniqueConstraint("org_id", "email", name=op.f("uq_notify_contacts_org_id")),
    )
    op.create_index(op.f("ix_notify_contacts_org_id"), "notify_contacts", ["org_id"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=254), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _fk("notices", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_notices_key")),
    )
    op.create_index(op.f("ix_notices_org_id"), "notices", ["org_id"])
    op.create_index(op.f("ix_notices_status"), "notices", ["status"])
    op.create_index(op.f("ix_notices_message_id"), "notices", ["message_id"])
    op.create_table(
        "notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=254), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=True),
        sa.Column("host", sa.String(length=2048), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("feed", sa.String(length=200), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("cleanup", sa.String(length=20), nullable=False),
        sa.Column("seen_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remediated_at", sa.DateTime(timezone=True), nullable=True),
        _fk("notice_items", "notice_id", "notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_items")),
        sa.UniqueConstraint("notice_id", "event_id", name=op.f("uq_notice_items_notice_id")),
    )
    op.create_index(op.f("ix_notice_items_notice_id"), "notice_items", ["notice_id"])
    op.create_index(op.f("ix_notice_items_owner"), "notice_items", ["owner"])
    op.create_index(op.f("ix_notice_items_event_id"), "notice_items", ["event_id"])
    op.create_table(
        "notice_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("bounced", sa.Boolean(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        _fk("notice_attempts", "notice_id", "notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attempts")),
    )
    op.create_index(op.f("ix_notice_attempts_notice_id"), "notice_attempts", ["notice_id"])


def downgrade() -> None:
    op.drop_table("notice_attempts")
    op.drop_table("notice_items")
    op.drop_table("notices")
    op.drop_table("notify_contacts")
