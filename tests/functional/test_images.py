"""The images API on the real engine and the machine's registries (api-other §8).

One all-in-one service for the module (noauth: one admin project), syncing images
every 2 s. A multi-layer image is built and pushed to the registry on
127.0.0.1:5001 once, then pulled through the API: its progress (layers, bytes)
is watched on the record and on a container that pulls it.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import pytest
import requests

from dockyard.domain.image_records import ImageStatus, PullProgress
from dockyard.rpc.messages import ContainerReport, ImageReport
from tests.conftest import (
    PRIVATE_REGISTRY,
    TEST_IMAGE,
    Dockyard,
    require,
    start_dockyard,
    stop_dockyard,
)

pytestmark = pytest.mark.docker

REGISTRY = "127.0.0.1:5001"
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"]
#: Three layers of random bytes on top of the test image: a pull with progress to show.
LAYERS = 3
LAYER_BYTES = 6_000_000


def _require_registry() -> None:
    try:
        status = requests.get(f"http://{REGISTRY}/v2/", timeout=5).status_code
    except requests.ConnectionError:
        status = 0
    require(status == 200, f"a registry on {REGISTRY} (run scripts/ensure-registry.sh)")


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    _require_registry()
    started = start_dockyard(tmp_path_factory.mktemp("images"), docker_client, sync_interval=2)
    yield started
    stop_dockyard(started)


def _forget(client: docker.DockerClient, reference: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(reference, force=True)


@pytest.fixture(scope="module")
def layered(docker_client: docker.DockerClient) -> Iterator[str]:
    """A fresh multi-layer image in the registry, absent from the engine."""
    _require_registry()
    reference = f"{REGISTRY}/dockyard-test/layers-{uuid.uuid4().hex[:8]}:v1"
    steps = "".join(f"RUN head -c {LAYER_BYTES} /dev/urandom > /layer{n}\n" for n in range(LAYERS))
    dockerfile = f"FROM {TEST_IMAGE}\n{steps}"
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=reference, rm=True, pull=False
    )
    for line in docker_client.api.push(reference, stream=True, decode=True):
        assert "error" not in line, line
    _forget(docker_client, reference)
    yield reference
    _forget(docker_client, reference)


def _images(service: Dockyard, **params: Any) -> list[dict[str, Any]]:
    answer = service.request("GET", "/v1/images", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["images"])


def _pull(service: Dockyard, repo: str) -> dict[str, Any]:
    answer = service.request("POST", "/v1/images", json={"repo": repo, "host": service.host})
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"].endswith(f"/v1/images/{answer.json()['uuid']}")
    return dict(answer.json())


def _wait_image(service: Dockyard, ident: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = service.request("GET", f"/v1/images/{ident}").json()
        if record["status"] != "pulling":
            return dict(record)
        assert time.monotonic() < deadline, f"image {ident} still pulling: {record}"
        time.sleep(0.2)


def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


class _Tap:
    """Wraps the agent's control side to keep a copy of what it reports."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.image_reports: list[tuple[float, ImageReport]] = []
        self.container_reports: list[tuple[float, ContainerReport]] = []
        self.applied: list[bool] = []

    def report_image(self, message: ImageReport) -> bool:
        applied = bool(self.inner.report_image(message))
        self.image_reports.append((time.monotonic(), message))
        self.applied.append(applied)
        return applied

    def report(self, message: ContainerReport) -> bool:
        self.container_reports.append((time.monotonic(), message))
        return bool(self.inner.report(message))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextlib.contextmanager
def _tapped(service: Dockyard) -> Iterator[_Tap]:
    agent = service.node.agent
    tap = _Tap(agent.control)
    agent.image_ops.control, agent.ops.control = tap, tap  # type: ignore[assignment]
    try:
        yield tap
    finally:
        agent.image_ops.control, agent.ops.control = tap.inner, tap.inner


def _until_unrecorded(service: Dockyard, reference: str) -> None:
    """Wait for a sync to drop the record of a tag just removed from the engine."""
    repo, tag = reference.rsplit(":", 1)
    _until(
        lambda: all((i["repo"], i["tag"]) != (repo, tag) for i in _images(service)),
        f"the record of {reference} to go",
    )


def _assert_progress_grows(progress: list[PullProgress]) -> None:
    assert progress, "no progress was reported"
    last = progress[-1]
    # The base layer already exists; the three random ones are downloaded.
    assert last.layers_total == LAYERS + 1
    assert last.layers_done == LAYERS + 1
    assert last.bytes_total >= LAYERS * LAYER_BYTES * 0.9  # compressed random data
    assert last.bytes_done == last.bytes_total
    dones = [p.bytes_done for p in progress]
    assert dones == sorted(dones), "bytes done went backwards"


# -- pull, show, list, delete -------------------------------------------------------


def test_pull_shows_progress_then_the_image_id_and_size(
    service: Dockyard, layered: str, docker_client: docker.DockerClient
) -> None:
    _until_unrecorded(service, layered)
    with _tapped(service) as tap:
        created = _pull(service, layered)
        assert created["status"] == "pulling"
        assert (created["image_id"], created["size"]) == (None, None)
        assert created["host"] == service.host
        assert (created["repo"], created["tag"]) == (layered.rsplit(":", 1)[0], "v1")
        seen_progress: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while True:
            record = service.request("GET", f"/v1/images/{created['uuid']}").json()
            if record["status"] == "pulling" and record["progress"]:
                seen_progress.append(record["progress"])
            if record["status"] != "pulling":
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert record["status"] == "ready", record
    engine = docker_client.images.get(layered)
    assert record["image_id"] == engine.id
    assert record["size"] == str(engine.attrs["Size"])
    assert record["progress"] is None and record["status_reason"] is None
    reports = [r for _, r in tap.image_reports if r.uuid == created["uuid"]]
    progress = [r.progress for r in reports if r.progress is not None]
    _assert_progress_grows(progress)
    assert reports[-1].status == ImageStatus.READY
    # Throttled: at most one report per second (plus the flush and the outcome).
    times = [t for t, r in tap.image_reports if r.progress is not None]
    assert len(times) <= (times[-1] - times[0]) + 2
    # Every report reached the record (it was pulling until the last one).
    assert all(tap.applied)
    # A client polling the record saw bytes and layers while it pulled.
    assert seen_progress
    for shown in seen_progress:
        assert set(shown) == {"layers_done", "layers_total", "bytes_done", "bytes_total"}

    listed = {i["uuid"]: i for i in _images(service)}
    assert listed[created["uuid"]]["image_id"] == engine.id
    again = service.request("POST", "/v1/images", json={"repo": layered, "host": service.host})
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["code"] == "container.image-already-exists"

    deleted = service.request("DELETE", f"/v1/images/{created['uuid']}")
    assert (deleted.status_code, deleted.text) == (200, "null")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(layered)
    assert service.request("GET", f"/v1/images/{created['uuid']}").status_code == 404


def test_a_container_pulling_shows_progress_in_status_detail(
    service: Dockyard, layered: str, docker_client: docker.DockerClient
) -> None:
    _forget(docker_client, layered)
    _until_unrecorded(service, layered)
    with _tapped(service) as tap:
        answer = service.create({"image": layered, "command": QUICK_STOP})
        assert answer.status_code == 202, answer.text
        container = service.wait_for(answer.json()["uuid"], "Running", timeout=90)
    details = [
        r.change.detail
        for _, r in tap.container_reports
        if r.uuid == container["uuid"] and r.change.detail
    ]
    assert details, "no progress reached the container's status_detail"
    # The last report, flushed after the stream ended, has every layer and byte.
    done, total = details[-1].split(", ")[1].removesuffix(" MB").split("/")
    assert details[-1].startswith(f"Pulling image: {LAYERS + 1}/{LAYERS + 1} layers, ")
    assert done == total and float(total) >= LAYERS * LAYER_BYTES * 0.9 / 1e6
    assert all(d.startswith("Pulling image: ") and d.endswith(" MB") for d in details)
    assert container["status_detail"].startswith("Up")

    # The reconcile loop records the image the container pulled, in its project.
    repo = layered.rsplit(":", 1)[0]
    record = _until(
        lambda: next((i for i in _images(service) if i["repo"] == repo), None),
        "the create's image to be recorded",
    )
    assert record["project_id"] == container["project_id"]
    assert record["status"] == "ready"

    # In use: refused, and the engine keeps it.
    refused = service.request("DELETE", f"/v1/images/{record['uuid']}")
    assert refused.status_code == 409, refused.text
    assert container["uuid"] in refused.json()["errors"][0]["detail"]
    docker_client.images.get(layered)

    stopped = service.request("DELETE", f"/v1/containers/{container['uuid']}?stop=true")
    assert stopped.status_code == 204, stopped.text
    service.wait_gone(container["uuid"])
    assert service.request("DELETE", f"/v1/images/{record['uuid']}").status_code == 200


def test_the_reconcile_loop_follows_the_engine(
    service: Dockyard, docker_client: docker.DockerClient
) -> None:
    """Tags made and removed behind Dockyard's back appear and go."""
    repo = f"dockyard-test/outside-{uuid.uuid4().hex[:8]}"
    docker_client.images.get(TEST_IMAGE).tag(repo, "t1")
    try:
        record = _until(
            lambda: next((i for i in _images(service) if i["repo"] == repo), None),
            "a tag made outside Dockyard to be recorded",
        )
        assert record["tag"] == "t1"
        assert record["image_id"] == docker_client.images.get(TEST_IMAGE).id
        assert record["project_id"] is None  # no container of any project uses it
    finally:
        _forget(docker_client, f"{repo}:t1")
    _until(
        lambda: all(i["repo"] != repo for i in _images(service)),
        "a tag removed outside Dockyard to leave the records",
    )
    # The test image, present before this service started, is recorded too.
    name, tag = TEST_IMAGE.rsplit(":", 1)
    assert any((i["repo"], i["tag"]) == (name, tag) for i in _images(service))


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        (f"{REGISTRY}/dockyard-test/no-such-image:1", "was not found in registry"),
        ("127.0.0.1:5999/dockyard-test/busybox:latest", "could not be reached"),
        (f"{PRIVATE_REGISTRY}/dockyard-test/busybox:latest", "refused authentication"),
    ],
    ids=["not-found", "unreachable", "unauthorised"],
)
def test_a_failed_pull_says_why(service: Dockyard, reference: str, says: str) -> None:
    created = _pull(service, reference)
    record = _wait_image(service, created["uuid"])
    assert record["status"] == "error"
    assert says in record["status_reason"]
    assert record["image_id"] is None
    # A failed pull may be tried again: the record is taken over, not duplicated.
    retried = _pull(service, reference)
    assert retried["status"] == "pulling"
    _wait_image(service, retried["uuid"])
    assert service.request("DELETE", f"/v1/images/{retried['uuid']}").status_code == 200


# -- paging -----------------------------------------------------------------------


def test_paging_follows_next_links(service: Dockyard) -> None:
    everything = _images(service)
    assert len(everything) >= 2
    first = service.request("GET", "/v1/images?limit=1").json()
    assert len(first["images"]) == 1 and first["next"] is not None
    assert first["next"].endswith(f"marker={first['images'][0]['uuid']}")
    path = first["next"].removeprefix(service.url)
    second = service.request("GET", path).json()
    assert second["images"][0]["uuid"] == everything[1]["uuid"]
    backwards = _images(service, sort_key="id", sort_dir="desc")
    assert [i["uuid"] for i in backwards] == [i["uuid"] for i in reversed(everything)]
    by_repo = [i["repo"] for i in _images(service, sort_key="repo")]
    assert by_repo == sorted(by_repo)


# -- search -----------------------------------------------------------------------


class _NoCatalog(http.server.BaseHTTPRequestHandler):
    """A registry front that serves the v2 API but not its catalog."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200 if self.path == "/v2/" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def no_catalog_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoCatalog)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_search_reads_the_registry_catalog(service: Dockyard, layered: str) -> None:
    repo = layered.rsplit(":", 1)[0]
    name = repo.removeprefix(f"{REGISTRY}/")
    answer = service.request("GET", f"/v1/images/{REGISTRY}/dockyard-test/layers/search")
    assert answer.status_code == 200, answer.text
    found = {i["name"]: i for i in answer.json()}
    assert repo in found
    assert found[repo]["tags"] == ["v1"]
    assert found[repo]["metadata"] == {"is_official": False, "star_count": 0}
    exact = service.request(
        "GET", f"/v1/images/{REGISTRY}/{name}/search", params={"exact_match": "true"}
    ).json()
    assert [i["name"] for i in exact] == [repo]
    partial = service.request(
        "GET", f"/v1/images/{REGISTRY}/dockyard-test/layers/search", params={"exact_match": "1"}
    ).json()
    assert partial == []


def test_search_where_the_registry_offers_none_is_a_clear_400(
    service: Dockyard, no_catalog_registry: str
) -> None:
    answer = service.request("GET", f"/v1/images/{no_catalog_registry}/team/app/search")
    assert answer.status_code == 400, answer.text
    assert "offers no search" in answer.json()["errors"][0]["detail"]


def test_search_of_a_registry_wanting_a_login(service: Dockyard) -> None:
    answer = service.request("GET", f"/v1/images/{PRIVATE_REGISTRY}/dockyard-test/search")
    assert answer.status_code == 400, answer.text
    error = answer.json()["errors"][0]
    assert error["code"] == "container.registry-auth-failed"
    assert "refused the search" in error["detail"]


# -- bad input: a precise 4xx, nothing recorded, nothing pulled ----------------------

DIGEST = "sha256:" + "a" * 64
GOOD = f"{REGISTRY}/dockyard-test/busybox:latest"


def _bad_pulls(host: str) -> list[tuple[str, Any, int, str]]:
    """(id, body, status, code) of pulls that must be refused."""
    return [
        ("no-repo", {"host": host}, 400, "schema-validation-error"),
        ("no-host", {"repo": GOOD}, 400, "schema-validation-error"),
        ("upper-case-name", {"repo": "Team/App", "host": host}, 400, "invalid-value"),
        ("spaces", {"repo": "bad image name", "host": host}, 400, "invalid-value"),
        ("too-short", {"repo": "a", "host": host}, 400, "schema-validation-error"),
        ("leading-dash", {"repo": "-app:1", "host": host}, 400, "invalid-value"),
        ("empty-tag", {"repo": "app:", "host": host}, 400, "invalid-value"),
        ("digest", {"repo": f"app@{DIGEST}", "host": host}, 400, "invalid-value"),
        ("unknown-host", {"repo": GOOD, "host": "no-such-host"}, 400, "invalid-value"),
        ("unknown-host-uuid", {"repo": GOOD, "host": str(uuid.uuid4())}, 400, "invalid-value"),
        ("extra-field", {"repo": GOOD, "host": host, "color": 1}, 400, "schema-validation-error"),
        ("tag-contradicts", {"repo": "app:v1", "tag": "v2", "host": host}, 400, "invalid-value"),
        ("bad-tag", {"repo": "app", "tag": "no spaces", "host": host}, 400, "invalid-value"),
        ("bad-policy", {"repo": GOOD, "host": host, "image_pull_policy": "sometimes"}, 400,
         "schema-validation-error"),
        ("bad-size", {"repo": GOOD, "host": host, "size": "12x"}, 400, "schema-validation-error"),
        ("repo-not-string", {"repo": 12, "host": host}, 400, "schema-validation-error"),
        ("body-a-list", [GOOD, host], 400, "invalid-value"),
    ]  # fmt: skip


BAD_READS = [
    ("limit-zero", "GET", "/v1/images?limit=0", 400, "invalid-value"),
    ("limit-text", "GET", "/v1/images?limit=ten", 400, "invalid-value"),
    ("limit-negative", "GET", "/v1/images?limit=-1", 400, "invalid-value"),
    ("limit-twice", "GET", "/v1/images?limit=1&limit=2", 400, "invalid-value"),
    ("sort-dir", "GET", "/v1/images?sort_dir=up", 400, "invalid-value"),
    ("sort-key", "GET", "/v1/images?sort_key=progress", 400, "invalid-parameter-value"),
    ("unknown-marker", "GET", f"/v1/images?marker={uuid.uuid4()}", 404, "image-not-found"),
    ("marker-not-uuid", "GET", "/v1/images?marker=first", 404, "image-not-found"),
    ("show-unknown", "GET", f"/v1/images/{uuid.uuid4()}", 404, "image-not-found"),
    ("show-a-name", "GET", "/v1/images/busybox", 404, "image-not-found"),
    ("delete-unknown", "DELETE", f"/v1/images/{uuid.uuid4()}", 404, "image-not-found"),
    ("delete-a-name", "DELETE", "/v1/images/busybox", 404, "image-not-found"),
    ("search-unknown-param", "GET", "/v1/images/busybox/search?color=red", 400,
     "schema-validation-error"),
    ("search-glance", "GET", "/v1/images/busybox/search?image_driver=glance", 400,
     "validation-error"),
    ("search-bad-driver", "GET", "/v1/images/busybox/search?image_driver=rkt", 400,
     "schema-validation-error"),
    ("search-exact-maybe", "GET", "/v1/images/busybox/search?exact_match=maybe", 400,
     "schema-validation-error"),
    ("search-bad-term", "GET", "/v1/images/Not%20An%20Image/search", 400, "invalid-value"),
]  # fmt: skip


def test_bad_input_is_refused_precisely_and_changes_nothing(
    service: Dockyard, docker_client: docker.DockerClient
) -> None:
    before = _images(service)
    engine_before = _tags(docker_client)
    cases = 0
    with _tapped(service) as tap:
        for name, body, status, code in _bad_pulls(service.host):
            answer = service.request("POST", "/v1/images", json=body)
            assert answer.status_code == status, (name, answer.text)
            assert answer.json()["errors"][0]["code"] == f"container.{code}", (name, answer.text)
            cases += 1
        for name, method, path, status, code in BAD_READS:
            answer = service.request(method, path)
            assert answer.status_code == status, (name, answer.text)
            assert answer.json()["errors"][0]["code"] == f"container.{code}", (name, answer.text)
            cases += 1
        for name, data, content_type, status in (
            ("not-json", b"repo=busybox", "text/plain", 415),
            ("broken-json", b'{"repo": ', "application/json", 400),
        ):
            answer = service.request(
                "POST", "/v1/images", data=data, headers={"Content-Type": content_type}
            )
            assert answer.status_code == status, (name, answer.text)
            cases += 1
        assert tap.image_reports == []  # no pull reached the agent
    assert cases >= 15
    after = _images(service)
    assert {i["uuid"] for i in after} == {i["uuid"] for i in before}
    # Only the names these requests gave: tests running beside this one pull images too.
    named = {
        _repository(str(body["repo"]))
        for _, body, _, _ in _bad_pulls(service.host)
        if isinstance(body, dict) and "repo" in body
    }
    appeared = _tags(docker_client) - engine_before
    assert not {tag for tag in appeared if _repository(tag) in named}


def _repository(reference: str) -> str:
    name, colon, tag = reference.rpartition(":")
    return name if colon and "/" not in tag else reference


def _tags(docker_client: docker.DockerClient) -> set[str]:
    return {tag for image in docker_client.images.list() for tag in image.tags}
