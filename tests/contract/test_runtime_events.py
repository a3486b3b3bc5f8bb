"""The Docker runtime's event stream, against the real engine."""

from __future__ import annotations

import threading
import time
import uuid as uuidlib
from collections.abc import Iterator

import docker
import pytest

from dockyard.domain.labels import Owner
from dockyard.domain.models import ContainerSpec, RuntimeEvent
from dockyard.drivers.runtime.docker.driver import DockerRuntime

IMAGE = "dockyard-test/busybox:latest"
QUICK_STOP = ("sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait")


@pytest.fixture
def runtime(docker_client: docker.DockerClient) -> DockerRuntime:
    owner = Owner("c0a7ac70-0000-4000-8000-000000000002", f"events-{uuidlib.uuid4().hex[:8]}")
    return DockerRuntime(docker_client, owner)


@pytest.fixture
def spec(runtime: DockerRuntime) -> Iterator[ContainerSpec]:
    made = ContainerSpec(
        uuid=str(uuidlib.uuid4()), name="ev", image=IMAGE, command=QUICK_STOP, host=runtime.host
    )
    yield made
    runtime.remove(made.uuid, force=True)


def test_events_of_this_host_arrive_in_order_and_close_ends_the_stream(
    runtime: DockerRuntime, spec: ContainerSpec, docker_client: docker.DockerClient
) -> None:
    stream = runtime.events(runtime.host)
    seen: list[RuntimeEvent] = []
    done = threading.Event()

    def follow() -> None:
        for event in stream:
            seen.append(event)
            if event.action == "die":
                done.set()
        done.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    other = docker_client.containers.create(IMAGE, ["true"])  # another host's: not reported
    began = time.time()
    try:
        runtime.create(spec)
        runtime.start(spec.uuid)
        runtime.stop(spec.uuid, timeout=2)
        assert done.wait(10)
        ended = time.time()
    finally:
        other.remove(force=True)
    stream.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    actions = [e.action for e in seen]
    assert {e.uuid for e in seen} == {spec.uuid}
    assert {e.installation for e in seen} == {runtime.owner.installation}
    assert actions.index("create") < actions.index("start") < actions.index("die")
    # Stamped by the engine on the host's clock: the agent compares them with its own.
    stamps = [e.time for e in seen]
    assert all(t is not None and began - 1 <= t <= ended + 1 for t in stamps), stamps
    assert stamps == sorted(stamps)
