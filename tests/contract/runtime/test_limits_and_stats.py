"""Live limits, the process table and resource statistics."""

from __future__ import annotations

import uuid as uuidlib

import docker
import pytest

from dockyard.domain.errors import Conflict, NotFound
from dockyard.domain.models import ContainerSpec
from dockyard.drivers.runtime.base import RuntimeDriver
from tests.contract.runtime.support import (
    ENGINE_RECORDS,
    REAL_CGROUP,
    REAL_PROCESS,
    Factory,
    cgroup_limits,
    engine_only,
)

# --- live limits, top, stats ----------------------------------------------------------------


@engine_only(REAL_CGROUP)
def test_update_limits_of_a_running_container(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container(start=True, memory_mib=32, cpu=0.25)

    runtime.update_limits(spec.uuid, 0.5, 64)
    runtime.update_limits(spec.uuid, 0.5, 64)

    cpus, memory = cgroup_limits(runtime, spec.uuid)
    assert cpus == pytest.approx(0.5)
    assert memory == 64 * 2**20


@engine_only(ENGINE_RECORDS)
def test_update_limits_of_a_stopped_container_keeps_no_extra_swap(
    docker_client: docker.DockerClient, runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container(memory_mib=64, cpu=1.0)

    runtime.update_limits(spec.uuid, 0.25, 16)

    host_config = docker_client.api.inspect_container(f"dockyard-{spec.uuid}")["HostConfig"]
    assert host_config["NanoCpus"] == 250_000_000
    assert host_config["Memory"] == host_config["MemorySwap"] == 16 * 2**20


def test_update_limits_of_a_missing_container(runtime: RuntimeDriver) -> None:
    with pytest.raises(NotFound):
        runtime.update_limits(str(uuidlib.uuid4()), 0.5, 64)


def test_top_lists_the_processes(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    table = runtime.top(running.uuid)

    assert "PID" in table.titles
    assert any("sleep 300" in " ".join(row) for row in table.processes)
    assert runtime.top(running.uuid, "-o pid,comm").titles == ("PID", "COMMAND")


def test_top_of_a_stopped_container_conflicts(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.top(spec.uuid)


@engine_only(REAL_PROCESS)
def test_stats_of_a_busy_container(runtime: RuntimeDriver, make_container: Factory) -> None:
    busy = ("sh", "-c", "trap 'exit 0' TERM; while :; do :; done")
    spec = make_container(start=True, cpu=0.5, memory_mib=32, command=busy)

    snapshots = [runtime.stats(spec.uuid) for _ in range(2)]

    assert 25 <= max(s.cpu_percent for s in snapshots) <= 75
    last = snapshots[-1]
    assert last.memory_limit_mib == pytest.approx(32)
    assert 0 < last.memory_usage_mib < 32
    assert last.name == ""


def test_stats_of_an_idle_and_of_a_missing_container(
    runtime: RuntimeDriver, running: ContainerSpec
) -> None:
    assert runtime.stats(running.uuid).cpu_percent < 5
    with pytest.raises(NotFound):
        runtime.stats(str(uuidlib.uuid4()))
