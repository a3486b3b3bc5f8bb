"""The Glance image driver against a real glance-api behind a real Keystone and the real
engine: images by name or id, one download per host, checksums, commit to Glance,
search, and the refusals."""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import tarfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.domain.errors import DriverError
from dockyard.domain.glance_settings import GlanceConfig
from dockyard.domain.labels import LABEL_CONTAINER_ID
from dockyard.drivers.image.glance_client import GlanceClient
from tests.conftest import (
    TEST_IMAGE,
    Dockyard,
    free_port,
    require,
    start_dockyard,
    stop_dockyard,
)
from tests.e2e.test_openstack_cli import Service
from tests.support.glance import DOCKYARD_PASSWORD, DOCKYARD_USER, Glance
from tests.support.glance import VENV as GLANCE_VENV
from tests.support.keystone import VENV as KEYSTONE_VENV
from tests.support.keystone import Keystone, behind_keystone

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def glance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Glance]:
    require(
        (KEYSTONE_VENV / "keystone-manage").exists(), "Keystone; run scripts/ensure-keystone.sh"
    )
    require((GLANCE_VENV / "glance-manage").exists(), "Glance; run scripts/ensure-glance.sh")
    state = Path(tmp_path_factory.mktemp("glance-cloud"))

    def glance_on(keystone: Keystone) -> Glance:
        keystone.project("service")
        return Glance(state / "glance", free_port(), keystone)

    with behind_keystone(state, free_port(), glance_on) as server:
        yield server


@pytest.fixture(scope="module")
def saved_image(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Path:
    """``docker save`` of the test image."""
    path = Path(tmp_path_factory.mktemp("saved")) / "image.tar"
    with path.open("wb") as sink:
        for chunk in docker_client.api.get_image(TEST_IMAGE):
            sink.write(chunk)
    return path


@pytest.fixture(scope="module")
def cloud(
    glance: Glance, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dockyard]:
    service = start_dockyard(
        tmp_path_factory.mktemp("dockyard"),
        docker_client,
        extra_config=[
            "[DEFAULT]",
            "image_driver_list = docker,glance",
            "[glance]",
            f"auth_url = {glance.keystone.url}",
            f"username = {DOCKYARD_USER}",
            f"password = {DOCKYARD_PASSWORD}",
            "project_name = service",
        ],
    )
    yield service
    stop_dockyard(service)
    for image in docker_client.api.images(name="glance"):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.api.remove_image(image["Id"], force=True)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _run(cloud: Dockyard, image: str) -> dict[str, object]:
    answer = cloud.create({"image": image, "image_driver": "glance", "command": ["sleep", "300"]})
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def _gone(cloud: Dockyard, uuid_: str) -> None:
    cloud.request("DELETE", f"/v1/containers/{uuid_}?force=true")
    cloud.wait_gone(uuid_)


def test_a_glance_image_runs_by_name_and_by_id_and_is_downloaded_once(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    name = _name("Web Server")  # a Glance name need not be an image reference
    image_id = glance.upload(name, saved_image)
    first = cloud.wait_for(str(_run(cloud, name)["uuid"]), "Running", timeout=60)
    assert first["image"] == name and first["image_driver"] == "glance"
    second = cloud.wait_for(str(_run(cloud, image_id)["uuid"]), "Running", timeout=60)
    assert glance.downloads(image_id) == 1
    assert cloud.docker.api.inspect_image(f"glance/{image_id}:latest")["Id"]
    for container in (first, second):
        _gone(cloud, str(container["uuid"]))


def test_commit_uploads_to_glance_and_that_image_runs(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    name = _name("base")
    glance.upload(name, saved_image)
    source = cloud.wait_for(str(_run(cloud, name)["uuid"]), "Running", timeout=60)
    ran = cloud.request(
        "POST",
        f"/v1/containers/{source['uuid']}/execute",
        json={"command": "sh -c 'echo committed > /marker'"},
    )
    assert ran.status_code == 200, ran.text
    repository = _name("snapshot")
    answer = cloud.request(
        "POST", f"/v1/containers/{source['uuid']}/commit?repository={repository}&tag=v1"
    )
    assert answer.status_code == 202, answer.text
    committed = str(answer.json()["uuid"])
    deadline = time.monotonic() + 60
    while (record := glance.image(committed))["status"] != "active":
        assert record["status"] in ("queued", "saving"), record
        assert time.monotonic() < deadline, record
        time.sleep(0.3)
    assert (record["container_format"], record["disk_format"]) == ("docker", "raw")
    assert record["name"] == repository and record["tags"] == ["v1"]
    child = cloud.wait_for(str(_run(cloud, committed)["uuid"]), "Running", timeout=60)
    shown = cloud.request(
        "POST", f"/v1/containers/{child['uuid']}/execute", json={"command": "cat /marker"}
    )
    assert shown.json()["output"].strip() == "committed"
    for container in (source, child):
        _gone(cloud, str(container["uuid"]))


@pytest.fixture(scope="module")
def marked_image(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Path:
    """``docker save`` of the test image with a ``/marker`` file holding "v2"."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, data in (
            ("Dockerfile", f"FROM {TEST_IMAGE}\nCOPY marker /marker\n".encode()),
            ("marker", b"v2\n"),
        ):
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    context.seek(0)
    tag = f"dockyard-test/glance-marked:{uuid.uuid4().hex[:8]}"
    built, _ = docker_client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    path = Path(tmp_path_factory.mktemp("marked")) / "image.tar"
    try:
        with path.open("wb") as sink:
            for chunk in docker_client.api.get_image(tag):
                sink.write(chunk)
    finally:
        docker_client.api.remove_image(built.id, force=True)
    return path


def _execute(cloud: Dockyard, uuid_: str, command: str) -> tuple[int, str]:
    ran = cloud.request(
        "POST", f"/v1/containers/{uuid_}/execute", json={"command": f"sh -c '{command}'"}
    )
    assert ran.status_code == 200, ran.text
    return int(ran.json()["exit_code"]), str(ran.json()["output"])


def _engine_id(cloud: Dockyard, uuid_: str) -> str:
    [found] = cloud.docker.api.containers(
        all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid_}"}
    )
    return str(found["Id"])


def _rebuilt(cloud: Dockyard, uuid_: str, **body: str) -> dict[str, object]:
    before = _engine_id(cloud, uuid_)
    answer = cloud.request("POST", f"/v1/containers/{uuid_}/rebuild", json=body)
    assert answer.status_code == 202, answer.text
    shown = cloud.wait_for(uuid_, "Running", "Error", timeout=90)
    assert shown["status"] == "Running", shown["status_reason"]
    assert _engine_id(cloud, uuid_) != before
    return shown


def test_a_glance_container_rebuilds_from_its_cached_image_and_onto_a_new_one(
    cloud: Dockyard, glance: Glance, saved_image: Path, marked_image: Path
) -> None:
    name = _name("rebuild me")
    image_id = glance.upload(name, saved_image)
    made = str(_run(cloud, name)["uuid"])
    cloud.wait_for(made, "Running", timeout=60)
    assert _execute(cloud, made, "echo old > /scratch")[0] == 0

    # Its own image: already loaded on the host, so nothing is downloaded again.
    same = _rebuilt(cloud, made)
    assert (same["image"], same["image_driver"]) == (name, "glance")
    assert glance.downloads(image_id) == 1
    assert _execute(cloud, made, "cat /scratch")[0] != 0  # a new container, from the image

    # Another Glance image: downloaded (once), and the container runs it.
    newer = _name("rebuild v2")
    newer_id = glance.upload(newer, marked_image)
    moved = _rebuilt(cloud, made, image=newer)
    assert (moved["image"], moved["image_driver"]) == (newer, "glance")
    assert glance.downloads(newer_id) == 1
    assert _execute(cloud, made, "cat /marker") == (0, "v2\n")
    assert cloud.docker.api.inspect_container(_engine_id(cloud, made))["Config"]["Image"] == (
        f"glance/{newer_id}:latest"
    )

    # Glance has no such image: 400 before anything changes.
    engine_id = _engine_id(cloud, made)
    missing = cloud.request(
        "POST", f"/v1/containers/{made}/rebuild", json={"image": _name("nothing")}
    )
    assert missing.status_code == 400, missing.text
    assert "was not found in Glance" in missing.text
    unchanged = cloud.show(made)
    assert (unchanged["status"], unchanged["image"], unchanged["task_state"]) == (
        "Running",
        newer,
        None,
    )
    assert _engine_id(cloud, made) == engine_id
    _gone(cloud, made)


def test_a_corrupt_download_fails_the_create_naming_the_checksum(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    name = _name("corrupt")
    image_id = glance.upload(name, saved_image)
    stored = glance.store / image_id
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes: only the checksum can tell
    stored.write_bytes(bytes(data))
    made = _run(cloud, name)
    failed = cloud.wait_for(str(made["uuid"]), "Error", timeout=60)
    assert "checksum mismatch" in failed["status_reason"]
    with pytest.raises(docker.errors.ImageNotFound):
        cloud.docker.images.get(f"glance/{image_id}:latest")
    _gone(cloud, str(made["uuid"]))


def test_unknown_and_non_docker_images_are_refused_before_anything_is_made(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    before = len(cloud.request("GET", "/v1/containers").json()["containers"])
    unknown = cloud.create({"image": _name("nothing"), "image_driver": "glance"})
    assert unknown.status_code == 400, unknown.text
    assert "was not found in Glance" in unknown.text
    bare = _name("bare")
    glance.upload(bare, saved_image, container_format="bare")
    wrong = cloud.create({"image": bare, "image_driver": "glance"})
    assert wrong.status_code == 400, wrong.text
    assert "container_format 'bare', not 'docker'" in wrong.text
    assert len(cloud.request("GET", "/v1/containers").json()["containers"]) == before


def test_search_with_the_glance_driver_lists_glance_docker_images(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    name = _name("findme")
    image_id = glance.upload(name, saved_image)
    glance.upload(name + "-bare", saved_image, container_format="bare")
    found = cloud.request("GET", f"/v1/images/{name}/search?image_driver=glance")
    assert found.status_code == 200, found.text
    assert [(i["id"], i["name"]) for i in found.json()] == [(image_id, name)]
    exact = cloud.request(
        "GET", f"/v1/images/{name[:-2]}/search?image_driver=glance&exact_match=true"
    )
    assert exact.json() == []


def test_the_openstack_cli_runs_and_searches_glance_images(
    cloud: Dockyard, glance: Glance, saved_image: Path
) -> None:
    name = _name("cli")
    image_id = glance.upload(name, saved_image)
    osc = Service(f"{cloud.url}/v1", cloud.host, Path(os.devnull), cloud.docker)
    found = osc.json(
        "appcontainer", "image", "search", "-f", "json", "--image-driver", "glance", name
    )
    assert [(i["ID"], i["Name"], i["Status"]) for i in found] == [(image_id, name, "active")]
    made = osc.json("appcontainer", "run", "--image-driver", "glance", name, "sleep", "300")
    running = cloud.wait_for(str(made["uuid"]), "Running", timeout=60)
    assert (running["image"], running["image_driver"]) == (name, "glance")
    _gone(cloud, str(made["uuid"]))


def test_an_unreachable_glance_is_named(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = GlanceClient(GlanceConfig(api_servers=(nowhere,), timeout=5))
    with pytest.raises(DriverError, match="could not be reached"):
        client.find("anything")
    service = start_dockyard(
        tmp_path_factory.mktemp("dockyard-no-glance"),
        docker_client,
        extra_config=["[DEFAULT]", "image_driver_list = docker,glance", "[glance]",
                      f"api_servers = {nowhere}", "timeout = 5"],
    )  # fmt: skip
    try:
        made = service.create({"image": "web", "image_driver": "glance"})
        assert made.status_code == 502, made.text
        assert f"Glance ({nowhere}) could not be reached" in made.text
        assert service.request("GET", "/v1/containers").json()["containers"] == []
        found = service.request("GET", "/v1/images/web/search?image_driver=glance")
        assert found.status_code == 502 and "could not be reached" in found.text
    finally:
        stop_dockyard(service)


class _Gigabytes(http.server.BaseHTTPRequestHandler):
    """Serves STREAMED_MIB of image data, produced as it is sent (never whole)."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(STREAMED_MIB * 2**20))
        self.end_headers()
        block = b"\x5a" * 2**20
        for _ in range(STREAMED_MIB):
            self.wfile.write(block)

    def log_message(self, *args: object) -> None:
        pass


STREAMED_MIB = 96


def test_a_download_is_streamed_to_its_file_never_held_in_memory(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gigabytes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = GlanceClient(GlanceConfig(api_servers=(url,), timeout=30))
    chunks: list[int] = []
    tracemalloc.start()
    try:
        with (tmp_path / "image.tar").open("wb") as sink:
            client.download(str(uuid.uuid4()), sink, lambda chunk: chunks.append(len(chunk)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert (tmp_path / "image.tar").stat().st_size == sum(chunks) == STREAMED_MIB * 2**20
    assert len(chunks) >= STREAMED_MIB  # many chunks, each shown as it came
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MiB held at once"
