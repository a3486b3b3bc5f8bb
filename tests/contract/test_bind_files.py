"""Bind mounts' files extracted into a created container by the real engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from dockyard.domain.bind_files import bind_archive
from dockyard.domain.volumes import parse_mounts
from tests.contract.network_support import IMAGE, engine

pytestmark = pytest.mark.docker


@pytest.fixture
def client() -> Iterator[docker.DockerClient]:
    made = engine()
    yield made
    made.close()


def test_injected_files_are_there_when_the_container_starts(client: docker.DockerClient) -> None:
    mounts = parse_mounts(
        [
            {"type": "bind", "source": "aGVsbG8K", "destination": "/etc/greeting"},
            {"type": "bind", "source": "", "destination": "/opt/new/dir/empty"},
            {"type": "bind", "source": "cm9vdDp4OjA6MDo6L3Jvb3Q6L2Jpbi9zaAo=",
             "destination": "/etc/passwd"},
        ]
    )  # fmt: skip
    archive = bind_archive(mounts)
    assert archive is not None
    command = "cat /etc/greeting /etc/passwd; stat -c '%a %s %U' /etc/greeting /opt/new/dir/empty"
    name = f"dockyard-bindtest-{uuid.uuid4().hex[:12]}"
    client.api.create_container(IMAGE, command=["sh", "-c", command], name=name)
    try:
        assert client.api.put_archive(name, "/", archive)
        client.api.start(name)
        assert client.api.wait(name, timeout=60)["StatusCode"] == 0
        assert bytes(client.api.logs(name)).decode() == (
            "hello\nroot:x:0:0::/root:/bin/sh\n644 6 root\n644 0 root\n"
        )
    finally:
        client.api.remove_container(name, force=True)
