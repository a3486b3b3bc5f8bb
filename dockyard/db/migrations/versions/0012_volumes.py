"""volumes: a project's volumes and the container holding each

Revision ID: 0012_volumes
Revises: 0011_networks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_volumes"
down_revision = "0011_networks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("size_gib", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("auto_remove", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("volumes") as batch:
        batch.create_index(batch.f("ix_volumes_name"), ["name"], unique=False)
        batch.create_index(batch.f("ix_volumes_project_id"), ["project_id"], unique=False)
        batch.create_index(batch.f("ix_volumes_host"), ["host"], unique=False)
    op.create_table(
        "volume_attachments",
        sa.Column("volume_uuid", sa.String(length=36), nullable=False),
        sa.Column("container_uuid", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["volume_uuid"], ["volumes.uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("volume_uuid"),
    )
    with op.batch_alter_table("volume_attachments") as batch:
        batch.create_index(
            batch.f("ix_volume_attachments_container_uuid"), ["container_uuid"], unique=False
        )


def downgrade() -> None:
    op.drop_table("volume_attachments")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_index(batch.f("ix_volumes_host"))
        batch.drop_index(batch.f("ix_volumes_project_id"))
        batch.drop_index(batch.f("ix_volumes_name"))
    op.drop_table("volumes")
