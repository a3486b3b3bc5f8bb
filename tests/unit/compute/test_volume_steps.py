"""The agent's volume step: realised before the container exists, gone with a failed create."""

from __future__ import annotations

import dataclasses

from dockyard.compute.operations import Operations
from dockyard.compute.volume_sync import HostVolumeSteps
from dockyard.domain.errors import DriverError, VolumeUnsupported
from dockyard.domain.states import Status, TaskState
from dockyard.domain.volumes import HostMount, HostVolume, HostVolumes, MountRequest, MountType
from dockyard.drivers.volume.base import RealisedVolume, VolumeHost
from dockyard.rpc.messages import CreateContainer, RebuildContainer
from tests.unit.compute.helpers import HOST, UUID, World, record

DATA = HostMount(HostVolume("vol-1", 16 * 2**20, new=True), "/data")
CONF = MountRequest(MountType.BIND, "/etc/app.conf", content=b"a=1\n")


class RecordingVolumes(VolumeHost):
    """A host side that records what it was asked, and when (against the runtime's calls)."""

    def __init__(self, world: World, unsupported: str = "") -> None:
        self.world = world
        self.unsupported = unsupported
        self.calls: list[tuple[str, str, int]] = []

    def _log(self, what: str, volume_id: str) -> None:
        self.calls.append((what, volume_id, len(self.world.runtime.calls)))

    def check(self) -> None:
        if self.unsupported:
            raise VolumeUnsupported(self.unsupported)

    def realise(self, volume: HostVolume) -> RealisedVolume:
        self._log("realise", volume.volume_id)
        return RealisedVolume(volume.volume_id, f"e-{volume.volume_id}", volume.size_bytes, True)

    def remove(self, volume_id: str) -> None:
        self._log("remove", volume_id)

    def realised(self) -> tuple[RealisedVolume, ...]:
        return ()


def _ops(world: World, steps: HostVolumeSteps | None) -> Operations:
    return Operations(
        HOST, world.runtime, world.images, world.control, 10, world.clock, volumes=steps
    )


def message(world: World) -> CreateContainer:
    c = world.control.add(record(task_state=TaskState.CONTAINER_CREATING))
    spec = dataclasses.replace(c.spec(), volumes=(DATA,))
    return CreateContainer(spec, True, "ifnotpresent", "req-1", binds=(CONF,))


def test_volumes_are_realised_before_the_container_and_files_injected_before_it_starts(
    world: World,
) -> None:
    volumes = RecordingVolumes(world)
    ops = _ops(world, HostVolumeSteps(HOST, volumes, world.control, world.runtime))

    ops.create(message(world))

    assert [(what, vid) for what, vid, _ in volumes.calls] == [("realise", "vol-1")]
    assert volumes.calls[0][2] == 0, "realised before any runtime call"
    names = [call.name for call in world.runtime.calls]
    assert names.index("put_archive") < names.index("start")
    assert world.control.container(UUID).status is Status.RUNNING  # type: ignore[union-attr]


def test_a_failed_start_removes_the_container_and_runs_the_volume_pass(world: World) -> None:
    volumes = RecordingVolumes(world)
    ops = _ops(world, HostVolumeSteps(HOST, volumes, world.control, world.runtime))
    world.control.volumes[HOST] = HostVolumes((), ("vol-1",))
    world.runtime.fail_on["start"] = DriverError("exec: no such file")

    ops.create(message(world))

    assert world.control.container(UUID).status is Status.ERROR  # type: ignore[union-attr]
    assert UUID not in world.runtime.containers
    assert [what for what, _, _ in volumes.calls] == ["realise", "remove"]
    assert world.control.removed_volumes == ["vol-1"]


def test_a_host_without_volume_support_fails_the_create_before_anything_is_made(
    world: World,
) -> None:
    ops = _ops(world, None)

    ops.create(message(world))

    found = world.control.container(UUID)
    assert found is not None and found.status is Status.ERROR
    assert "no volume support" in (found.status_reason or "")
    assert world.runtime.containers == {}


def test_a_rebuild_realises_the_volumes_again_and_injects_the_files(world: World) -> None:
    volumes = RecordingVolumes(world)
    ops = _ops(world, HostVolumeSteps(HOST, volumes, world.control, world.runtime))
    ops.create(message(world))
    c = world.control.container(UUID)
    assert c is not None
    c.task_state = TaskState.CONTAINER_REBUILDING
    spec = dataclasses.replace(c.spec(), volumes=(DATA,))

    ops.rebuild(RebuildContainer(spec, True, "ifnotpresent", "req-2", binds=(CONF,)))

    assert [what for what, _, _ in volumes.calls] == ["realise", "realise"]
    names = [call.name for call in world.runtime.calls]
    assert names.count("put_archive") == 2
    assert world.control.container(UUID).status is Status.RUNNING  # type: ignore[union-attr]
