"""The all-in-one's project-network range: chosen once, against its engine, and kept."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

from oslo_config import cfg

from dockyard.config import default, docker, network
from dockyard.domain.network_pools import IPNetwork, free_pool
from dockyard.drivers.network.local.host import engine_subnets

#: Where `dockyard up` keeps the range it chose, in data_dir.
POOL_FILE = "network-pool"


def keep_network_pool(
    conf: cfg.ConfigOpts, subnets: Callable[[], Sequence[IPNetwork]] | None = None
) -> None:
    """Without a configured ``[network] project_network_pool``, use the one chosen at the
    first start (a /16 no network of the engine overlapped then), kept in data_dir."""
    if conf[network.GROUP].project_network_pool:
        return
    path = Path(default.view(conf).data_dir) / POOL_FILE
    if path.exists():
        pool = path.read_text().strip()
    else:
        settings = docker.view(conf)
        held = subnets() if subnets else engine_subnets(settings.api_url, settings.api_timeout)
        pool = str(free_pool(held, random.SystemRandom()))
        path.write_text(pool + "\n")
    conf.set_override("project_network_pool", pool, group=network.GROUP)
