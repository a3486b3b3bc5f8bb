"""Two `dockyard up` on one engine and one machine, both with the default host name.

Before installations were labelled, each one's agent removed the other's containers
as orphans (same host label, no record). Now each only ever touches its own.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests

from dockyard.cmd.network_pool import POOL_FILE
from dockyard.domain.labels import LABEL_INSTALLATION
from tests.conftest import LATEST, TEST_IMAGE, free_port
from tests.e2e.process import DOCKYARD, Instance, stop

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

HEADERS = {"OpenStack-API-Version": LATEST}
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
#: Reconcile every second; heartbeats (and host claims) every second too.
FAST = ["[compute]", "sync_interval = 1", "heartbeat_interval = 1"]
PERIODS = 5  # reconcile periods to let pass at each check


@pytest.fixture
def made(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """UUIDs of the containers the test creates; removed from the engine afterwards."""
    uuids: list[str] = []
    yield uuids
    # The project networks these containers were on: never another test's, which may be
    # running beside this one and about to plug a container into a network of its own.
    theirs: set[str] = set()
    for uuid in uuids:
        with contextlib.suppress(docker.errors.NotFound):
            container = docker_client.containers.get(f"dockyard-{uuid}")
            theirs.update(container.attrs["NetworkSettings"]["Networks"])
            container.remove(force=True)
    for name in theirs:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network = docker_client.networks.get(name)
            if LABEL_INSTALLATION in network.attrs.get("Labels", {}) and not network.attrs.get(
                "Containers"
            ):
                network.remove()


def _run(instance: Instance, made: list[str]) -> str:
    body = {"image": TEST_IMAGE, "command": QUICK_STOP, "memory": 32, "cpu": 0.1}
    response = requests.post(
        f"{instance.url}/v1/containers?run=true", json=body, headers=HEADERS, timeout=30
    )
    assert response.status_code == 202, response.text
    uuid = str(response.json()["uuid"])
    made.append(uuid)
    return uuid


def _listed(instance: Instance) -> dict[str, Any]:
    response = requests.get(f"{instance.url}/v1/containers", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return {c["uuid"]: c for c in response.json()["containers"]}


def _wait_running(instance: Instance, uuids: list[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        listed = _listed(instance)
        if all(listed[u]["status"] == "Running" and not listed[u]["task_state"] for u in uuids):
            return
        assert time.monotonic() < deadline, {u: listed.get(u) for u in uuids}
        time.sleep(0.3)


def _assert_all_there(
    docker_client: docker.DockerClient, owned: dict[str, tuple[Instance, list[str]]]
) -> None:
    """Every container of every installation runs, recorded by its own installation only."""
    for name, (instance, uuids) in owned.items():
        listed = _listed(instance)
        others = {u for _, (_, theirs) in owned.items() for u in theirs} - set(uuids)
        assert not others & listed.keys(), f"{name} lists another installation's containers"
        for uuid in uuids:
            engine = docker_client.containers.get(f"dockyard-{uuid}")  # NotFound: it was lost
            assert engine.status == "running", (name, uuid, engine.status)
            assert listed[uuid]["status"] == "Running", (name, listed[uuid])


def test_two_installations_on_one_engine_keep_every_container(
    tmp_path: Path, docker_client: docker.DockerClient, made: list[str]
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    # Defaults all round, project-network range included: each chooses its own.
    first = Instance.new(
        tmp_path / "first", default_host=True, extra_config=FAST, own_network_pool=False
    )
    second = Instance.new(
        tmp_path / "second", default_host=True, extra_config=FAST, own_network_pool=False
    )
    assert first.host == second.host  # both the machine's name
    a = first.start()
    b = None
    try:
        owned = {"first": (first, [_run(first, made), _run(first, made)])}
        _wait_running(first, owned["first"][1])
        # The second starts beside a running first, as a test instance beside a real one.
        b = second.start()
        owned["second"] = (second, [_run(second, made), _run(second, made)])
        _wait_running(second, owned["second"][1])
        time.sleep(PERIODS)
        _assert_all_there(docker_client, owned)

        # A clean restart of the first, a crash and restart of the second.
        assert stop(a, signal.SIGTERM) == 0
        a = first.start()
        stop(b, signal.SIGKILL)
        b = second.start()
        time.sleep(PERIODS)
        _assert_all_there(docker_client, owned)
    finally:
        stop(a)
        if b is not None:
            stop(b)
    pools = {(i.root / "data" / POOL_FILE).read_text() for i in (first, second)}
    assert len(pools) == 2, pools  # each chose its own range, apart from the other's
    for instance in (first, second):
        assert "removing orphan" not in instance.log.read_text()


def test_a_second_service_of_the_same_installation_and_host_refuses_to_start(
    tmp_path: Path, docker_client: docker.DockerClient, made: list[str]
) -> None:
    """Same data directory (so the same installation), same host name, another port."""
    instance = Instance.new(tmp_path, prefix="twice", extra_config=FAST)
    process = instance.start()
    try:
        uuid = _run(instance, made)
        _wait_running(instance, [uuid])
        other_port = free_port()
        began = time.monotonic()
        twin = subprocess.run(
            [str(DOCKYARD), "up", "--config-file", str(instance.config), "--port", str(other_port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - began
        assert twin.returncode == 1, twin.stdout + twin.stderr
        assert f"Host {instance.host} of this installation is already served by" in twin.stderr
        # It names the running one: its API address and data directory.
        assert f"API on 127.0.0.1:{instance.port}" in twin.stderr
        assert str(instance.root / "data") in twin.stderr
        # It waited for the holder to miss its renewals (3 heartbeats of 1 s), no longer.
        assert 3 <= waited < 30
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{other_port}/", timeout=2)
        # The running service and its container were not disturbed.
        time.sleep(2)
        assert _listed(instance)[uuid]["status"] == "Running"
        assert docker_client.containers.get(f"dockyard-{uuid}").status == "running"
    finally:
        assert stop(process) == 0
    # Stopped cleanly, it gave the host back: a restart takes it at once.
    began = time.monotonic()
    again = instance.start()
    try:
        assert time.monotonic() - began < 15
        _wait_running(instance, [uuid])
    finally:
        stop(again)
