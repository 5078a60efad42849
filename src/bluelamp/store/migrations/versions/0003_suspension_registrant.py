"""suspension items: registrant e-mail for the suspension notice

Revision ID: 0003_suspension_registrant
Revises: 0002_suspensions
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_suspension_registrant"
down_revision = "0002_suspensions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suspension_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registrant_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suspension_items", schema=None) as batch_op:
        batch_op.drop_column("registrant_email")
