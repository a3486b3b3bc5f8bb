"""single-use console tokens for attach and interactive exec

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("container_uuid", sa.String(length=36), nullable=False),
        sa.Column("exec_id", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("console_tokens") as batch:
        batch.create_index(batch.f("ix_console_tokens_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_tokens") as batch:
        batch.drop_index(batch.f("ix_console_tokens_expires_at"))
    op.drop_table("console_tokens")
