"""End to end: `openstack appcontainer registry ...` against `dockyard up`, pulling from a
registry that demands a login, across a restart (the generated encryption key is kept)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import (
    PRIVATE_IMAGE,
    PRIVATE_PASSWORD,
    PRIVATE_REGISTRY,
    PRIVATE_USER,
    forget_private_image,
    require_private_registry,
)
from tests.e2e.process import Instance, stop
from tests.e2e.test_openstack_cli import Service

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]


def registry(service: Service, *args: str) -> Any:
    """`openstack appcontainer registry <verb> -f json <args>`."""
    verb, rest = args[0], args[1:]
    return json.loads(service.ok("appcontainer", "registry", verb, "-f", "json", *rest))


@pytest.fixture(scope="module")
def instance(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Instance]:
    require_private_registry(docker_client)
    instance = Instance.new(
        tmp_path_factory.mktemp("registries-e2e"),
        prefix="e2e-reg",
        extra_config=["[DEFAULT]", "default_image_pull_policy = always"],
    )
    yield instance
    for container in docker_client.containers.list(all=True):
        if container.labels.get("dockyard.host") == instance.host:
            container.remove(force=True)
    forget_private_image(docker_client)


def test_registry_commands_and_a_private_pull_across_a_restart(
    instance: Instance, docker_client: docker.DockerClient
) -> None:
    service = Service(f"{instance.url}/v1", instance.host, instance.log, docker_client)
    process = instance.start()
    try:
        created = registry(
            service, "create", "--name", "e2e-private", "--domain", PRIVATE_REGISTRY,
            "--username", "someone", "--password", "Wrong-At-First-9",
        )  # fmt: skip
        assert created["name"] == "e2e-private" and created["password"] == "***"
        [listed] = registry(service, "list")
        assert listed["uuid"] == created["uuid"] and listed["password"] == "***"
        assert set(listed) == {"uuid", "name", "domain", "username", "password"}

        service.ok(
            "appcontainer", "registry", "update", "e2e-private",
            "--username", PRIVATE_USER, "--password", PRIVATE_PASSWORD,
        )  # fmt: skip
        shown = registry(service, "show", "e2e-private")
        assert shown["username"] == PRIVATE_USER and shown["password"] == "***"

        key_file = Path(instance.root / "data" / "registry.key")
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text()
        assert stop(process) == 0
        process = instance.start()
        assert key_file.read_text() == key

        # After the restart the stored password still decrypts: the pull logs in.
        forget_private_image(docker_client)
        run = service.json(
            "appcontainer", "run", "--name", "e2e-private-web", "--registry", "e2e-private",
            PRIVATE_IMAGE, *SLEEPER,
        )  # fmt: skip
        assert run["registry_id"] == created["uuid"]
        running = service.wait_status("e2e-private-web", "Running", timeout=60)
        assert running["registry_id"] == created["uuid"]

        in_use = service.osc("appcontainer", "registry", "delete", "e2e-private")
        assert "used by 1 container" in in_use.stdout + in_use.stderr
        assert registry(service, "show", "e2e-private")["uuid"] == created["uuid"]

        service.ok("appcontainer", "delete", "--stop", "e2e-private-web")
        service.wait_deleted("e2e-private-web")
        service.ok("appcontainer", "registry", "delete", "e2e-private")
        assert registry(service, "list") == []
    finally:
        code = stop(process)
    assert code == 0
    deadline = time.monotonic() + 5
    while not instance.log.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    text = instance.log.read_text(errors="replace")
    assert "Dockyard is serving" in text
    for secret in (PRIVATE_PASSWORD, "Wrong-At-First-9", key.strip()):
        assert secret not in text, "a secret reached the service log"
