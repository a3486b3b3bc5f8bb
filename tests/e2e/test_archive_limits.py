"""Archives of a gigabyte: refused with 413 while `dockyard up` stays small.

One `dockyard up` (API and agent in one process), one container holding a 1 GiB
file. get_archive of it is refused as soon as the engine's stream passes
``[compute] max_archive_size``; put_archive of a 1 GiB body is refused from its
announced length, before the body is read. The process's peak RSS (VmHWM) tells
that neither was ever held in memory.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.labels import LABEL_HOST
from tests.conftest import LATEST, TEST_IMAGE
from tests.e2e.process import Instance, stop

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HEADERS = {"OpenStack-API-Version": LATEST}
GIB = 1024**3
#: Peak resident memory allowed to the whole service process (API and agent).
RSS_BOUND_MIB = 200
#: A sparse 1 GiB file: instant and free on disk, yet the engine's tar stream of it is 1 GiB.
SPARSE_GIB = "dd if=/dev/zero of=/tmp/big bs=1048576 seek=1023 count=1 && sleep 3600"


@pytest.fixture
def served(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[tuple[Instance, int]]:
    instance = Instance.new(tmp_path, prefix="archives")
    process = instance.start()
    try:
        yield instance, process.pid
    finally:
        stop(process)
        for container in docker_client.containers.list(
            all=True, filters={"label": f"{LABEL_HOST}={instance.host}"}
        ):
            container.remove(force=True)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def _running_with_big_file(instance: Instance) -> str:
    body = {"image": TEST_IMAGE, "command": ["sh", "-c", SPARSE_GIB], "memory": 64}
    created = requests.post(
        f"{instance.url}/v1/containers?run=true", json=body, headers=HEADERS, timeout=30
    )
    assert created.status_code == 202, created.text
    uuid = str(created.json()["uuid"])
    deadline = time.monotonic() + 30
    while True:
        shown = requests.get(f"{instance.url}/v1/containers/{uuid}", headers=HEADERS, timeout=10)
        if shown.json()["status"] == "Running" and not shown.json()["task_state"]:
            break
        assert time.monotonic() < deadline, shown.text
        time.sleep(0.2)
    ran = requests.post(
        f"{instance.url}/v1/containers/{uuid}/execute",
        json={"command": "ls -l /tmp/big", "run": True},
        headers=HEADERS,
        timeout=30,
    )
    assert str(GIB) in ran.json()["output"], ran.text
    return uuid


def _put_head_only(instance: Instance, uuid: str, length: int) -> bytes:
    """Announce ``length`` bytes of put_archive body, send 1 KiB of it, read the answer."""
    address = instance.url.removeprefix("http://")
    host, port = address.split(":")
    head = (
        f"POST /v1/containers/{uuid}/put_archive?path=/tmp HTTP/1.1\r\nHost: {address}\r\n"
        f"OpenStack-API-Version: {LATEST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head.encode() + b'{"data": "' + b"A" * 1024)
        with contextlib.suppress(OSError):  # the 413 may close the socket first
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def _error(answer: bytes) -> dict[str, Any]:
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:500]
    [error] = json.loads(rest.partition(b"\r\n\r\n")[2])["errors"]
    return dict(error)


def test_gigabyte_archives_are_refused_without_being_held(served: tuple[Instance, int]) -> None:
    instance, pid = served
    uuid = _running_with_big_file(instance)

    began = time.monotonic()
    fetched = requests.get(
        f"{instance.url}/v1/containers/{uuid}/get_archive",
        params={"path": "/tmp/big"},
        headers=HEADERS,
        timeout=60,
    )
    assert fetched.status_code == 413, fetched.text[:500]
    [error] = fetched.json()["errors"]
    assert "max_archive_size" in error["detail"], error
    # Refused after the first 16 MiB of the stream, not after reading the gigabyte.
    assert time.monotonic() - began < 10

    error = _error(_put_head_only(instance, uuid, GIB))
    assert "max_request_body_size" in error["detail"], error

    # A small file still comes out whole, and nothing above grew the process.
    small = requests.get(
        f"{instance.url}/v1/containers/{uuid}/get_archive",
        params={"path": "/etc/hostname"},
        headers=HEADERS,
        timeout=30,
    )
    assert small.status_code == 200, small.text[:500]
    peak = _peak_rss_mib(pid)
    assert peak < RSS_BOUND_MIB, f"peak RSS {peak:.0f} MiB"
