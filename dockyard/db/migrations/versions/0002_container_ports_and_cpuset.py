"""containers: requested exposed ports and the cpuset of dedicated containers

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("containers") as batch:
        batch.add_column(sa.Column("cpuset_cpus", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("exposed_ports", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("containers") as batch:
        batch.drop_column("exposed_ports")
        batch.drop_column("cpuset_cpus")
