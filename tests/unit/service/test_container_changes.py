"""ContainerService: live limits, resize_container, rebuild and commit, on SQLite.

The fake ``ComputeAPI`` records every call and can fail or run a hook on one,
so the order "engine first, then record and claim" and the undo paths show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import update

from dockyard.db import migrate
from dockyard.db.models import HostRow
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.session import Database
from dockyard.domain.errors import (
    Conflict,
    DriverError,
    InvalidImage,
    InvalidInput,
    InvalidState,
    ServiceBusy,
    ValidationFailed,
)
from dockyard.domain.models import Container
from dockyard.domain.states import Status, TaskState
from dockyard.drivers.image.glance_client import GlanceClient, GlanceImage
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import CommitContainer, RebuildContainer, ResizeContainer
from dockyard.service.containers import ContainerService
from dockyard.service.image_drivers import ImageDrivers
from tests.factories import CTX, container, host_inventory
from tests.fakes.compute import FakeCompute

HOST = "node-1"


@dataclass
class World:
    db: Database
    containers: ContainerRepository
    hosts: HostRepository
    compute: FakeCompute
    service: ContainerService

    def add(self, **fields: Any) -> Container:
        count = len(self.containers.uuids())
        base = {
            "uuid": f"0b7a3f4e-1111-4c2d-9e3f-{count:012d}",
            "name": f"c{count}",
            "status": Status.RUNNING,
        }
        created = self.containers.create_claimed(container(**{**base, **fields}), HOST)
        assert created is not None
        return created

    def used(self) -> tuple[float, int]:
        host = self.hosts.get(HOST)
        assert host is not None
        return host.cpu_used, host.memory_used

    def set_used(self, cpu_milli: int, memory: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(HostRow)
                .where(HostRow.name == HOST)
                .values(cpu_used_milli=cpu_milli, memory_used=memory)
            )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'dockyard.sqlite'}")
    migrate.upgrade(db)
    hosts = HostRepository(db, dt.timedelta(minutes=5))
    hosts.report(HOST, host_inventory())
    containers = ContainerRepository(db)
    compute = FakeCompute(results={"commit": "sha256:" + "ab" * 32})
    service = ContainerService(containers, ActionRepository(db), cast(ComputeAPI, compute), 100)
    yield World(db, containers, hosts, compute, service)
    db.dispose()


# --- PATCH cpu / memory -----------------------------------------------------------------


def test_patch_applies_to_the_engine_then_stores_and_moves_the_claim(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)
    assert world.used() == (0.5, 64)

    updated = world.service.update(CTX, c.uuid, {"cpu": "1.25", "memory": "128", "name": "big"})

    assert world.compute.calls == [("update_limits", (HOST, c.uuid, 1.25, 128))]
    assert (updated.cpu, updated.memory, updated.name) == (1.25, 128, "big")
    assert world.used() == (1.25, 128)


def test_patch_of_one_limit_keeps_the_other(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)

    updated = world.service.update(CTX, c.uuid, {"memory": 32, "cpu": None})

    assert world.compute.calls == [("update_limits", (HOST, c.uuid, 0.5, 32))]
    assert (updated.cpu, updated.memory) == (0.5, 32)
    assert world.used() == (0.5, 32)


@pytest.mark.parametrize(
    ("values", "resource"),
    [({"memory": 2048}, "memory"), ({"cpu": 3.0}, "cpu")],
)
def test_patch_without_room_conflicts_before_touching_the_engine(
    world: World, values: dict[str, Any], resource: str
) -> None:
    c = world.add(cpu=0.5, memory=64)

    with pytest.raises(Conflict, match=f"not enough {resource}"):
        world.service.update(CTX, c.uuid, values)

    assert world.compute.calls == []
    assert world.used() == (0.5, 64)
    assert (world.containers.find(c.uuid) or c).memory == 64


def test_host_filling_up_during_the_call_undoes_the_engine_change(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)
    world.compute.hooks["update_limits"] = lambda: world.set_used(500, 1000)

    with pytest.raises(Conflict, match="not enough memory"):
        world.service.update(CTX, c.uuid, {"memory": 128})

    assert world.compute.calls == [
        ("update_limits", (HOST, c.uuid, 0.5, 128)),
        ("update_limits", (HOST, c.uuid, 0.5, 64)),
    ]
    stored = world.containers.find(c.uuid)
    assert stored is not None and stored.memory == 64
    assert world.used() == (0.5, 1000)


def test_shrinking_succeeds_on_an_overcommitted_host(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)
    world.set_used(2500, 2000)  # capacity shrank below what is claimed

    updated = world.service.update(CTX, c.uuid, {"cpu": 0.25, "memory": 32})

    assert (updated.cpu, updated.memory) == (0.25, 32)
    assert world.used() == (2.25, 1968)


def test_an_engine_refusal_changes_nothing(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)
    world.compute.fail["update_limits"] = DriverError("memory below usage")

    with pytest.raises(DriverError):
        world.service.update(CTX, c.uuid, {"memory": 8})

    assert world.used() == (0.5, 64)
    assert (world.containers.find(c.uuid) or c).memory == 64


def test_patch_checks_the_state(world: World) -> None:
    c = world.add(status=Status.ERROR)

    with pytest.raises(InvalidState):
        world.service.update(CTX, c.uuid, {"cpu": 1.0})


# --- resize_container -------------------------------------------------------------------


def test_resize_casts_and_answers_the_record_as_it_was(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)

    before = world.service.resize(CTX, c.uuid, {"cpu": 1.0, "name": "ignored"})

    assert (before.cpu, before.memory, before.name) == (0.5, 64, c.name)
    [(name, (host, message))] = world.compute.calls
    assert (name, host) == ("resize", HOST)
    assert message == ResizeContainer(c.uuid, 1.0, 64, 0.5, 64, CTX.request_id)
    assert world.used() == (0.5, 64)  # the agent moves the claim once the engine agreed


def test_resize_without_room_is_refused_at_once(world: World) -> None:
    c = world.add(cpu=0.5, memory=64)

    with pytest.raises(Conflict, match="memory"):
        world.service.resize(CTX, c.uuid, {"memory": 4096})

    assert world.compute.calls == []


# --- rebuild ----------------------------------------------------------------------------


def test_rebuild_reserves_then_casts_the_full_spec(world: World) -> None:
    c = world.add(cpu=0.25, memory=32, labels={"team": "a"})

    reserved = world.service.rebuild(CTX, c.uuid, "registry.example.com/app:2", "docker")

    assert (reserved.status, reserved.task_state) == (
        Status.REBUILDING,
        TaskState.CONTAINER_REBUILDING,
    )
    assert reserved.image == "registry.example.com/app:2"
    assert world.compute.names() == ["check_image", "rebuild"]
    message = world.compute.calls[-1][1][1]
    assert isinstance(message, RebuildContainer)
    assert message.run is True
    assert message.pull_policy == "ifnotpresent"
    assert (message.spec.uuid, message.spec.cpu, message.spec.memory_mib) == (c.uuid, 0.25, 32)
    assert (message.spec.image, dict(message.spec.labels)) == (
        "registry.example.com/app:2",
        {"team": "a"},
    )


def test_rebuild_of_a_stopped_container_keeps_its_image_and_does_not_start(world: World) -> None:
    c = world.add(status=Status.STOPPED, image_pull_policy="Always")

    world.service.rebuild(CTX, c.uuid, None, None)

    message = world.compute.calls[-1][1][1]
    assert world.compute.names() == ["rebuild"]
    assert (message.run, message.pull_policy) == (False, "always")
    assert message.spec.image == "dockyard-test/busybox:latest"


def test_a_rebuild_the_agent_cannot_take_is_undone(world: World) -> None:
    c = world.add()
    world.compute.fail["rebuild"] = ServiceBusy("busy")

    with pytest.raises(ServiceBusy):
        world.service.rebuild(CTX, c.uuid, "dockyard-test/other:1", None)

    stored = world.containers.find(c.uuid)
    assert stored is not None
    assert (stored.status, stored.task_state, stored.image) == (Status.RUNNING, None, c.image)


@pytest.mark.parametrize(
    ("image", "driver", "error"),
    [
        ("Not An Image", None, InvalidImage),
        (None, "glance", ValidationFailed),
    ],
)
def test_rebuild_validates_before_anything_happens(
    world: World, image: str | None, driver: str | None, error: type[Exception]
) -> None:
    c = world.add()

    with pytest.raises(error):
        world.service.rebuild(CTX, c.uuid, image, driver)

    assert world.compute.calls == []
    assert (world.containers.find(c.uuid) or c).task_state is None


class FakeGlance:
    """Glance knowing ``images`` (by name): found active docker images, or a 400."""

    def __init__(self, *images: GlanceImage) -> None:
        self.images = {i.name: i for i in images}
        self.asked: list[str] = []

    def find(self, name_or_id: str) -> GlanceImage:
        self.asked.append(name_or_id)
        if name_or_id not in self.images:
            raise InvalidImage(f"image '{name_or_id}' was not found in Glance", field="image")
        return self.images[name_or_id]


def _glance_image(name: str, container_format: str = "docker") -> GlanceImage:
    return GlanceImage(
        f"id-{name}", name, "active", container_format, "raw", 10, "c" * 32, None, None
    )


@pytest.fixture
def glance(world: World) -> FakeGlance:
    found = FakeGlance(_glance_image("web"), _glance_image("web v2"), _glance_image("iso", "bare"))
    world.service.image_drivers = ImageDrivers(
        ("docker", "glance"), "docker", cast(GlanceClient, found)
    )
    return found


def test_a_glance_container_rebuilds_from_its_own_glance_image(
    world: World, glance: FakeGlance
) -> None:
    c = world.add(image="web", image_driver="glance")

    reserved = world.service.rebuild(CTX, c.uuid, None, None)

    assert (reserved.image, reserved.image_driver) == ("web", "glance")
    # Looked up in Glance, never at a registry; the host fetches only what it lacks.
    assert glance.asked == ["web"]
    assert world.compute.names() == ["rebuild"]
    message = world.compute.calls[-1][1][1]
    assert isinstance(message, RebuildContainer)
    assert (message.spec.image, message.image_driver, message.auth) == ("web", "glance", None)


def test_a_glance_container_rebuilds_from_another_glance_image(
    world: World, glance: FakeGlance
) -> None:
    c = world.add(image="web", image_driver="glance")

    reserved = world.service.rebuild(CTX, c.uuid, "web v2", "glance")

    assert (reserved.image, reserved.image_driver) == ("web v2", "glance")
    message = world.compute.calls[-1][1][1]
    assert (message.spec.image, message.image_driver) == ("web v2", "glance")


def test_a_rebuild_may_move_a_container_between_drivers_when_it_names_the_image(
    world: World, glance: FakeGlance
) -> None:
    c = world.add()

    reserved = world.service.rebuild(CTX, c.uuid, "web", "glance")

    assert (reserved.image, reserved.image_driver) == ("web", "glance")
    assert world.compute.calls[-1][1][1].image_driver == "glance"
    world.containers.update(c.uuid, {"task_state": None, "status": Status.RUNNING})
    back = world.service.rebuild(CTX, c.uuid, "registry.example.com/app:2", "docker")
    assert (back.image, back.image_driver) == ("registry.example.com/app:2", "docker")
    assert world.compute.names()[-2:] == ["check_image", "rebuild"]


@pytest.mark.parametrize(
    ("image", "driver", "error", "says"),
    [
        ("nothing", None, InvalidImage, "was not found in Glance"),
        ("nothing", "glance", InvalidImage, "was not found in Glance"),
        ("iso", None, InvalidInput, "not 'docker'"),
        (None, "docker", ValidationFailed, "names the image to take"),
    ],
)
def test_a_glance_rebuild_is_refused_before_anything_happens(
    world: World, glance: FakeGlance, image: str | None, driver: str | None,
    error: type[Exception], says: str,
) -> None:  # fmt: skip
    c = world.add(image="web", image_driver="glance")
    glance.images["iso"] = _glance_image("iso", "bare")

    with pytest.raises(error, match=says):
        world.service.rebuild(CTX, c.uuid, image, driver)

    assert world.compute.calls == []
    stored = world.containers.find(c.uuid)
    assert stored is not None
    assert (stored.task_state, stored.image, stored.image_driver) == (None, "web", "glance")


def test_a_driver_change_the_agent_cannot_take_is_undone(world: World, glance: FakeGlance) -> None:
    c = world.add()
    world.compute.fail["rebuild"] = ServiceBusy("busy")

    with pytest.raises(ServiceBusy):
        world.service.rebuild(CTX, c.uuid, "web", "glance")

    stored = world.containers.find(c.uuid)
    assert stored is not None
    assert (stored.task_state, stored.image, stored.image_driver) == (None, c.image, "docker")


def test_rebuild_checks_the_state(world: World) -> None:
    c = world.add(status=Status.PAUSED)

    with pytest.raises(InvalidState):
        world.service.rebuild(CTX, c.uuid, None, None)


# --- commit -----------------------------------------------------------------------------


def test_commit_records_the_action_and_returns_the_image_id(world: World) -> None:
    c = world.add()

    image_id = world.service.commit(CTX, c.uuid, "registry.example.com:5000/team/snap", "v1")

    assert image_id == "sha256:" + "ab" * 32
    message = world.compute.calls[-1][1][1]
    assert message == CommitContainer(
        c.uuid, "registry.example.com:5000/team/snap", "v1", CTX.request_id
    )
    assert [a.action for a in world.service.action_list(CTX, c.uuid)] == ["commit"]


@pytest.mark.parametrize(
    ("repository", "tag", "field_name"),
    [
        ("Upper/Case", "latest", "repository"),
        ("snap:v1", "latest", "repository"),
        ("snap@sha256:" + "a" * 64, "latest", "repository"),
        ("snap", "no spaces", "tag"),
        ("snap", "", "tag"),
    ],
)
def test_commit_validates_repository_and_tag(
    world: World, repository: str, tag: str, field_name: str
) -> None:
    c = world.add()

    with pytest.raises(InvalidInput) as caught:
        world.service.commit(CTX, c.uuid, repository, tag)

    assert caught.value.detail.startswith(f"{field_name}:")
    assert caught.value.fields == {"field": field_name}
    assert world.compute.calls == []
