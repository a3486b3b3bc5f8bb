"""`dockyard up` chooses its project-network range once and keeps it in data_dir."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from oslo_config import cfg

from dockyard.cmd.configuration import load_config
from dockyard.cmd.network_pool import POOL_FILE, keep_network_pool
from dockyard.config import network
from dockyard.domain.network_pools import IPNetwork


def conf_for(tmp_path: Path, *lines: str) -> cfg.ConfigOpts:
    path = tmp_path / "dockyard.conf"
    path.write_text("\n".join(["[DEFAULT]", f"data_dir = {tmp_path}", *lines]) + "\n")
    return load_config([f"--config-file={path}"])


def test_the_first_start_chooses_a_free_range_and_later_starts_keep_it(tmp_path: Path) -> None:
    asked: list[int] = []

    def subnets() -> list[IPNetwork]:
        asked.append(1)
        return [ipaddress.ip_network(f"10.{i}.0.0/16") for i in range(64, 127)]

    first = conf_for(tmp_path)
    keep_network_pool(first, subnets)
    assert network.view(first).project_network_pool == "10.127.0.0/16"
    assert (tmp_path / POOL_FILE).read_text() == "10.127.0.0/16\n"

    again = conf_for(tmp_path)
    keep_network_pool(again, subnets)
    assert network.view(again).project_network_pool == "10.127.0.0/16"
    assert asked == [1]  # the engine was asked once, at the first start


def test_a_configured_range_is_left_alone(tmp_path: Path) -> None:
    conf = conf_for(tmp_path, "[network]", "project_network_pool = 10.9.0.0/16")
    keep_network_pool(conf, lambda: [])
    assert network.view(conf).project_network_pool == "10.9.0.0/16"
    assert not (tmp_path / POOL_FILE).exists()


def test_the_cloud_shape_default_is_the_documented_range(tmp_path: Path) -> None:
    assert network.view(conf_for(tmp_path)).project_network_pool == "10.100.0.0/16"
