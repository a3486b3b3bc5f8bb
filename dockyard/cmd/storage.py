"""The database a process opens, as its configuration describes it."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config import database
from dockyard.db.session import Database
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
