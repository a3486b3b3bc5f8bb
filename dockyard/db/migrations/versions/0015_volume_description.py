"""volume_description: the description a block-storage create gives a volume

Revision ID: 0015_volume_description
Revises: 0014_container_files
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_volume_description"
down_revision = "0014_container_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(
            sa.Column("description", sa.String(length=255), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("description")
