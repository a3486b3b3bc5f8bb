"""The runtime contract: every test runs against the Docker runtime and the fake runtime.

The ``docker`` parameter needs the engine and the test image (the ``docker_client``
fixture: skipped without them, unless ``CI`` is set, where it fails). The ``fake``
parameter runs in memory, so the fake the unit tests lean on cannot drift from Docker.
Tests marked ``engine_only`` (see ``support.engine_only``) run on Docker alone, with the
reason shown in the report.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import docker
import docker.errors
import pytest

from dockyard.domain.labels import Owner
from dockyard.domain.models import ContainerSpec
from dockyard.drivers.runtime.base import ConsoleStream, RuntimeDriver
from dockyard.drivers.runtime.docker.driver import DockerRuntime
from tests.contract.runtime.support import (
    HOST,
    IMAGE,
    INSTALLATION,
    SLEEPER,
    Factory,
    Terminal,
    Terminals,
)
from tests.fakes.runtime import FakeImages, FakeRuntime

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), "fake"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("engine_only")
        callspec = getattr(item, "callspec", None)
        if marker is not None and callspec is not None and callspec.params.get("backend") == "fake":
            item.add_marker(pytest.mark.skip(reason=f"engine only: {marker.kwargs['reason']}"))


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest, backend: str) -> RuntimeDriver:
    if backend == "fake":
        return FakeRuntime(HOST, images=FakeImages(local=[IMAGE]))
    return DockerRuntime(request.getfixturevalue("docker_client"), Owner(INSTALLATION, HOST))


class Engine(Protocol):
    """What a test may read behind the driver's back, on either backend."""

    def image_id(self, reference: str) -> str: ...

    def remove_image(self, reference: str) -> None: ...


class DockerEngine:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def image_id(self, reference: str) -> str:
        return str(self.client.api.inspect_image(reference)["Id"])

    def remove_image(self, reference: str) -> None:
        self.client.api.remove_image(reference, force=True)


class FakeEngine:
    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime

    def image_id(self, reference: str) -> str:
        return self.runtime.committed[reference]

    def remove_image(self, reference: str) -> None:
        self.runtime.committed.pop(reference, None)


@pytest.fixture(scope="module")
def engine(request: pytest.FixtureRequest, runtime: RuntimeDriver) -> Engine:
    if isinstance(runtime, FakeRuntime):
        return FakeEngine(runtime)
    return DockerEngine(request.getfixturevalue("docker_client"))


@pytest.fixture
def make_container(runtime: RuntimeDriver) -> Iterator[Factory]:
    """Create containers with fresh UUIDs; every one is force-removed afterwards."""
    created: list[str] = []

    def make(*, start: bool = False, **fields: Any) -> ContainerSpec:
        spec = ContainerSpec(
            uuid=str(uuidlib.uuid4()),
            name="contract",
            image=IMAGE,
            **{"command": SLEEPER, "host": HOST, **fields},
        )
        created.append(spec.uuid)
        runtime.create(spec)
        if start:
            runtime.start(spec.uuid)
        return spec

    yield make
    for uuid in created:
        runtime.remove(uuid, force=True)


@pytest.fixture
def running(make_container: Factory) -> ContainerSpec:
    return make_container(start=True)


@pytest.fixture
def terminals() -> Iterator[Terminals]:
    """Wrap streams in ``Terminal``s; every one is closed afterwards."""
    opened: list[Terminal] = []

    def wrap(stream: ConsoleStream) -> Terminal:
        opened.append(Terminal(stream))
        return opened[-1]

    yield wrap
    for terminal in opened:
        terminal.stream.close()


@pytest.fixture
def make_shell(make_container: Factory) -> Callable[[bool], ContainerSpec]:
    """A running container whose main process is a shell reading its open stdin."""

    def make(tty: bool) -> ContainerSpec:
        return make_container(start=True, command=("sh",), interactive=True, tty=tty)

    return make
