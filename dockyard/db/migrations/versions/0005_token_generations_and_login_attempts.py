"""token generations on users; login attempts shared by every API process

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "token_generation", existing_type=sa.Integer(), existing_nullable=False,
            server_default=None,
        )  # fmt: skip
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_attempts") as batch:
        batch.create_index(
            batch.f("ix_login_attempts_window_start"), ["window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_index(batch.f("ix_login_attempts_window_start"))
    op.drop_table("login_attempts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
