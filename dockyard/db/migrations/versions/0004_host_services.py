"""host services: uuid, switches and heartbeat count on hosts

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosts") as batch:
        batch.add_column(sa.Column("uuid", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("forced_down", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("report_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    hosts = sa.table("hosts", sa.column("id", sa.Integer), sa.column("uuid", sa.String))
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.select(hosts.c.id)).all():
        conn.execute(hosts.update().where(hosts.c.id == row_id).values(uuid=str(uuid.uuid4())))
    with op.batch_alter_table("hosts") as batch:
        batch.alter_column("uuid", existing_type=sa.String(length=36), nullable=False)
        batch.alter_column(
            "forced_down", existing_type=sa.Boolean(), existing_nullable=False, server_default=None
        )
        batch.alter_column(
            "report_count", existing_type=sa.Integer(), existing_nullable=False, server_default=None
        )
        batch.create_unique_constraint("uq_hosts_uuid", ["uuid"])


def downgrade() -> None:
    with op.batch_alter_table("hosts") as batch:
        batch.drop_constraint("uq_hosts_uuid", type_="unique")
        batch.drop_column("updated_at")
        batch.drop_column("report_count")
        batch.drop_column("forced_down")
        batch.drop_column("disabled_reason")
        batch.drop_column("uuid")
