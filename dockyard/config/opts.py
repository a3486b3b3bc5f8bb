"""Every option Dockyard declares, for oslo-config-generator and the docs."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config import api, compute, database, default, docker

SECTIONS = (default, api, database, docker, compute)


def register_all(conf: cfg.ConfigOpts) -> None:
    for section in SECTIONS:
        section.register_opts(conf)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [
        ("DEFAULT", list(default.opts)),
        (api.GROUP, list(api.opts)),
        (database.GROUP, list(database.opts)),
        (docker.GROUP, list(docker.opts)),
        (compute.GROUP, list(compute.opts)),
    ]
