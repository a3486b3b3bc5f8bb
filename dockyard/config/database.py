"""[database]: where state is stored."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "database"

opts = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of the database. Default: a SQLite file "
        "'dockyard.sqlite' in data_dir.",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=10,
        min=1,
        help="Connections each process keeps open to a PostgreSQL or MariaDB server. "
        "Threads beyond max_pool_size + max_overflow wait for a free one. Size the sum "
        "over every API and conductor process below the server's connection limit "
        "(PostgreSQL's max_connections is 100 by default).",
    ),
    cfg.IntOpt(
        "max_overflow",
        default=5,
        min=0,
        help="Connections a process may open beyond max_pool_size under a burst; they "
        "are closed when returned. Mind the server's own connection limit across all "
        "processes.",
    ),
    cfg.FloatOpt(
        "idle_ping_after",
        default=5.0,
        min=0.0,
        help="Seconds a pooled connection may sit unused before it is checked (and "
        "replaced if the server dropped it) on its next use. Busy connections skip "
        "the check, saving a round trip per transaction.",
    ),
]


@dataclass(frozen=True)
class DatabaseConfig:
    connection: str
    max_pool_size: int = 10
    max_overflow: int = 5
    idle_ping_after: float = 5.0


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> DatabaseConfig:
    url = conf[GROUP].connection or f"sqlite:///{conf.data_dir}/dockyard.sqlite"
    group = conf[GROUP]
    return DatabaseConfig(
        connection=url,
        max_pool_size=group.max_pool_size,
        max_overflow=group.max_overflow,
        idle_ping_after=group.idle_ping_after,
    )
