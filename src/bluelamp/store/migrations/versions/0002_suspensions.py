"""suspension desk: agencies, requests, items, evidence, complaints

Revision ID: 0002_suspensions
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_suspensions"
down_revision = "0001"
branch_labels = ("suspensions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("name", name=op.f("uq_agencies_name")),
    )
    op.create_table(
        "suspension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("officer", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urls", sa.Text(), nullable=False),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_reviewer", sa.String(length=254), nullable=True),
        sa.Column("second_reviewer", sa.String(length=254), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_suspension_requests_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspension_requests")),
    )
    with op.batch_alter_table("suspension_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suspension_requests_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_suspension_requests_status"), ["status"], unique=False)

    op.create_table(
        "agency_officers",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_agency_officers_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agency_officers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agency_officers")),
    )
    op.create_table(
        "suspension_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["suspension_requests.id"],
            name=op.f("fk_suspension_evidence_request_id_suspension_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspension_evidence")),
        sa.UniqueConstraint("request_id", "sha256", name=op.f("uq_suspension_evidence_request_id")),
    )
    op.create_table(
        "suspension_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("undo", sa.Text(), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reinstated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["suspension_requests.id"],
            name=op.f("fk_suspension_items_request_id_suspension_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspension_items")),
    )
    with op.batch_alter_table("suspension_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suspension_items_domain"), ["domain"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_suspension_items_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_suspension_items_status"), ["status"], unique=False)

    op.create_table(
        "suspension_complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complainant", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=254), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["suspension_items.id"],
            name=op.f("fk_suspension_complaints_item_id_suspension_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspension_complaints")),
    )
    with op.batch_alter_table("suspension_complaints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suspension_complaints_item_id"), ["item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suspension_complaints_status"), ["status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("suspension_complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suspension_complaints_status"))
        batch_op.drop_index(batch_op.f("ix_suspension_complaints_item_id"))

    op.drop_table("suspension_complaints")
    with op.batch_alter_table("suspension_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suspension_items_status"))
        batch_op.drop_index(batch_op.f("ix_suspension_items_request_id"))
        batch_op.drop_index(batch_op.f("ix_suspension_items_domain"))

    op.drop_table("suspension_items")
    op.drop_table("suspension_evidence")
    op.drop_table("agency_officers")
    with op.batch_alter_table("suspension_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suspension_requests_status"))
        batch_op.drop_index(batch_op.f("ix_suspension_requests_agency_id"))

    op.drop_table("suspension_requests")
    op.drop_table("agencies")
