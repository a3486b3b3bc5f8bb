"""The agent's resize, commit and rebuild against fake drivers and a recording control plane."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dockyard.domain.errors import Conflict, DriverError
from dockyard.domain.models import Container
from dockyard.domain.states import Status, TaskState
from dockyard.rpc.messages import CommitContainer, RebuildContainer, ResizeContainer
from tests.unit.compute.helpers import IMAGE, World, record

REGISTRY_IMAGE = "registry.example.com/team/app:1"


def running(world: World, **fields: Any) -> Container:
    """A record (Running unless ``fields`` say otherwise) whose engine container runs."""
    c = world.control.add(record(**{"status": Status.RUNNING, **fields}))
    world.runtime.add(c.spec(), Status.RUNNING)
    return c


def resize(c: Container, cpu: float, memory: int) -> ResizeContainer:
    old = c.spec()
    return ResizeContainer(c.uuid, cpu, memory, old.cpu, old.memory_mib, "req-resize")


def rebuild(c: Container, run: bool, image: str = IMAGE) -> RebuildContainer:
    spec = dataclasses.replace(c.spec(), image=image)
    return RebuildContainer(spec, run, "ifnotpresent", "req-rebuild")


def engine_limits(world: World, uuid: str) -> tuple[float, int]:
    spec = world.runtime.containers[uuid].spec
    return spec.cpu, spec.memory_mib


# --- resize -----------------------------------------------------------------------------


def test_resize_applies_the_limits_then_moves_the_claim(world: World) -> None:
    c = running(world, cpu=0.5, memory=64)

    world.ops.resize(resize(c, 1.0, 128))

    assert engine_limits(world, c.uuid) == (1.0, 128)
    assert (c.cpu, c.memory) == (1.0, 128)
    assert world.runtime.call_names().index("update_limits") == 0
    assert world.control.reports == []


def test_resize_without_room_puts_the_old_limits_back(world: World) -> None:
    c = running(world, cpu=0.5, memory=64)
    world.control.refuse_resize = Conflict("Host node-1 has not enough memory for this change")

    world.ops.resize(resize(c, 0.5, 4096))

    assert engine_limits(world, c.uuid) == (0.5, 64)
    assert [call.args[1:] for call in world.runtime.calls if call.name == "update_limits"] == [
        (0.5, 4096),
        (0.5, 64),
    ]
    assert (c.cpu, c.memory, c.status) == (0.5, 64, Status.RUNNING)
    assert c.status_reason is not None and "not enough memory" in c.status_reason


def test_resize_refused_by_the_engine_records_a_reason(world: World) -> None:
    c = running(world)
    world.runtime.fail_on["update_limits"] = DriverError("memory below current usage")

    world.ops.resize(resize(c, 0.5, 8))

    assert c.status is Status.RUNNING
    assert c.status_reason == "resize_container failed: memory below current usage"
    assert (c.cpu, c.memory) == (0.5, 64)


# --- commit -----------------------------------------------------------------------------


def test_commit_returns_the_image_id_and_records_the_event(world: World) -> None:
    c = running(world)

    image_id = world.ops.commit(CommitContainer(c.uuid, "team/snap", "v1", "req-commit"))

    assert world.runtime.committed == {"team/snap:v1": image_id}
    assert world.images.exists_locally("team/snap:v1")
    [sent] = world.control.events
    event = sent.event
    assert (event.event, event.result, sent.request_id) == (
        "compute__do_container_commit",
        "Success",
        "req-commit",
    )


def test_a_failed_commit_records_an_error_event_and_raises(world: World) -> None:
    c = running(world)
    world.runtime.fail_on["commit"] = DriverError("no space left on device")

    with pytest.raises(DriverError):
        world.ops.commit(CommitContainer(c.uuid, "team/snap", "v1", "req-commit"))

    assert [e.event.result for e in world.control.events] == ["Error"]


# --- rebuild ----------------------------------------------------------------------------


def test_rebuild_of_a_running_container_recreates_and_starts_it(world: World) -> None:
    c = running(world, status=Status.REBUILDING, task_state=TaskState.CONTAINER_REBUILDING)
    old_id = world.runtime.containers[c.uuid].runtime_id

    world.ops.rebuild(rebuild(c, run=True))

    assert world.runtime.call_names()[:3] == ["remove", "create", "start"]
    assert world.runtime.containers[c.uuid].runtime_id != old_id
    assert (c.status, c.task_state, c.runtime_id) == (
        Status.RUNNING,
        None,
        world.runtime.containers[c.uuid].runtime_id,
    )
    assert [(e.event.event, e.event.result) for e in world.control.events] == [
        ("compute__do_container_rebuild", "Success")
    ]


def test_rebuild_of_a_stopped_container_leaves_it_created(world: World) -> None:
    c = world.control.add(
        record(status=Status.REBUILDING, task_state=TaskState.CONTAINER_REBUILDING)
    )
    world.runtime.add(c.spec(), Status.STOPPED, exit_code=0)

    world.ops.rebuild(rebuild(c, run=False))

    assert "start" not in world.runtime.call_names()
    assert (c.status, c.task_state) == (Status.CREATED, None)


def test_rebuild_pulls_a_new_image_and_keeps_the_spec(world: World) -> None:
    c = running(world, status=Status.REBUILDING, task_state=TaskState.CONTAINER_REBUILDING)
    message = rebuild(c, run=True, image=REGISTRY_IMAGE)

    world.ops.rebuild(message)

    assert world.images.pulls == [REGISTRY_IMAGE]
    assert world.runtime.containers[c.uuid].spec == message.spec
    assert message.spec == dataclasses.replace(record().spec(), image=REGISTRY_IMAGE)


def test_a_failed_rebuild_ends_in_error_with_a_reason(world: World) -> None:
    c = running(world, status=Status.REBUILDING, task_state=TaskState.CONTAINER_REBUILDING)
    world.runtime.fail_on["create"] = DriverError("no such image")

    world.ops.rebuild(rebuild(c, run=True))

    assert (c.status, c.task_state) == (Status.ERROR, None)
    assert c.status_reason == "rebuild failed: no such image"
    assert [e.event.result for e in world.control.events] == ["Error"]


def test_a_rebuild_taken_over_by_another_operation_changes_nothing(world: World) -> None:
    c = running(world, status=Status.DELETING, task_state=TaskState.CONTAINER_DELETING)

    world.ops.rebuild(rebuild(c, run=True))

    assert (c.status, c.task_state) == (Status.DELETING, TaskState.CONTAINER_DELETING)
    assert not any(h.applied for h in world.control.handled)
