"""Changes made behind Dockyard's back show up through the engine's event stream.

The service here relists only every 300 s, so anything seen within seconds
came from the event stream, not from the periodic safety net.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.conftest import Dockyard, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

# "ready" once the TERM trap is set: before that, PID 1 ignores SIGTERM and a stop
# ends in a kill (137) instead of exit 0.
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 300 & wait"]


@pytest.fixture(scope="module")
def evented(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    service = start_dockyard(tmp_path_factory.mktemp("events"), docker_client, sync_interval=300)
    yield service
    stop_dockyard(service)


def running(service: Dockyard, **body: Any) -> tuple[str, Any]:
    created = service.create({"command": QUICK_STOP, **body}).json()
    service.wait_for(created["uuid"], "Running")
    engine = service.docker.containers.get(f"dockyard-{created['uuid']}")
    if body.get("command", QUICK_STOP) is QUICK_STOP:
        deadline = time.monotonic() + 10
        while b"ready" not in engine.logs():
            assert time.monotonic() < deadline, "the container's shell never got going"
            time.sleep(0.05)
    return created["uuid"], engine


def test_stop_and_start_behind_our_back(evented: Dockyard) -> None:
    uuid, engine = running(evented)
    engine.stop(timeout=1)
    assert evented.wait_for(uuid, "Stopped", timeout=5)["status_detail"].startswith("Exited (0)")
    engine.start()
    evented.wait_for(uuid, "Running", timeout=5)


def test_pause_behind_our_back(evented: Dockyard) -> None:
    uuid, engine = running(evented)
    engine.pause()
    assert evented.wait_for(uuid, "Paused", timeout=5)["status_detail"].endswith("(Paused)")
    engine.unpause()
    evented.wait_for(uuid, "Running", timeout=5)


def test_removed_behind_our_back_is_an_error_with_a_reason(evented: Dockyard) -> None:
    uuid, engine = running(evented)
    engine.remove(force=True)
    failed = evented.wait_for(uuid, "Error", timeout=5)
    assert "removed from the engine outside Dockyard" in failed["status_reason"]


def test_oom_kill_is_reported_with_its_reason(evented: Dockyard) -> None:
    # The string doubles until the 8 MiB limit is hit and the kernel kills it.
    command = ["sh", "-c", "x=a; while true; do x=$x$x; done"]
    created = evented.create({"command": command, "memory": 8}).json()
    stopped = evented.wait_for(created["uuid"], "Stopped", timeout=20)
    assert "out of memory" in stopped["status_reason"]


def test_restart_policy_is_honoured_and_counted(evented: Dockyard) -> None:
    body = {
        "command": ["sh", "-c", "sleep 0.3; exit 1"],
        "restart_policy": {"Name": "on-failure", "MaximumRetryCount": "2"},
    }
    created = evented.create(body).json()
    stopped = evented.wait_for(created["uuid"], "Stopped", timeout=30)
    assert stopped["status_detail"].startswith("Exited (1)")
    engine = evented.docker.containers.get(f"dockyard-{created['uuid']}")
    assert engine.attrs["RestartCount"] == 2
    record = evented.node.services.containers.containers.find(created["uuid"])
    assert record is not None and record.restart_count == 2


def test_auto_remove_container_vanishes_when_it_exits(evented: Dockyard) -> None:
    created = evented.create({"command": ["sh", "-c", "sleep 0.5"], "auto_remove": True}).json()
    evented.wait_gone(created["uuid"], timeout=15)
    assert all(
        c.labels["dockyard.container_id"] != created["uuid"] for c in evented.engine_containers()
    )
