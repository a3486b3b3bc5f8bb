"""SIGTERM/SIGINT end `dockyard up` only after running operations finish; restarts adopt state."""

from __future__ import annotations

import signal
import time
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest
import requests

from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, LABEL_INSTALLATION
from tests.conftest import LATEST, TEST_IMAGE
from tests.e2e.process import Instance, stop

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

# PID 1 ignores SIGTERM, so a stop takes its whole timeout before the kill.
STUBBORN = ["sh", "-c", "trap '' TERM; sleep 300 & wait"]
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
HEADERS = {"OpenStack-API-Version": LATEST}


@pytest.fixture
def instance(tmp_path: Any, docker_client: docker.DockerClient) -> Iterator[Instance]:
    made = Instance.new(tmp_path, prefix="shutdown")
    yield made
    for container in docker_client.containers.list(
        all=True, filters={"label": f"{LABEL_HOST}={made.host}"}
    ):
        container.remove(force=True)


def _show(instance: Instance, uuid: str) -> dict[str, Any]:
    response = requests.get(f"{instance.url}/v1/containers/{uuid}", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait(instance: Instance, uuid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (current := _show(instance, uuid))["status"] != status or current["task_state"]:
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    return current


def test_sigterm_waits_for_the_running_stop_and_restart_adopts_it(
    instance: Instance, docker_client: docker.DockerClient
) -> None:
    process = instance.start()
    body = {"image": TEST_IMAGE, "command": STUBBORN, "memory": 32, "cpu": 0.1}
    created = requests.post(
        f"{instance.url}/v1/containers?run=true", json=body, headers=HEADERS, timeout=30
    ).json()
    uuid = created["uuid"]
    _wait(instance, uuid, "Running")

    stopping = requests.post(
        f"{instance.url}/v1/containers/{uuid}/stop?timeout=4", headers=HEADERS, timeout=10
    )
    assert stopping.status_code == 202
    began = time.monotonic()
    assert stop(process, signal.SIGTERM) == 0
    # The service waited for the stop (about 4 s) instead of abandoning it.
    assert time.monotonic() - began >= 3
    engine = docker_client.containers.get(f"dockyard-{uuid}")
    assert engine.status == "exited"
    log = instance.log.read_text()
    assert "Dockyard stopped." in log

    again = instance.start()
    try:
        adopted = _show(instance, uuid)
        assert (adopted["status"], adopted["task_state"]) == ("Stopped", None)
        assert adopted["status_detail"].startswith("Exited (137)")
        listing = requests.get(f"{instance.url}/v1/containers", headers=HEADERS, timeout=10)
        assert [c["uuid"] for c in listing.json()["containers"]] == [uuid]
    finally:
        assert stop(again, signal.SIGINT) == 0


def test_restart_finishes_an_operation_a_crash_interrupted(
    instance: Instance, docker_client: docker.DockerClient
) -> None:
    process = instance.start()
    body = {"image": TEST_IMAGE, "command": STUBBORN, "memory": 32, "cpu": 0.1}
    created = requests.post(
        f"{instance.url}/v1/containers?run=true", json=body, headers=HEADERS, timeout=30
    ).json()
    uuid = created["uuid"]
    _wait(instance, uuid, "Running")
    requests.post(
        f"{instance.url}/v1/containers/{uuid}/stop?timeout=30", headers=HEADERS, timeout=10
    )
    assert _show(instance, uuid)["task_state"] == "container_stopping"
    process.kill()  # no chance to finish: the record is left mid-operation
    process.wait(timeout=10)

    again = instance.start()
    try:
        # The restarted agent settles the record from what the engine really has.
        recovered = _show(instance, uuid)
        assert recovered["task_state"] is None
        assert recovered["status"] == "Running"
        assert (
            requests.post(
                f"{instance.url}/v1/containers/{uuid}/stop?timeout=1", headers=HEADERS, timeout=10
            ).status_code
            == 202
        )
        _wait(instance, uuid, "Stopped")
    finally:
        assert stop(again) == 0


def test_restart_readopts_every_container_and_removes_only_its_own_orphans(
    instance: Instance, docker_client: docker.DockerClient
) -> None:
    process = instance.start()
    body = {"image": TEST_IMAGE, "command": QUICK_STOP, "memory": 32, "cpu": 0.1}
    uuids = []
    for _ in range(3):
        created = requests.post(
            f"{instance.url}/v1/containers?run=true", json=body, headers=HEADERS, timeout=30
        ).json()
        uuids.append(created["uuid"])
    for uuid in uuids:
        _wait(instance, uuid, "Running")
    untouched, killed, removed = uuids
    assert stop(process) == 0

    # While the service is down: one container dies, one disappears, and a
    # container with this installation's labels but no record appears. So do two
    # it must leave alone: another installation's, and one from before containers
    # carried an installation (which only its own installation adopts).
    installation = docker_client.containers.get(f"dockyard-{untouched}").labels[LABEL_INSTALLATION]
    docker_client.containers.get(f"dockyard-{killed}").kill()
    docker_client.containers.get(f"dockyard-{removed}").remove(force=True)
    strays = {}
    for kind, extra in [
        ("orphan", {LABEL_INSTALLATION: installation}),
        ("foreign", {LABEL_INSTALLATION: str(uuidlib.uuid4())}),
        ("unlabelled", {}),
    ]:
        stray = str(uuidlib.uuid4())  # as if its record had been deleted while it ran
        strays[kind] = docker_client.containers.run(
            TEST_IMAGE, QUICK_STOP, detach=True, name=f"dockyard-{stray}",
            labels={LABEL_HOST: instance.host, LABEL_CONTAINER_ID: stray, **extra},
        )  # fmt: skip
    kept = [strays[k].labels[LABEL_CONTAINER_ID] for k in ("foreign", "unlabelled")]

    again = instance.start()
    try:
        assert _show(instance, untouched)["status"] == "Running"
        assert _show(instance, killed)["status"] == "Stopped"
        gone = _show(instance, removed)
        assert gone["status"] == "Error"
        assert "removed from the engine" in gone["status_reason"]
        listing = requests.get(f"{instance.url}/v1/containers", headers=HEADERS, timeout=10)
        assert sorted(c["uuid"] for c in listing.json()["containers"]) == sorted(uuids)
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(strays["orphan"].id)
        time.sleep(3)  # more reconcile periods leave the other two alone as well
        engine = docker_client.containers.list(
            all=True, filters={"label": f"{LABEL_HOST}={instance.host}"}
        )
        assert sorted(c.labels[LABEL_CONTAINER_ID] for c in engine) == sorted(
            [untouched, killed, *kept]
        )
    finally:
        assert stop(again) == 0
