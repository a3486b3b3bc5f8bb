"""End to end: `openstack appcontainer image list/show/pull/delete/search` against
`dockyard up`, unchanged python-zunclient, the real engine and the registry on
127.0.0.1:5001."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest

from tests.conftest import TEST_IMAGE
from tests.e2e.process import Instance, stop
from tests.e2e.test_openstack_cli import POLL, Service

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

REGISTRY = "127.0.0.1:5001"
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Service]:
    instance = Instance.new(tmp_path_factory.mktemp("images-e2e"), prefix="e2e-img")
    process = instance.start()
    try:
        yield Service(f"{instance.url}/v1", instance.host, instance.log, docker_client)
        assert stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for container in docker_client.containers.list(all=True):
            if container.labels.get("dockyard.host") == instance.host:
                container.remove(force=True)


def image(service: Service, verb: str, *args: str) -> Any:
    return json.loads(service.ok("appcontainer", "image", verb, "-f", "json", *args))


def listed(service: Service) -> list[dict[str, Any]]:
    return list(image(service, "list"))


@pytest.fixture(scope="module")
def pushed(docker_client: docker.DockerClient) -> Iterator[str]:
    """A tag in the registry that the engine does not hold."""
    repo = f"{REGISTRY}/dockyard-test/osc-{uuid.uuid4().hex[:8]}"
    docker_client.images.get(TEST_IMAGE).tag(repo, "v1")
    try:
        for line in docker_client.api.push(repo, tag="v1", stream=True, decode=True):
            assert "error" not in line, line
    finally:
        docker_client.images.remove(f"{repo}:v1")
    yield repo
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(f"{repo}:v1")


def test_image_pull_show_list_search_delete(
    service: Service, pushed: str, docker_client: docker.DockerClient
) -> None:
    deadline = time.monotonic() + 30
    while any(i["repo"] == pushed for i in listed(service)):  # the sync drops the old tag
        assert time.monotonic() < deadline
        time.sleep(POLL)

    pulled = image(service, "pull", f"{pushed}:v1", service.host)
    assert (pulled["repo"], pulled["tag"], pulled["host"]) == (pushed, "v1", service.host)
    assert pulled["image_id"] is None
    deadline = time.monotonic() + 60
    while not (shown := image(service, "show", pulled["uuid"]))["image_id"]:
        assert shown["status"] == "pulling", shown
        assert time.monotonic() < deadline
        time.sleep(POLL)
    engine = docker_client.images.get(f"{pushed}:v1")
    assert shown["image_id"] == engine.id
    assert shown["size"] == str(engine.attrs["Size"])

    rows = {i["uuid"]: i for i in listed(service)}
    assert rows[pulled["uuid"]]["repo"] == pushed
    assert len(image(service, "list", "--limit", "1")) == 1

    found = image(service, "search", pushed, "--exact-match")
    # zunclient prints the columns ID, Name, Tags, Status, Size, Metadata.
    assert [f["Name"] for f in found] == [pushed]
    assert found[0]["Tags"] == ["v1"]

    service.ok("appcontainer", "image", "delete", pulled["uuid"])
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(f"{pushed}:v1")
    missing = service.osc("appcontainer", "image", "show", pulled["uuid"])
    assert missing.returncode != 0 and "could not be found" in missing.stderr


def test_image_delete_is_refused_while_a_container_uses_it(
    service: Service, docker_client: docker.DockerClient
) -> None:
    service.json("appcontainer", "run", "--name", "e2e-img-user", TEST_IMAGE, *SLEEPER)
    service.wait_status("e2e-img-user", "Running")
    name, tag = TEST_IMAGE.rsplit(":", 1)
    record = next(i for i in listed(service) if (i["repo"], i["tag"]) == (name, tag))
    refused = service.osc("appcontainer", "image", "delete", record["uuid"])
    # zunclient's `image delete` prints a refusal and exits 0.
    said = refused.stdout + refused.stderr
    assert "is used by 1 container" in said and "HTTP 409" in said, said
    docker_client.images.get(TEST_IMAGE)  # still there
    service.ok("appcontainer", "delete", "--stop", "e2e-img-user")
    service.wait_deleted("e2e-img-user")


def test_bad_image_requests_through_the_cli(service: Service) -> None:
    before = listed(service)
    for argv, says in (
        (("pull", "busybox", "no-such-host"), "does not exist. (HTTP 400)"),
        (("pull", "Not/An/Image", service.host), "not a valid image reference"),
        (("delete", str(uuid.uuid4())), "could not be found. (HTTP 404)"),
        (("search", "busybox", "--image-driver", "glance"), "(HTTP 400)"),
    ):
        answer = service.osc("appcontainer", "image", *argv)
        said = answer.stdout + answer.stderr
        assert says in said, (argv, said)
    assert listed(service) == before
