"""The inventory an agent reports: capacities after ratios, disk measured or configured."""

from __future__ import annotations

import dataclasses

from dockyard.compute.resources import inventory
from dockyard.domain.models import HostInfo
from tests.unit.compute.test_agent import compute_config

INFO = HostInfo(
    hostname="h1",
    cpus=2,
    memory_mib=4096,
    disk_gib=0,  # a data root smaller than 1 GiB, as the fault suite's private engine
    runtimes=("runc",),
    default_runtime="runc",
    engine_version="fake",
)


def test_disk_is_the_engines_data_root_unless_configured() -> None:
    measured = dataclasses.replace(INFO, disk_gib=40)
    assert inventory(measured, compute_config())["disk_gib"] == 40
    assert inventory(INFO, compute_config())["disk_gib"] == 0


def test_configured_disk_replaces_the_measured_one() -> None:
    settings = dataclasses.replace(compute_config(), disk_total_gib=64)
    assert inventory(INFO, settings)["disk_gib"] == 64
    bigger = dataclasses.replace(INFO, disk_gib=500)
    assert inventory(bigger, settings)["disk_gib"] == 64


def test_cpu_and_memory_capacity_follow_the_ratios() -> None:
    found = inventory(INFO, compute_config())
    assert found["cpu_capacity_milli"] == 2 * 16 * 1000
    assert found["memory_capacity"] == int((4096 - 512) * 1.5)
