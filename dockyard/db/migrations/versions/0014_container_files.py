"""container_files: the files a create injected (bind mounts), for rebuilds

Revision ID: 0014_container_files
Revises: 0013_image_gc
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014_container_files"
down_revision = "0013_image_gc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "container_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("container_uuid", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column(
            "content",
            sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("container_files") as batch:
        batch.create_index(
            batch.f("ix_container_files_container_uuid"), ["container_uuid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("container_files") as batch:
        batch.drop_index(batch.f("ix_container_files_container_uuid"))
    op.drop_table("container_files")
