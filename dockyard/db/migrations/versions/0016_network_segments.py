"""network segments: the VXLAN id that carries a network between hosts

Revision ID: 0016_network_segments
Revises: 0015_volume_description
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_network_segments"
down_revision = "0015_volume_description"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_networks_segment_id", ["segment_id"])


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.drop_constraint("uq_networks_segment_id", type_="unique")
        batch.drop_column("segment_id")
