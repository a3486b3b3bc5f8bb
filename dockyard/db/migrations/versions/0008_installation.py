"""the installation id, generated once per database, and the agent holding each host

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Generated here, once: every later process of this database reads the same id.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.bulk_insert(installation, [{"id": str(uuid.uuid4()), "created_at": now}])
    op.create_table(
        "host_agents",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )


def downgrade() -> None:
    op.drop_table("host_agents")
    op.drop_table("installation")
