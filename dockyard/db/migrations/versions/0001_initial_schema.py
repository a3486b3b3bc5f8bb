"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "container_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("container_uuid", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("container_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_container_actions_container_uuid"), ["container_uuid"], unique=False
        )

    op.create_table(
        "containers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("image", sa.String(length=255), nullable=False),
        sa.Column("image_driver", sa.String(length=32), nullable=True),
        sa.Column("image_pull_policy", sa.String(length=32), nullable=True),
        sa.Column("command", sa.JSON(), nullable=True),
        sa.Column("entrypoint", sa.JSON(), nullable=True),
        sa.Column("cpu", sa.Float(), nullable=True),
        sa.Column("cpu_policy", sa.String(length=32), nullable=True),
        sa.Column("memory", sa.Integer(), nullable=True),
        sa.Column("disk", sa.Integer(), nullable=True),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("workdir", sa.String(length=255), nullable=True),
        sa.Column("hostname", sa.String(length=63), nullable=True),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=True),
        sa.Column("security_groups", sa.JSON(), nullable=False),
        sa.Column("restart_policy", sa.JSON(), nullable=True),
        sa.Column("interactive", sa.Boolean(), nullable=False),
        sa.Column("tty", sa.Boolean(), nullable=False),
        sa.Column("auto_remove", sa.Boolean(), nullable=False),
        sa.Column("auto_heal", sa.Boolean(), nullable=False),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("runtime", sa.String(length=64), nullable=True),
        sa.Column("healthcheck", sa.JSON(), nullable=True),
        sa.Column("registry_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("runtime_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_detail", sa.String(length=255), nullable=True),
        sa.Column("task_state", sa.String(length=32), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("restart_count", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("claimed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_containers_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_containers_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_containers_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_containers_status"), ["status"], unique=False)

    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("cpus", sa.Integer(), nullable=False),
        sa.Column("memory_mib", sa.Integer(), nullable=False),
        sa.Column("disk_gib", sa.Integer(), nullable=False),
        sa.Column("cpu_capacity_milli", sa.Integer(), nullable=False),
        sa.Column("memory_capacity", sa.Integer(), nullable=False),
        sa.Column("cpu_used_milli", sa.Integer(), nullable=False),
        sa.Column("memory_used", sa.Integer(), nullable=False),
        sa.Column("disk_used", sa.Integer(), nullable=False),
        sa.Column("runtimes", sa.JSON(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "container_action_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["container_actions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("container_action_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_container_action_events_action_id"), ["action_id"], unique=False
        )
