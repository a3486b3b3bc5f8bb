"""The database a process opens, and the repositories over it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from oslo_config import cfg

from dockyard.config import api, database, default, quota
from dockyard.db import migrate
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.console_tokens import ConsoleTokenRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.idempotency import IdempotencyRepository
from dockyard.db.repositories.images import ImageRepository
from dockyard.db.repositories.installation import InstallationRepository
from dockyard.db.repositories.networks import NetworkRepository
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.repositories.registries import RegistryRepository
from dockyard.db.repositories.security_groups import SecurityGroupRepository
from dockyard.db.repositories.volumes import VolumeRepository
from dockyard.db.session import Database
from dockyard.domain.changes import ChangeFeed
from dockyard.domain.clock import Clock


def configured_database(conf: cfg.ConfigOpts, clock: Clock | None = None) -> Database:
    settings = database.view(conf)
    return Database(
        settings.connection,
        pool_size=settings.max_pool_size,
        max_overflow=settings.max_overflow,
        idle_ping_after=settings.idle_ping_after,
        clock=clock,
    )


def open_shared_database(conf: cfg.ConfigOpts, clock: Clock) -> Database:
    """The cloud's database, as it is: its schema is `dockyard-manage db upgrade`'s business."""
    if not conf[database.GROUP].connection:
        raise SystemExit("[database] connection must name the shared database (PostgreSQL/MySQL)")
    return configured_database(conf, clock)


def open_local_database(conf: cfg.ConfigOpts, clock: Clock) -> Database:
    """The all-in-one's database, brought to the current schema (data_dir made first)."""
    os.makedirs(default.view(conf).data_dir, mode=0o700, exist_ok=True)
    db = configured_database(conf, clock)
    migrate.upgrade(db)
    return db


@dataclass
class Repositories:
    containers: ContainerRepository
    hosts: HostRepository
    actions: ActionRepository
    quotas: QuotaRepository
    registries: RegistryRepository
    console_tokens: ConsoleTokenRepository
    #: The process's clock, the one the repositories stamp records with.
    clock: Clock
    installation: InstallationRepository
    #: Container writes this process makes or hears of (see ChangeFeed).
    changes: ChangeFeed
    images: ImageRepository
    idempotency: IdempotencyRepository
    networks: NetworkRepository
    security_groups: SecurityGroupRepository
    volumes: VolumeRepository


def repositories(conf: cfg.ConfigOpts, db: Database, every_writer_here: bool) -> Repositories:
    """``every_writer_here``: no other process writes container records (the all-in-one)."""
    down_after = dt.timedelta(seconds=default.view(conf).service_down_time)
    hosts = HostRepository(db, down_after=down_after)
    quotas = QuotaRepository(db, quota.view(conf))
    changes = ChangeFeed(every_writer_here, api.view(conf).max_waiting_requests)
    containers = ContainerRepository(db, quotas, changes, tell_others=not every_writer_here)
    actions = ActionRepository(db)
    return Repositories(
        containers,
        hosts,
        actions,
        quotas,
        RegistryRepository(db),
        ConsoleTokenRepository(db),
        db.clock,
        InstallationRepository(db),
        changes,
        ImageRepository(db),
        IdempotencyRepository(db),
        NetworkRepository(db),
        SecurityGroupRepository(db),
        VolumeRepository(db, quotas),
    )
