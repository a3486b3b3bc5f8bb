"""Volumes end to end: the HTTP API of an all-in-one, its agent, the real engine and kernel.

Named volumes are made through the same service the block-storage API uses
(``noauth`` serves one project); containers through the Zun API. Data is
written and read inside the containers; sizes are the kernel's (a loop-mounted
ext4 per volume).
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.domain.errors import VolumeInUse, VolumeNotFound
from dockyard.domain.labels import LABEL_CONTAINER_ID
from dockyard.domain.volumes import Volume, VolumeStatus
from dockyard.drivers.volume.base import engine_volume_name
from dockyard.drivers.volume.local.loopfs import LoopFilesystems
from dockyard.service.container_volumes import ContainerVolumes
from dockyard.service.volumes import LocalVolumeDriver
from tests.conftest import Dockyard, require, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

#: Ends at once on SIGTERM (a restart or stop does not wait for the engine's kill).
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    require(LoopFilesystems().unusable_because() is None, "loop devices (root, mkfs.ext4)")
    service = start_dockyard(tmp_path_factory.mktemp("volumes"), docker_client)
    yield service
    stop_dockyard(service)
    _remove_every_volume(service)


def _remove_every_volume(service: Dockyard) -> None:
    host = service.node.agent.volumes
    assert host is not None
    for found in host.volumes.realised():
        host.volumes.remove(found.volume_id)


def volumes_of(service: Dockyard) -> ContainerVolumes:
    volumes = service.node.services.creator.volumes
    assert volumes is not None
    return volumes


@pytest.fixture(scope="module")
def project(service: Dockyard) -> str:
    made = run(service, "volume-project-probe", IDLE)
    delete(service, made["uuid"])
    return str(made["project_id"])


def named_volume(service: Dockyard, project: str, size: int = 1) -> Volume:
    return volumes_of(service).driver.create(project, size, f"data-{uuid.uuid4().hex[:8]}")


def run(service: Dockyard, name: str, command: list[str], **body: Any) -> dict[str, Any]:
    response = service.create({"name": name, "command": command, **body})
    assert response.status_code == 202, response.text
    return service.wait_for(response.json()["uuid"], "Running", timeout=60)


def delete(service: Dockyard, uuid_: str) -> None:
    response = service.request("DELETE", f"/v1/containers/{uuid_}?force=true")
    assert response.status_code == 204, response.text
    service.wait_gone(uuid_)


def engine_container(service: Dockyard, uuid_: str) -> Any:
    [found] = service.docker.containers.list(
        all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid_}"}
    )
    return found


def in_container(service: Dockyard, uuid_: str, script: str) -> tuple[int, str]:
    result = engine_container(service, uuid_).exec_run(["sh", "-c", script])
    return int(result.exit_code), result.output.decode()


def record(service: Dockyard, volume_id: str) -> Volume | None:
    driver = volumes_of(service).driver
    assert isinstance(driver, LocalVolumeDriver)
    try:
        return driver.volumes.get(volume_id)
    except VolumeNotFound:
        return None


def held_by(service: Dockyard, uuid_: str) -> tuple[Volume, ...]:
    return volumes_of(service).driver.held_by(uuid_)


def eventually(check: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.2)


def image_file(service: Dockyard, volume_id: str) -> Path:
    host = service.node.agent.volumes
    assert host is not None
    root: Path = host.volumes.root  # type: ignore[attr-defined]
    return root / f"{volume_id}.img"


def host_disk_used(service: Dockyard) -> int:
    [host] = [h for h in service.node.services.creator.hosts.all() if h.name == service.host]
    return host.disk_used


def engine_volume_exists(service: Dockyard, volume_id: str) -> bool:
    try:
        service.docker.volumes.get(engine_volume_name(volume_id))
    except docker.errors.NotFound:
        return False
    return True


# -- the tests ---------------------------------------------------------------------


def test_data_on_a_named_volume_outlives_its_container_and_is_read_by_the_next(
    service: Dockyard, project: str
) -> None:
    volume = named_volume(service, project)
    mount = [{"source": volume.name, "destination": "/data"}]
    first = run(service, "writer", IDLE, mounts=mount)
    assert in_container(service, first["uuid"], "echo kept > /data/note")[0] == 0
    held = record(service, volume.id)
    assert held is not None and held.status is VolumeStatus.IN_USE
    assert held.host == service.host

    with pytest.raises(VolumeInUse):
        volumes_of(service).driver.delete(project, volume.id)
    delete(service, first["uuid"])

    free = record(service, volume.id)
    assert free is not None and free.status is VolumeStatus.AVAILABLE and not free.in_use
    second = run(service, "reader", IDLE, mounts=[{"source": volume.id, "destination": "/in"}])
    assert in_container(service, second["uuid"], "cat /in/note") == (0, "kept\n")
    delete(service, second["uuid"])


def test_a_created_volume_is_sized_by_the_kernel_and_goes_with_its_container(
    service: Dockyard,
) -> None:
    content = base64.b64encode(b"answer=42\n").decode()
    disk_before = host_disk_used(service)
    made = run(
        service,
        "scratch",
        IDLE,
        mounts=[
            {"size": 1, "destination": "/scratch"},
            {"type": "bind", "source": content, "destination": "/etc/app/app.conf"},
        ],
    )
    [volume] = held_by(service, made["uuid"])
    assert volume.auto_remove and volume.size_gib == 1
    assert host_disk_used(service) == disk_before + 1
    assert in_container(service, made["uuid"], "cat /etc/app/app.conf") == (0, "answer=42\n")
    # Nearly all the free room taken at once, then 10 MiB written: the write fails.
    fill = (
        "free=$(df -k /scratch | awk 'NR==2 {print $4}'); "
        "fallocate -l $(( (free - 1024) * 1024 )) /scratch/fill && "
        "dd if=/dev/zero of=/scratch/more bs=1M count=10 2>&1"
    )
    code, output = in_container(service, made["uuid"], fill)
    assert code != 0 and "No space left" in output, output
    size = in_container(service, made["uuid"], "df -k /scratch | awk 'NR==2 {print $2}'")[1]
    assert 900 * 1024 < int(size) <= 1024 * 1024
    assert image_file(service, volume.id).stat().st_size == 1024**3

    delete(service, made["uuid"])

    eventually(lambda: record(service, volume.id) is None)
    assert not image_file(service, volume.id).exists()
    assert not engine_volume_exists(service, volume.id)
    assert host_disk_used(service) == disk_before


def test_a_rebuilt_container_keeps_its_volumes_and_their_data(
    service: Dockyard, project: str
) -> None:
    volume = named_volume(service, project)
    made = run(
        service,
        "rebuilt",
        IDLE,
        mounts=[
            {"source": volume.name, "destination": "/data"},
            {"size": 1, "destination": "/cache"},
            {"type": "bind", "source": base64.b64encode(b"x=1").decode(), "destination": "/a.c"},
        ],
    )
    script = "echo one > /data/a && echo two > /cache/b"
    assert in_container(service, made["uuid"], script)[0] == 0
    before = {v.id for v in held_by(service, made["uuid"])}
    old = engine_container(service, made["uuid"]).id

    response = service.request("POST", f"/v1/containers/{made['uuid']}/rebuild")
    assert response.status_code == 202, response.text
    service.wait_for(made["uuid"], "Running", timeout=60)

    assert engine_container(service, made["uuid"]).id != old
    assert {v.id for v in held_by(service, made["uuid"])} == before
    assert in_container(service, made["uuid"], "cat /data/a /cache/b") == (0, "one\ntwo\n")
    assert in_container(service, made["uuid"], "cat /a.c") == (0, "x=1")
    delete(service, made["uuid"])


def test_after_an_agent_restart_volumes_are_mounted_again_attached_and_intact(
    service: Dockyard, project: str
) -> None:
    volume = named_volume(service, project)
    made = run(service, "survivor", IDLE, mounts=[{"source": volume.name, "destination": "/d"}])
    assert in_container(service, made["uuid"], "echo intact > /d/f")[0] == 0
    mountpoint = image_file(service, volume.id).parent / "mnt" / volume.id
    # As after a reboot: the file is there, nothing mounted, the engine keeps the container.
    subprocess.run(["umount", "-l", str(mountpoint)], check=True)
    assert not mountpoint.is_mount()

    service.node.agent.reconciler.run(after_restart=True)

    assert mountpoint.is_mount()
    after = record(service, volume.id)
    assert after is not None and after.status is VolumeStatus.IN_USE
    assert [a.container_id for a in after.attachments] == [made["uuid"]]
    # The container the engine kept was restarted onto the mounted volume.
    service.wait_for(made["uuid"], "Running")
    assert in_container(service, made["uuid"], "cat /d/f") == (0, "intact\n")
    delete(service, made["uuid"])


def test_a_create_that_fails_removes_only_the_volumes_it_created(
    service: Dockyard, project: str
) -> None:
    kept = named_volume(service, project)
    writer = run(service, "first-owner", IDLE, mounts=[{"source": kept.id, "destination": "/k"}])
    assert in_container(service, writer["uuid"], "echo mine > /k/f")[0] == 0
    delete(service, writer["uuid"])

    response = service.create(
        {
            "name": "doomed",
            "command": ["/no/such/program"],
            "mounts": [
                {"source": kept.name, "destination": "/k"},
                {"size": 1, "destination": "/new"},
            ],
        }
    )
    assert response.status_code == 202, response.text
    doomed = response.json()["uuid"]
    made = [v for v in held_by(service, doomed) if v.auto_remove]
    assert len(made) == 1
    failed = service.wait_for(doomed, "Error", timeout=60)
    assert "no/such/program" in failed["status_reason"]

    eventually(lambda: record(service, made[0].id) is None)
    assert not image_file(service, made[0].id).exists()
    assert held_by(service, doomed) == ()
    survivor = record(service, kept.id)
    assert survivor is not None and survivor.status is VolumeStatus.AVAILABLE
    assert image_file(service, kept.id).exists()
    reader = run(service, "next-owner", IDLE, mounts=[{"source": kept.id, "destination": "/k"}])
    assert in_container(service, reader["uuid"], "cat /k/f") == (0, "mine\n")
    delete(service, reader["uuid"])
    delete(service, doomed)


def test_a_host_that_cannot_enforce_sizes_refuses_mounts_naming_why(
    service: Dockyard, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = service.node.agent.volumes
    assert steps is not None
    filesystems = steps.volumes.filesystems  # type: ignore[attr-defined]
    monkeypatch.setattr(filesystems, "loop_control", "/dev/no-loop-control-here")
    monkeypatch.setattr(service.node.agent, "_volume_support", steps.unsupported())
    service.node.agent.report_host()
    try:
        before = len(service.engine_containers())
        response = service.create({"command": IDLE, "mounts": [{"size": 1, "destination": "/d"}]})

        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error["code"] == "container.volume-unsupported"
        assert "/dev/no-loop-control-here is missing" in error["detail"]
        assert len(service.engine_containers()) == before
    finally:
        monkeypatch.undo()
        service.node.agent.report_host()
