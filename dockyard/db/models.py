"""SQLAlchemy models: the schema. Repositories query these tables with Core statements.

Timestamps have no defaults here: repositories stamp them from the process's clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ContainerRow(Base):
    __tablename__ = "containers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    image: Mapped[str] = mapped_column(String(255))
    image_driver: Mapped[str | None] = mapped_column(String(32))
    image_pull_policy: Mapped[str | None] = mapped_column(String(32))
    command: Mapped[list[Any] | None] = mapped_column(JSON)
    entrypoint: Mapped[list[Any] | None] = mapped_column(JSON)
    cpu: Mapped[float | None] = mapped_column(Float)
    cpu_policy: Mapped[str | None] = mapped_column(String(32))
    cpuset_cpus: Mapped[str | None] = mapped_column(String(255))
    memory: Mapped[int | None] = mapped_column(Integer)
    disk: Mapped[int | None] = mapped_column(Integer)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    workdir: Mapped[str | None] = mapped_column(String(255))
    hostname: Mapped[str | None] = mapped_column(String(63))
    ports: Mapped[list[Any]] = mapped_column(JSON)
    exposed_ports: Mapped[list[Any] | None] = mapped_column(JSON)
    addresses: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    security_groups: Mapped[list[Any]] = mapped_column(JSON)
    restart_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    interactive: Mapped[bool] = mapped_column(Boolean, default=False)
    tty: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_remove: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_heal: Mapped[bool] = mapped_column(Boolean, default=False)
    privileged: Mapped[bool] = mapped_column(Boolean, default=False)
    runtime: Mapped[str | None] = mapped_column(String(64))
    healthcheck: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    registry_id: Mapped[str | None] = mapped_column(String(36))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    runtime_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_detail: Mapped[str | None] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(32))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    restart_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class HostRow(Base):
    """A compute host: its capacity (after allocation ratios) and what is claimed on it."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    cpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[int] = mapped_column(Integer)
    cpu_capacity_milli: Mapped[int] = mapped_column(Integer)
    memory_capacity: Mapped[int] = mapped_column(Integer)
    cpu_used_milli: Mapped[int] = mapped_column(Integer, default=0)
    memory_used: Mapped[int] = mapped_column(Integer, default=0)
    disk_used: Mapped[int] = mapped_column(Integer, default=0)
    runtimes: Mapped[list[Any]] = mapped_column(JSON)
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The host's agent as a service (api-other §10): one row serves both views.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RegistryRow(Base):
    """Credentials of a private image registry, owned by a project (api-other §15)."""

    __tablename__ = "registries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    domain: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    #: The password, Fernet-encrypted with a key from ``auth_encryption_key``.
    password: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ImageRow(Base):
    """An image pulled onto (or found on) one compute host (api-other §8)."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("repo", "tag", "host", name="uq_images_repo_tag_host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    repo: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    #: None for an image found on the engine that no container record uses.
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Dockyard's pull brought it onto the host: image garbage collection may remove it.
    pulled_by_dockyard: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ActionRow(Base):
    __tablename__ = "container_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    container_uuid: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(String(255))


class ActionEventRow(Base):
    __tablename__ = "container_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("container_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(32))
    traceback: Mapped[str | None] = mapped_column(Text)


class ProjectRow(Base):
    """A project of the built-in identity service (auth_strategy = local)."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class UserRow(Base):
    """A user of the built-in identity service; only a slow hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: Tokens carry the value current when they were issued; raising it (on a new
    #: password) makes every older token of the user invalid at once.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)


class RoleAssignmentRow(Base):
    __tablename__ = "role_assignments"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


class RevokedTokenRow(Base):
    """Tokens revoked before they expire; rows can go once ``expires_at`` has passed."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class LoginAttemptRow(Base):
    """Login attempts per key (a hashed user or client address) in the current window,
    shared by every API process so that the brute-force limit holds for all of them."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class VolumeRow(Base):
    """A volume of a project (a block-storage v3 volume); ``host`` holds its data."""

    __tablename__ = "volumes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    size_gib: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    auto_remove: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    description: Mapped[str] = mapped_column(String(255), server_default="")


class VolumeAttachmentRow(Base):
    """The container holding a volume. Keyed by volume: at most one holder each."""

    __tablename__ = "volume_attachments"

    volume_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.uuid", ondelete="CASCADE"), primary_key=True
    )
    container_uuid: Mapped[str] = mapped_column(String(36), index=True)
    host: Mapped[str] = mapped_column(String(255))
    destination: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


#: Up to 16 MiB (MariaDB's BLOB stops at 64 KiB); bind files are at most ``maximum_bind_size``.
FILE_CONTENT = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


class ContainerFileRow(Base):
    """A file a create injected into its container (a ``bind`` mount), kept so a rebuild
    injects it again."""

    __tablename__ = "container_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    container_uuid: Mapped[str] = mapped_column(String(36), index=True)
    destination: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(FILE_CONTENT)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ConsoleTokenRow(Base):
    """A single-use ticket for one terminal session (attach, or the exec ``exec_id``),
    handed out by the API and spent by the host's console proxy."""

    __tablename__ = "console_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    container_uuid: Mapped[str] = mapped_column(String(36))
    exec_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class InstallationRow(Base):
    """The id of this installation (one row, written by migration 0008): the label
    that keeps its engine objects apart from another installation's."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class HostAgentRow(Base):
    """The agent process serving a host, renewed with its heartbeats."""

    __tablename__ = "host_agents"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    machine: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(512))
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


class QuotaRow(Base):
    """A project's own limit for one resource (containers, cpu, memory, disk)."""

    __tablename__ = "quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClassRow(Base):
    """Limits of a quota class; the class ``default`` applies to every project."""

    __tablename__ = "quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaUsageRow(Base):
    """What a project uses now; changed only by conditional updates, so checks are atomic."""

    __tablename__ = "quota_usages"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    in_use: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKeyRow(Base):
    """A create's ``Idempotency-Key`` per project: what was asked (``fingerprint``) and
    the container it made (NULL while that create is still being made). The primary
    key makes racing retries with one key insert one row only."""

    __tablename__ = "idempotency_keys"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    container_uuid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class NetworkRow(Base):
    """A network (Neutron's shape) of the ``local`` network driver."""

    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    mtu: Mapped[int] = mapped_column(Integer)
    #: The project whose own network this is (made on first use); unique, so two
    #: concurrent first uses make one network. NULL for every other network.
    default_for: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: The VXLAN id (VNI) that carries the network between hosts: given on first use by
    #: a host, unique so that two networks never share a tunnel.
    segment_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SubnetRow(Base):
    """A subnet; CIDRs are unique (and checked not to overlap) in the installation,
    because Docker refuses overlapping bridge networks on one engine."""

    __tablename__ = "subnets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    cidr: Mapped[str] = mapped_column(String(64), unique=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    #: ``[{"start": ..., "end": ...}, ...]``
    allocation_pools: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PortRow(Base):
    """A port: one attachment of a device (a container) to a network."""

    __tablename__ = "ports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    mac_address: Mapped[str] = mapped_column(String(17))
    device_id: Mapped[str] = mapped_column(String(255), index=True)
    device_owner: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    #: Made by a user (not by a container's create): outlives the container.
    preserve_on_delete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uq_ports_mac"),)


class PortAddressRow(Base):
    """A fixed IP of a port. Unique per network: two allocations of one address race
    to the insert and one loses, whatever each read before."""

    __tablename__ = "port_addresses"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True
    )
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id"), index=True)
    network_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("network_id", "ip_address", name="uq_port_addresses_ip"),)


class SecurityGroupRow(Base):
    __tablename__ = "security_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(String(255))
    #: The project whose ``default`` group this is; unique, so it is made once.
    default_for: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SecurityGroupRuleRow(Base):
    __tablename__ = "security_group_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(4))
    protocol: Mapped[str | None] = mapped_column(String(8))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id"), index=True
    )
    description: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class PortSecurityGroupRow(Base):
    """A port's membership of a security group, in the order the groups were given."""

    __tablename__ = "port_security_groups"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
