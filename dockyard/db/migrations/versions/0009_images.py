"""images: records of images pulled onto (or found on) compute hosts

Revision ID: 0009_images
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_images"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("image_id", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("repo", "tag", "host", name="uq_images_repo_tag_host"),
    )
    with op.batch_alter_table("images") as batch:
        batch.create_index(batch.f("ix_images_host"), ["host"], unique=False)
        batch.create_index(batch.f("ix_images_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_index(batch.f("ix_images_project_id"))
        batch.drop_index(batch.f("ix_images_host"))
    op.drop_table("images")
