"""A host with fake drivers and an in-memory control plane, shared by the compute tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.compute.operations import Operations
from dockyard.domain.models import Container
from dockyard.domain.states import Status
from tests.factories import container
from tests.fakes.clock import FakeClock
from tests.fakes.control import RecordingControl
from tests.fakes.runtime import FakeImages, FakeRuntime

HOST = "node-1"
IMAGE = "dockyard-test/busybox:latest"
UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"


def record(uuid: str = UUID, **fields: Any) -> Container:
    """A record claimed on ``HOST``, still being created, unless ``fields`` say otherwise."""
    base: dict[str, Any] = {
        "uuid": uuid,
        "name": "web",
        "image": IMAGE,
        "host": HOST,
        "claimed": True,
        "status": Status.CREATING,
    }
    return container(**{**base, **fields})


@dataclass
class World:
    images: FakeImages
    runtime: FakeRuntime
    control: RecordingControl
    ops: Operations
    clock: FakeClock


def make_world() -> World:
    images = FakeImages(local=[IMAGE], registry=[IMAGE, "registry.example.com/team/app:1"])
    runtime = FakeRuntime(HOST, images=images)
    clock = FakeClock()
    control = RecordingControl(clock=clock)
    ops = Operations(HOST, runtime, images, control, 10, clock)
    return World(images, runtime, control, ops, clock)
