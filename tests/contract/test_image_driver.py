"""The Docker image driver against a real Docker Engine and registry.

Needs the engine and the test image (the ``docker_client`` fixture) and a registry on
127.0.0.1:5001 serving ``dockyard-test/busybox:latest``. Without them the tests are
skipped, unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import socket

import docker
import docker.errors
import pytest

from dockyard.domain.errors import DriverError, InvalidImage, NotFound, RegistryUnreachable
from dockyard.domain.image_records import PullProgress
from dockyard.domain.images import parse_image
from dockyard.drivers.image.docker import DockerImages, _raise_pull_error
from tests.conftest import require
from tests.contract.runtime.support import IMAGE, REGISTRY, REGISTRY_IMAGE

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def images(docker_client: docker.DockerClient) -> DockerImages:
    return DockerImages(docker_client)


@pytest.fixture
def registry() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5001), timeout=2).close()
    except OSError as exc:
        require(False, f"registry {REGISTRY} reachable ({exc})")


def test_exists_locally(images: DockerImages) -> None:
    assert images.exists_locally(IMAGE) is True
    assert images.exists_locally("no-such-image-xyz:1") is False


@pytest.mark.usefixtures("registry")
def test_check_remote_finds_the_registry_image(images: DockerImages) -> None:
    images.check_remote(REGISTRY_IMAGE)


@pytest.mark.usefixtures("registry")
def test_check_remote_of_a_missing_image(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match=r"'127.0.0.1:5001/nope/nothing:1' was not found"):
        images.check_remote(f"{REGISTRY}/nope/nothing:1")


def test_check_remote_of_an_unreachable_registry(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match=r"registry 127.0.0.1:5999 could not be reached"):
        images.check_remote("127.0.0.1:5999/x:1")


@pytest.mark.usefixtures("registry")
def test_pull_fetches_the_image(docker_client: docker.DockerClient, images: DockerImages) -> None:
    # Only the registry-tagged name goes; the base image shares its layers and stays.
    if images.exists_locally(REGISTRY_IMAGE):
        docker_client.api.remove_image(REGISTRY_IMAGE)
    assert images.exists_locally(REGISTRY_IMAGE) is False

    images.pull(REGISTRY_IMAGE)

    assert images.exists_locally(REGISTRY_IMAGE) is True
    assert images.exists_locally(IMAGE) is True


@pytest.mark.usefixtures("registry")
def test_pull_of_a_missing_image(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match="was not found"):
        images.pull(f"{REGISTRY}/nope/nothing:1")


@pytest.mark.usefixtures("registry")
def test_pull_tells_progress_and_the_engine_lists_inspects_and_removes_the_tag(
    docker_client: docker.DockerClient, images: DockerImages
) -> None:
    if images.exists_locally(REGISTRY_IMAGE):
        docker_client.api.remove_image(REGISTRY_IMAGE)
    told: list[PullProgress] = []

    images.pull(REGISTRY_IMAGE, progress=told.append)

    # Its only layer is the local test image's: the engine may mention no layer at all
    # (tests/functional/test_images.py pulls new layers and checks their bytes).
    assert all(p.layers_done <= p.layers_total for p in told)
    local = images.inspect(REGISTRY_IMAGE)
    assert local.image_id == docker_client.images.get(REGISTRY_IMAGE).id
    assert (local.repo, local.tag) == (REGISTRY_IMAGE.rsplit(":", 1)[0], "latest")
    assert local in images.local_images()
    images.remove(REGISTRY_IMAGE)
    assert images.exists_locally(REGISTRY_IMAGE) is False
    with pytest.raises(NotFound):
        images.remove(REGISTRY_IMAGE)
    with pytest.raises(NotFound):
        images.inspect(REGISTRY_IMAGE)


def test_a_pull_the_disk_cannot_hold_says_so() -> None:
    text = "write /var/lib/docker/tmp/x: no space left on device"
    with pytest.raises(DriverError, match="the host's disk is full"):
        _raise_pull_error("a:1", parse_image("a:1"), text, None)


def test_search_of_an_unreachable_registry_says_so(images: DockerImages) -> None:
    with pytest.raises(RegistryUnreachable, match="registry 127.0.0.1:5999 could not be reached"):
        images.search("127.0.0.1:5999/team/app", exact=False)
