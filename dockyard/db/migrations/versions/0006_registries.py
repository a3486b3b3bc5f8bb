"""registries: private registry credentials, per project

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("registries") as batch:
        batch.create_index(batch.f("ix_registries_name"), ["name"], unique=False)
        batch.create_index(batch.f("ix_registries_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registries") as batch:
        batch.drop_index(batch.f("ix_registries_project_id"))
        batch.drop_index(batch.f("ix_registries_name"))
    op.drop_table("registries")
