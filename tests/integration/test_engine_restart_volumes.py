"""Volumes survive their Docker engine being SIGKILLed and started again.

A cloud of separate processes (tests/support/cluster.py) whose one agent drives a
Docker engine of this module's own (tests/support/private_engine.py, slot 8: the
fault suite has 9), so that killing it disturbs nobody else. Two containers hold
volumes: one with a named volume and restart policy ``always``, one with a volume
made by its ``size`` and no restart policy. dockerd and its containerd are
SIGKILLed, then dockerd is started again; dockerd without live-restore stops what
ran and starts again only what its restart policy asks for.

Then: the records agree with the engine (no task left, ``always`` Running, the
other Stopped until it is started through the API), the volumes are still
attached in their records and mounted once each (one loop device per file, no
mount stacked on another), the containers see the loop filesystems (a file written
inside shows up in the host's mount point) and the data written before is intact.
The agent is then restarted as well, and finds everything whole. Deleting everything
then leaves no container, engine volume, mount, loop device or file behind but the
named volume's, which goes with its own delete.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST
from dockyard.drivers.volume.base import engine_volume_name
from dockyard.drivers.volume.local.loopfs import LoopFilesystems
from tests.conftest import require
from tests.support.cluster import REPAIR_AFTER, Cluster, HostSpec, running_cluster
from tests.support.private_engine import PrivateEngine, private_engine

pytestmark = pytest.mark.docker

SLOT = 8
#: The engine's disk: a host's disk capacity (what volume GiB are claimed against) is
#: that of the engine's data root, and the test's two 1 GiB volumes need 2 GiB of it.
#: The file is sparse: it takes only what the engine writes.
DISK_MIB = 3072
#: The project every request acts in under noauth (``[DEFAULT] noauth_project_id``).
PROJECT = "dockyard"
VOLUMES = f"/volume/v3/{PROJECT}/volumes"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateEngine]:
    require(LoopFilesystems().unusable_because() is None, "loop devices (root, mkfs.ext4)")
    with private_engine(
        tmp_path_factory.mktemp("restart-engine"), disk_mib=DISK_MIB, slot=SLOT
    ) as started:
        yield started


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, engine: PrivateEngine) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("restart-cloud")
    specs = (HostSpec("v", engine.url, "az1", 8),)
    with running_cluster(root, specs=specs, repair_after=REPAIR_AFTER) as started:
        try:
            yield started
        finally:
            # What the test could not delete, so that the engine's teardown can unmount.
            for volume in started.request("GET", f"{VOLUMES}/detail").json().get("volumes", []):
                started.request("DELETE", f"{VOLUMES}/{volume['id']}")


# -- helpers ---------------------------------------------------------------------------


def eventually(check: Callable[[], bool], what: str, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.5)


def volume_root(cluster: Cluster) -> Path:
    """Where the agent keeps its volumes: ``data_dir/volumes/<installation>/<host>``."""
    [host] = cluster.hosts
    [found] = (cluster.root / host / "volumes").glob(f"*/{host}")
    return found


def mounts_at(point: Path) -> int:
    """How many mounts are stacked at ``point`` in this (the host's) mount table."""
    listed = Path("/proc/self/mountinfo").read_text().splitlines()
    return sum(1 for line in listed if line.split()[4] == str(point))


def loop_devices(image: Path) -> list[str]:
    """The loop devices backed by ``image`` (it may be gone: listed by name)."""
    listed = subprocess.run(
        ["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = (line.split(None, 1) for line in listed.stdout.splitlines() if line.strip())
    backed = ((row[0], row[1].strip().removesuffix(" (deleted)")) for row in rows if len(row) == 2)
    return [device for device, path in backed if path == str(image)]


def engine_mounts_of(engine: PrivateEngine, volume_id: str) -> int:
    """Mounts the engine made for the volume (its ``_data`` bind), stacked or not."""
    data = engine.mount / "docker" / "volumes" / engine_volume_name(volume_id) / "_data"
    return mounts_at(data)


def in_container(engine: PrivateEngine, uuid_: str, script: str) -> tuple[int, str]:
    client = engine.client()
    try:
        [found] = client.containers(all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid_}"})
        made = client.exec_create(found["Id"], ["sh", "-c", script])
        output = client.exec_start(made["Id"])
        code = client.exec_inspect(made["Id"])["ExitCode"]
    finally:
        client.close()
    return int(code), output.decode()


def engine_state(engine: PrivateEngine, uuid_: str) -> str:
    client = engine.client()
    try:
        [found] = client.containers(all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid_}"})
        return str(found["State"])
    finally:
        client.close()


def run(cluster: Cluster, name: str, **body: Any) -> str:
    answer = cluster.create({"name": name, **body}, run=True)
    assert answer.status_code == 202, answer.text
    ident = str(answer.json()["uuid"])
    shown = cluster.wait_settled(ident, timeout=90)
    assert shown["status"] == "Running", (shown["status_reason"], shown)
    return ident


def volumes_of(cluster: Cluster, uuid_: str) -> list[dict[str, Any]]:
    listed = cluster.request("GET", f"{VOLUMES}/detail").json()["volumes"]
    return [v for v in listed if any(a["server_id"] == uuid_ for a in v["attachments"])]


def settled(cluster: Cluster, uuid_: str, status: str) -> bool:
    try:
        shown = cluster.show(uuid_)
    except (AssertionError, OSError):
        return False  # the API may answer 503 while the host catches up
    return shown["task_state"] is None and shown["status"] == status


def delete(cluster: Cluster, uuid_: str) -> None:
    answer = cluster.request("DELETE", f"/v1/containers/{uuid_}?force=true")
    assert answer.status_code == 204, answer.text
    eventually(
        lambda: cluster.request("GET", f"/v1/containers/{uuid_}").status_code == 404,
        f"{uuid_} deleted",
    )


# -- the test --------------------------------------------------------------------------


def test_volumes_stay_attached_mounted_and_intact_across_a_dockerd_sigkill_and_restart(
    cluster: Cluster, engine: PrivateEngine
) -> None:
    name = f"keep-{uuid.uuid4().hex[:8]}"
    made = cluster.request("POST", VOLUMES, json={"volume": {"size": 1, "name": name}})
    assert made.status_code == 202, made.text
    named_id = str(made.json()["volume"]["id"])
    always = run(
        cluster,
        "always",
        mounts=[{"source": name, "destination": "/data"}],
        restart_policy={"Name": "always"},
    )
    plain = run(cluster, "plain", mounts=[{"size": 1, "destination": "/scratch"}])
    [sized] = volumes_of(cluster, plain)
    sized_id = str(sized["id"])
    assert in_container(engine, always, "echo named > /data/note && sync")[0] == 0
    assert in_container(engine, plain, "echo sized > /scratch/note && sync")[0] == 0
    root = volume_root(cluster)
    points = {v: root / "mnt" / v for v in (named_id, sized_id)}
    images = {v: root / f"{v}.img" for v in (named_id, sized_id)}
    for volume_id in points:
        assert mounts_at(points[volume_id]) == 1
        assert len(loop_devices(images[volume_id])) == 1
        assert engine_mounts_of(engine, volume_id) == 1

    engine.kill()
    time.sleep(2)  # the agent meets a dead engine for a moment
    engine.start()

    # dockerd kills what ran; it starts again only the container whose policy says so.
    eventually(lambda: settled(cluster, always, "Running"), "the 'always' container Running")
    eventually(lambda: settled(cluster, plain, "Stopped"), "the other container Stopped")
    assert engine_state(engine, always) == "running"
    assert engine_state(engine, plain) == "exited"
    for volume_id, holder in ((named_id, always), (sized_id, plain)):
        [record] = [v for v in volumes_of(cluster, holder) if v["id"] == volume_id]
        assert record["status"] == "in-use", record
        assert [a["server_id"] for a in record["attachments"]] == [holder]
        assert mounts_at(points[volume_id]) == 1, f"{volume_id} mounted more than once"
        assert len(loop_devices(images[volume_id])) == 1, f"{volume_id}: loop devices"
    assert engine_mounts_of(engine, named_id) == 1, "the engine stacked the volume's mount"

    started = cluster.request("POST", f"/v1/containers/{plain}/start")
    assert started.status_code == 202, started.text
    eventually(lambda: settled(cluster, plain, "Running"), "the stopped container started")
    assert engine_mounts_of(engine, sized_id) == 1, "the engine stacked the volume's mount"
    assert in_container(engine, always, "cat /data/note") == (0, "named\n")
    assert in_container(engine, plain, "cat /scratch/note") == (0, "sized\n")
    # What the containers write lands on the loop filesystems, not under them.
    assert in_container(engine, always, "echo after > /data/after")[0] == 0
    assert in_container(engine, plain, "echo after > /scratch/after")[0] == 0
    for point in points.values():
        assert (point / "after").read_text() == "after\n"

    # The agent restarted too (a real process, SIGTERM then started): its first pass
    # finds everything whole and mounts nothing twice.
    [host] = cluster.hosts
    cluster.restart(host)
    eventually(lambda: settled(cluster, plain, "Running"), "records unchanged")
    for volume_id, holder in ((named_id, always), (sized_id, plain)):
        assert [v["status"] for v in volumes_of(cluster, holder)] == ["in-use"]
        assert mounts_at(points[volume_id]) == 1
        assert len(loop_devices(images[volume_id])) == 1
        assert engine_mounts_of(engine, volume_id) == 1
    assert in_container(engine, always, "cat /data/note /data/after") == (0, "named\nafter\n")

    delete(cluster, always)
    delete(cluster, plain)
    eventually(lambda: not images[sized_id].exists(), "the sized volume's file removed")
    assert mounts_at(points[sized_id]) == 0 and not points[sized_id].exists()
    shown = cluster.request("GET", f"{VOLUMES}/{named_id}")
    assert shown.json()["volume"]["status"] == "available", shown.text
    assert cluster.request("DELETE", f"{VOLUMES}/{named_id}").status_code == 202
    eventually(lambda: not images[named_id].exists(), "the named volume's file removed")
    eventually(
        lambda: cluster.request("GET", f"{VOLUMES}/{named_id}").status_code == 404,
        "the named volume's record gone",
    )
    for volume_id in points:
        assert mounts_at(points[volume_id]) == 0
        assert loop_devices(images[volume_id]) == []
        assert engine_mounts_of(engine, volume_id) == 0
    client = engine.client()
    try:
        assert client.containers(all=True, filters={"label": f"{LABEL_HOST}={host}"}) == []
        assert client.volumes(filters={"label": f"{LABEL_HOST}={host}"})["Volumes"] in (None, [])
    finally:
        client.close()
    assert list(root.glob("*.img*")) == []
