"""Shared fixtures: the Docker Engine, the test image, and a running all-in-one Dockyard."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from cheroot import wsgi

from dockyard.cmd.all_in_one_node import AllInOne, build
from dockyard.cmd.configuration import load_config
from dockyard.domain.models import LABEL_HOST

TEST_IMAGE = os.environ.get("DOCKYARD_TEST_IMAGE", "dockyard-test/busybox:latest")
REGISTRY_IMAGE = f"127.0.0.1:5001/{TEST_IMAGE}"
#: The registry that demands a login (scripts/ensure-private-registry.sh) and its user.
PRIVATE_REGISTRY = "127.0.0.1:5002"
PRIVATE_IMAGE = f"{PRIVATE_REGISTRY}/{TEST_IMAGE}"
PRIVATE_USER = os.environ.get("DOCKYARD_PRIVATE_REGISTRY_USER", "dockyard-test")
PRIVATE_PASSWORD = os.environ.get("DOCKYARD_PRIVATE_REGISTRY_PASSWORD", "Pr1vate-Registry-Pw")
LATEST = "container 1.40"


def require(condition: bool, why: str) -> None:
    """Skip locally, but fail under CI: CI must have installed everything."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        require(False, f"a running Docker Engine ({exc}); run scripts/ensure-docker.sh")
        raise
    try:
        client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        require(False, f"the test image {TEST_IMAGE}; run scripts/build-test-image.sh")
    yield client
    client.close()


def require_private_registry(client: docker.DockerClient) -> None:
    """The login-protected registry, with no copy of its image left in the engine."""
    try:
        status = requests.get(f"http://{PRIVATE_REGISTRY}/v2/", timeout=5).status_code
    except requests.ConnectionError:
        status = 0
    require(status == 401, f"a registry demanding a login on {PRIVATE_REGISTRY} (got {status}); "
            "run scripts/ensure-private-registry.sh")  # fmt: skip
    forget_private_image(client)


def forget_private_image(client: docker.DockerClient) -> None:
    """Drop the engine's copy of the private image, so the next use must pull it."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(PRIVATE_IMAGE, force=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dockyard:
    """A running all-in-one service and an HTTP client for it."""

    url: str
    host: str
    node: AllInOne
    session: requests.Session
    docker: docker.DockerClient

    def request(self, method: str, path: str, version: str = LATEST, **kw: Any) -> Any:
        headers = {"OpenStack-API-Version": version, **kw.pop("headers", {})}
        return self.session.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def create(self, body: dict[str, Any], run: bool = True, version: str = LATEST) -> Any:
        body = {"image": TEST_IMAGE, "memory": 32, "cpu": 0.1, **body}
        path = "/v1/containers" + ("?run=true" if run else "")
        return self.request("POST", path, version, json=body)

    def show(self, ident: str) -> dict[str, Any]:
        response = self.request("GET", f"/v1/containers/{ident}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for(self, ident: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        """Poll until the container is idle in one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.show(ident)
            if current["status"] in statuses and current["task_state"] is None:
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"{ident} stayed {current['status']}/{current['task_state']}")
            time.sleep(0.1)

    def wait_gone(self, ident: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.request("GET", f"/v1/containers/{ident}").status_code != 404:
            assert time.monotonic() < deadline, f"{ident} was not deleted"
            time.sleep(0.1)

    def engine_containers(self) -> list[Any]:
        return list(
            self.docker.containers.list(all=True, filters={"label": f"{LABEL_HOST}={self.host}"})
        )


def start_dockyard(
    tmp: Path,
    client: docker.DockerClient,
    sync_interval: int = 2,
    extra_config: Sequence[str] = (),
) -> Dockyard:
    """Serve an all-in-one Dockyard in this process; ``extra_config``: more ini lines
    (sections may repeat, e.g. ``[DEFAULT]`` / ``auth_strategy = keystone``)."""
    host = f"test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    conf_file = tmp / "dockyard.conf"
    lines = [
        "[DEFAULT]",
        f"host = {host}",
        f"data_dir = {tmp / 'data'}",
        # The default is local; tests ask for another strategy through extra_config.
        "auth_strategy = noauth",
        "[compute]",
        f"sync_interval = {sync_interval}",
        "[api]",
        f"port = {port}",
        "shutdown_timeout = 10",
        # Many services share this machine: each console proxy takes a free port.
        "[websocket_proxy]",
        "wsproxy_port = 0",
        # Installations share the engine, which refuses overlapping bridges: each run
        # carves its project networks from a pool of its own.
        "[network]",
        f"project_network_pool = {private_network_pool(client)}",
        *extra_config,
    ]
    conf_file.write_text("\n".join(lines) + "\n")
    conf = load_config([f"--config-file={conf_file}"])
    node = build(conf)
    node.agent.start()
    server = wsgi.Server(("127.0.0.1", port), node.app, numthreads=8)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    node.server = server  # type: ignore[attr-defined]
    return Dockyard(f"http://127.0.0.1:{port}", host, node, requests.Session(), client)


def private_network_pool(client: docker.DockerClient | None = None) -> str:
    """A /20 (16 project networks) for one test installation, apart from every subnet
    the engine holds now (the engine refuses overlapping bridges) and from the
    default pool 10.100.0.0/16; concurrent runs rarely pick the same of ~2300."""
    client = client or docker.from_env()
    taken = [
        ipaddress.ip_network(config["Subnet"], strict=False)
        for network in client.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
        if config.get("Subnet")
    ]
    default = ipaddress.ip_network("10.100.0.0/16")
    while True:
        pool = ipaddress.ip_network(
            f"10.{random.randint(101, 250)}.{16 * random.randint(0, 15)}.0/20"
        )
        if not pool.overlaps(default) and not any(pool.overlaps(t) for t in taken):
            return str(pool)


def stop_dockyard(service: Dockyard) -> None:
    service.node.server.stop()  # type: ignore[attr-defined]
    if service.node.watch is not None:  # the neutron driver's loop
        service.node.watch.stop()
    service.node.agent.stop(timeout=10)
    for container in service.engine_containers():
        container.remove(force=True)
    for network in service.docker.networks.list(filters={"label": f"{LABEL_HOST}={service.host}"}):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()
    service.node.db.dispose()
    service.session.close()


@pytest.fixture(scope="module")
def dockyard(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    service = start_dockyard(tmp_path_factory.mktemp("dockyard"), docker_client)
    yield service
    stop_dockyard(service)
