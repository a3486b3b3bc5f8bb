"""Create, start, stop, kill, pause, restart, remove; listing; the host."""

from __future__ import annotations

import time
import uuid as uuidlib
from dataclasses import replace

import docker
import pytest

from dockyard.domain.errors import Conflict, NotFound
from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, LABEL_INSTALLATION, Owner
from dockyard.domain.models import ContainerSpec
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.runtime.docker.driver import DockerRuntime
from tests.contract.runtime.support import (
    ENGINE_RECORDS,
    HOST,
    IMAGE,
    INSTALLATION,
    REAL_CGROUP,
    REAL_PROCESS,
    SLEEPER,
    Factory,
    engine_only,
    read_first,
    wait_for_status,
)


def test_create_then_start_runs_the_labelled_container(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()
    assert runtime.inspect(spec.uuid).status is Status.CREATED

    runtime.start(spec.uuid)

    observed = runtime.inspect(spec.uuid)
    assert observed.status is Status.RUNNING
    assert observed.uuid == spec.uuid
    assert observed.status_detail.startswith("Up")
    assert observed.command == SLEEPER
    assert observed.started_at is not None


@engine_only(REAL_CGROUP)
def test_memory_and_cpu_limits_apply(runtime: RuntimeDriver, make_container: Factory) -> None:
    spec = make_container(start=True, memory_mib=64, cpu=0.5)

    memory = read_first(
        runtime,
        spec.uuid,
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory.max",
    )
    cpu = read_first(
        runtime,
        spec.uuid,
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
        "/sys/fs/cgroup/cpu.max",
    )

    assert int(memory) == 64 * 2**20
    quota, period = (int(value) for value in cpu.split())
    assert quota / period == pytest.approx(0.5)


def test_stop_with_timeout_is_fast_and_records_exit_code(
    runtime: RuntimeDriver, running: ContainerSpec
) -> None:
    began = time.monotonic()
    runtime.stop(running.uuid, timeout=1)

    assert time.monotonic() - began < 5
    observed = runtime.inspect(running.uuid)
    assert observed.status is Status.STOPPED
    assert observed.exit_code == 143  # the trap's exit on SIGTERM
    assert observed.status_detail.startswith("Exited (143)")


@engine_only(REAL_PROCESS)
def test_stop_kills_after_the_timeout(runtime: RuntimeDriver, make_container: Factory) -> None:
    spec = make_container(start=True, command=("sh", "-c", "trap '' TERM; sleep 300"))

    began = time.monotonic()
    runtime.stop(spec.uuid, timeout=1)

    assert time.monotonic() - began < 5
    assert runtime.inspect(spec.uuid).exit_code == 137


def test_operations_are_idempotent(runtime: RuntimeDriver, make_container: Factory) -> None:
    spec = make_container()
    first = runtime.inspect(spec.uuid)
    assert runtime.create(spec) == first.runtime_id

    runtime.start(spec.uuid)
    runtime.start(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.RUNNING

    runtime.pause(spec.uuid)
    runtime.pause(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.PAUSED

    runtime.unpause(spec.uuid)
    runtime.unpause(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.RUNNING

    runtime.stop(spec.uuid, timeout=1)
    runtime.stop(spec.uuid, timeout=1)
    assert runtime.inspect(spec.uuid).status is Status.STOPPED

    runtime.remove(spec.uuid)
    runtime.remove(spec.uuid)
    with pytest.raises(NotFound):
        runtime.inspect(spec.uuid)


@pytest.mark.parametrize(("signal", "exit_code"), [("SIGTERM", 143), ("9", 137), (None, 137)])
def test_kill_sends_the_signal(
    runtime: RuntimeDriver, running: ContainerSpec, signal: str | None, exit_code: int
) -> None:
    runtime.kill(running.uuid, signal)

    wait_for_status(runtime, running.uuid, Status.STOPPED)
    assert runtime.inspect(running.uuid).exit_code == exit_code


def test_kill_of_a_stopped_container_conflicts(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.kill(spec.uuid, "SIGTERM")


def test_pause_and_unpause(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    runtime.pause(running.uuid)
    paused = runtime.inspect(running.uuid)
    assert paused.status is Status.PAUSED
    assert paused.status_detail.endswith("(Paused)")

    runtime.unpause(running.uuid)
    assert runtime.inspect(running.uuid).status is Status.RUNNING


def test_pause_of_a_created_container_conflicts(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.pause(spec.uuid)


def test_restart_starts_the_container_again(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    before = runtime.inspect(running.uuid).started_at
    assert before is not None

    runtime.restart(running.uuid, timeout=1)

    after = runtime.inspect(running.uuid)
    assert after.status is Status.RUNNING
    assert after.started_at is not None and after.started_at > before


def test_remove_needs_force_while_running(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    with pytest.raises(Conflict):
        runtime.remove(running.uuid)

    runtime.remove(running.uuid, force=True)

    with pytest.raises(NotFound):
        runtime.inspect(running.uuid)


def test_missing_containers_are_not_found(runtime: RuntimeDriver) -> None:
    missing = str(uuidlib.uuid4())

    with pytest.raises(NotFound):
        runtime.inspect(missing)
    with pytest.raises(NotFound):
        runtime.start(missing)
    runtime.remove(missing)


# --- listing and host -----------------------------------------------------------------------


def test_list_managed_filters_by_host(runtime: RuntimeDriver, make_container: Factory) -> None:
    here = make_container(start=True)
    elsewhere = make_container(host="other-host")

    def uuids(host: str | None) -> set[str]:
        return {observed.uuid for observed in runtime.list_managed(host)}

    assert {here.uuid, elsewhere.uuid} <= uuids(None)
    assert here.uuid in uuids(HOST) and elsewhere.uuid not in uuids(HOST)
    assert elsewhere.uuid in uuids("other-host") and here.uuid not in uuids("other-host")
    listed = {observed.uuid: observed for observed in runtime.list_managed(HOST)}
    assert listed[here.uuid].status is Status.RUNNING
    assert listed[here.uuid].runtime_id == runtime.inspect(here.uuid).runtime_id


@engine_only(ENGINE_RECORDS)
def test_list_managed_ignores_unlabelled_containers(
    docker_client: docker.DockerClient, runtime: RuntimeDriver
) -> None:
    name = f"not-dockyard-{uuidlib.uuid4()}"
    docker_client.api.create_container(IMAGE, list(SLEEPER), name=name, labels={"other": "x"})
    try:
        names = {observed.runtime_id for observed in runtime.list_managed()}
        assert docker_client.api.inspect_container(name)["Id"] not in names
    finally:
        docker_client.api.remove_container(name, force=True)


@engine_only(ENGINE_RECORDS)
def test_created_container_carries_the_uuid_label(
    docker_client: docker.DockerClient, make_container: Factory
) -> None:
    spec = make_container()

    labels = docker_client.api.inspect_container(f"dockyard-{spec.uuid}")["Config"]["Labels"]

    assert labels[LABEL_CONTAINER_ID] == spec.uuid
    assert (labels[LABEL_HOST], labels[LABEL_INSTALLATION]) == (HOST, INSTALLATION)


@engine_only(ENGINE_RECORDS)
def test_listing_tells_each_container_s_installation(
    docker_client: docker.DockerClient, runtime: RuntimeDriver, make_container: Factory
) -> None:
    """The host's containers of every installation, unlabelled ones included, each
    with the installation that made it: which to act on is the agent's choice."""
    ours = make_container()
    other = DockerRuntime(docker_client, Owner("another-installation", HOST))
    theirs = replace(ours, uuid=str(uuidlib.uuid4()))
    legacy = str(uuidlib.uuid4())
    other.create(theirs)
    docker_client.api.create_container(
        IMAGE,
        name=f"dockyard-{legacy}",
        labels={LABEL_CONTAINER_ID: legacy, LABEL_HOST: HOST},
    )
    try:
        listed = {o.uuid: o.installation for o in runtime.list_managed(HOST)}
    finally:
        other.remove(theirs.uuid, force=True)
        docker_client.api.remove_container(f"dockyard-{legacy}", force=True)

    assert listed[ours.uuid] == INSTALLATION
    assert listed[theirs.uuid] == "another-installation"
    assert listed[legacy] is None
    assert runtime.inspect(ours.uuid).installation == INSTALLATION


def test_host_info(runtime: RuntimeDriver) -> None:
    info = runtime.host_info()

    assert info.hostname == HOST
    assert info.cpus > 0
    assert info.memory_mib > 0
    assert info.disk_gib >= 0
    assert "runc" in info.runtimes
    assert info.default_runtime in info.runtimes
    assert info.engine_version
