"""Image garbage collection on the real engine, driven by a byte budget.

Five images of one size are built and pushed to the registry on 127.0.0.1:5001: one is
pulled by hand before Dockyard (not Dockyard's), four through the images API. One of
those is used by a container, one is pinned; with all four the budget is exceeded and
removing the least recently used unused one is enough: exactly that one must go, from
the engine and from the API, and nothing else.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import pytest
import requests

from dockyard.drivers.image.docker import DockerImages
from dockyard.observability import metrics
from tests.conftest import TEST_IMAGE, Dockyard, require, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

REGISTRY = "127.0.0.1:5001"
BLOB_BYTES = 1_000_000


def _forget(client: docker.DockerClient, reference: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(reference, force=True)


@pytest.fixture(scope="module")
def pushed(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Five images of one size in the registry (their ids all differ), none on the engine."""
    try:
        status = requests.get(f"http://{REGISTRY}/v2/", timeout=5).status_code
    except requests.ConnectionError:
        status = 0
    require(status == 200, f"a registry on {REGISTRY} (run scripts/ensure-registry.sh)")
    run = uuid.uuid4().hex[:8]
    refs = {
        n: f"{REGISTRY}/dockyard-test/gc-{run}-{n}:v1"
        for n in ("used", "pinned", "old", "new", "foreign")
    }
    dockerfile = f"FROM {TEST_IMAGE}\nRUN head -c {BLOB_BYTES} /dev/urandom > /blob\n"
    for reference in refs.values():
        docker_client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=reference, rm=True, pull=False
        )
        for line in docker_client.api.push(reference, stream=True, decode=True):
            assert "error" not in line, line
        _forget(docker_client, reference)
    yield refs
    for reference in refs.values():
        _forget(docker_client, reference)


def _on_engine(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _records(service: Dockyard) -> dict[str, dict[str, Any]]:
    answer = service.request("GET", "/v1/images")
    assert answer.status_code == 200, answer.text
    return {f"{i['repo']}:{i['tag']}": i for i in answer.json()["images"]}


def _pull(service: Dockyard, reference: str) -> dict[str, Any]:
    answer = service.request("POST", "/v1/images", json={"repo": reference, "host": service.host})
    assert answer.status_code == 202, answer.text
    ident = answer.json()["uuid"]
    return dict(_until(lambda: _ready(service, ident), f"the pull of {reference}", 60))


def _ready(service: Dockyard, ident: str) -> dict[str, Any] | None:
    record = service.request("GET", f"/v1/images/{ident}").json()
    assert record["status"] != "error", record
    return dict(record) if record["status"] == "ready" else None


def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_the_least_recently_used_unused_image_dockyard_pulled_goes_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    pushed: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Present before Dockyard, the least recently used of all, unused: not Dockyard's.
    docker_client.images.pull(pushed["foreign"])
    size = int(docker_client.images.get(pushed["foreign"]).attrs["Size"])
    # Four images of `size` against 5.3 of them: 75 % is above the high mark (70 %);
    # one removed leaves 57 %, at most the low mark (60 %); three never reach the high one.
    service = start_dockyard(
        tmp_path_factory.mktemp("image-gc"),
        docker_client,
        sync_interval=1,
        extra_config=[
            "[compute]",
            "image_gc_interval = 1",
            "image_gc_high_percent = 70",
            "image_gc_low_percent = 60",
            f"image_gc_max_bytes = {int(5.3 * size)}",
            "image_gc_min_age = 0",
            f"image_gc_pinned = {pushed['pinned']}",
        ],
    )
    caplog.set_level(logging.INFO, logger="dockyard.compute.image_gc")
    removed_before = metrics.IMAGE_GC_REMOVED.labels(service.host)._value.get()
    try:
        # The used one first, and its container at once: it is never unused meanwhile.
        _pull(service, pushed["used"])
        created = service.create({"image": pushed["used"]}, run=False)
        assert created.status_code == 202, created.text
        service.wait_for(created.json()["uuid"], "Created")
        for name in ("pinned", "old", "new"):
            record = _pull(service, pushed[name])
            assert int(record["size"]) == size, record

        _until(lambda: not _on_engine(docker_client, pushed["old"]), "the collection", 30)
        _until(lambda: pushed["old"] not in _records(service), "the record to go", 10)
        # Two more collections: they must find the store below its high mark.
        time.sleep(2.5)
        for name in ("used", "pinned", "new", "foreign"):
            assert _on_engine(docker_client, pushed[name]), f"{name} was removed"
        records = _records(service)
        assert {pushed[n] for n in ("used", "pinned", "new", "foreign")} <= set(records)
        assert pushed["old"] not in records
        lines = [r.getMessage() for r in caplog.records if "removed" in r.getMessage()]
        assert len(lines) == 1 and pushed["old"] in lines[0] and "last used" in lines[0], lines
        assert metrics.IMAGE_GC_REMOVED.labels(service.host)._value.get() == removed_before + 1
    finally:
        stop_dockyard(service)


def test_the_engine_tells_its_store_and_the_images_its_containers_use(
    docker_client: docker.DockerClient,
) -> None:
    images = DockerImages(docker_client)
    usage = images.store_usage()
    root = docker_client.api.info()["DockerRootDir"]
    fs = os.statvfs(root)
    assert usage is not None and usage.capacity == fs.f_blocks * fs.f_frsize
    assert 0 < usage.used <= usage.capacity
    # An engine reached over TCP may be on another machine: its data root is not ours.
    remote = DockerImages(docker.DockerClient(base_url="tcp://127.0.0.1:1", version="1.41"))
    assert remote.store_usage() is None

    container = docker_client.containers.create(TEST_IMAGE, ["true"])
    try:
        assert docker_client.images.get(TEST_IMAGE).id in images.images_in_use()
    finally:
        container.remove(force=True)
