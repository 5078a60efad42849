"""public reports: reports, their routing actions, proposed suspensions

Revision ID: 0003_reports
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reports"
down_revision = "0001"
branch_labels = ("reports",)
# Independent of the suspensions branch: suspension_proposals.request_id names a
# suspension_requests row without a foreign key, so either branch can be applied alone.
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "public_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("raw_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("registered_domain", sa.String(length=253), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("claimed_category", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reporter_email", sa.String(length=254), nullable=True),
        sa.Column("source_ref", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("checked_at", TZ, nullable=True),
        sa.Column("verified_at", TZ, nullable=True),
        sa.Column("routed_at", TZ, nullable=True),
        sa.Column("routed_to", sa.String(length=100), nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_reports")),
        sa.UniqueConstraint("code", name=op.f("uq_public_reports_code")),
    )
    for column in ("campaign", "created_at", "host", "registered_domain", "status"):
        op.create_index(op.f(f"ix_public_reports_{column}"), "public_reports", [column])
    op.create_table(
        "public_report_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["public_reports.id"],
                                name=op.f("fk_public_report_actions_report_id_public_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_report_actions")),
    )
    op.create_index(op.f("ix_public_report_actions_report_id"), "public_report_actions",
                    ["report_id"])
    op.create_table(
        "suspension_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspension_proposals")),
    )
    for column in ("domain", "status"):
        op.create_index(op.f(f"ix_suspension_proposals_{column}"), "suspension_proposals",
                        [column])


def downgrade() -> None:
    op.drop_table("suspension_proposals")
    op.drop_table("public_report_actions")
    op.drop_table("public_reports")
