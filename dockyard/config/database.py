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
]


@dataclass(frozen=True)
class DatabaseConfig:
    connection: str


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> DatabaseConfig:
    url = conf[GROUP].connection or f"sqlite:///{conf.data_dir}/dockyard.sqlite"
    return DatabaseConfig(connection=url)
