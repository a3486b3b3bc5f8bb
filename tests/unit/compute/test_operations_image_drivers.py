"""A create names its image driver: the named one fetches, the runtime gets its reference."""

from __future__ import annotations

import dataclasses

from dockyard.compute.operations import Operations
from dockyard.domain.states import Status, TaskState
from dockyard.rpc.messages import CreateContainer, RebuildContainer
from tests.fakes.runtime import FakeImages
from tests.unit.compute.helpers import HOST, IMAGE, World, record

CATALOG_IMAGE = "web-image"


class FakeCatalog(FakeImages):
    """Images named in a catalog; once fetched, the engine holds them as ``IMAGE``."""

    def engine_reference(self, image: str) -> str:
        return IMAGE


def _ops(world: World) -> tuple[Operations, FakeCatalog]:
    catalog = FakeCatalog(registry=[CATALOG_IMAGE])
    ops = Operations(
        HOST, world.runtime, world.images, world.control, 10, world.clock,
        image_drivers={"glance": catalog},
    )  # fmt: skip
    return ops, catalog


def _create(ops: Operations, world: World, uuid: str, driver: str = "glance") -> None:
    c = world.control.add(
        record(
            uuid=uuid,
            image=CATALOG_IMAGE,
            image_driver=driver,
            task_state=TaskState.CONTAINER_CREATING,
        )
    )
    ops.create(CreateContainer(c.spec(), True, "always", "req", image_driver=driver))


def test_the_named_driver_fetches_once_and_the_runtime_gets_its_reference(world: World) -> None:
    ops, catalog = _ops(world)
    _create(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000101")
    _create(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000102")
    # Fetched once whatever the pull policy: the second create finds it on the host.
    assert catalog.pulls == [CATALOG_IMAGE]
    assert world.images.pulls == []
    assert [r.change.status for r in world.control.reports if r.change.status] == [
        "Running",
        "Running",
    ]
    assert {box.spec.image for box in world.runtime.containers.values()} == {IMAGE}


def test_a_driver_the_host_lacks_fails_the_create_naming_it(world: World) -> None:
    ops = Operations(HOST, world.runtime, world.images, world.control, 10, world.clock)
    _create(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000103")
    final = world.control.reports[-1]
    assert final.change.status == "Error"
    assert "has no image driver 'glance'" in (final.change.reason or "")


def test_docker_stays_the_default(world: World) -> None:
    message = CreateContainer(record().spec(), True, "always", "req")
    assert dataclasses.replace(message).image_driver == "docker"


def _rebuild(ops: Operations, world: World, uuid: str, image: str) -> None:
    c = world.control.add(
        record(
            uuid=uuid,
            image=image,
            image_driver="glance",
            status=Status.REBUILDING,
            task_state=TaskState.CONTAINER_REBUILDING,
        )
    )
    world.runtime.add(c.spec(), Status.RUNNING)
    ops.rebuild(RebuildContainer(c.spec(), True, "always", "req-r", image_driver="glance"))


def test_a_rebuild_fetches_with_its_driver_only_what_the_host_lacks(world: World) -> None:
    ops, catalog = _ops(world)
    _create(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000104")
    _rebuild(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000105", CATALOG_IMAGE)
    # On the host already: whatever the pull policy, nothing more is fetched.
    assert catalog.pulls == [CATALOG_IMAGE]
    catalog.registry.add("web-image-2:latest")
    _rebuild(ops, world, "0b7a3f4e-1111-4c2d-9e3f-000000000106", "web-image-2")
    assert catalog.pulls == [CATALOG_IMAGE, "web-image-2"]
    assert world.images.pulls == []
    rebuilt = world.runtime.containers["0b7a3f4e-1111-4c2d-9e3f-000000000106"]
    assert (rebuilt.spec.image, rebuilt.status) == (IMAGE, Status.RUNNING)
    assert [e.event.result for e in world.control.events][-2:] == ["Success", "Success"]
