"""image_gc: which images Dockyard pulled itself, and when each was last used

Revision ID: 0013_image_gc
Revises: 0012_volumes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_image_gc"
down_revision = "0012_volumes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        # Records made before this know nothing of who pulled the image: none is
        # taken as Dockyard's, so garbage collection leaves them all alone.
        batch.add_column(
            sa.Column("pulled_by_dockyard", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("pulled_by_dockyard")
