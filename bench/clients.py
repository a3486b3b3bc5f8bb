"""The two sides being compared: Dockyard's Zun API over HTTP and raw docker-py."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import docker
import requests

IMAGE = "dockyard-test/busybox:latest"
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
MEMORY_MIB = 16
CPU = 0.1
MICROVERSION = "container 1.40"
POLL_INTERVAL = 0.005
#: Seconds a GET may be held until the record changes (``Prefer: wait``, with the
#: ETag last seen in ``If-None-Match``); 0 makes the waits poll every POLL_INTERVAL.
WAIT = 10
RAW_LABEL = "dockyard-bench.run"
DOCKER_URL = "unix:///var/run/docker.sock"


class BenchError(RuntimeError):
    """An operation did not reach the state the benchmark waits for."""


@dataclass
class ApiClient:
    """One client of Dockyard's API (one per thread: a requests.Session is not shared)."""

    url: str
    timeout: float = 60.0
    session: requests.Session = field(default_factory=requests.Session)

    #: ``Prefer: wait`` of the waits' GETs (see WAIT); 0 polls instead.
    wait: int = WAIT
    #: The polls' own keep-alive connection (see ``poll``).
    _poll_conn: http.client.HTTPConnection | None = None

    def __post_init__(self) -> None:
        self.session.headers.update(
            {"OpenStack-API-Version": MICROVERSION, "Accept": "application/json"}
        )

    def poll(self, uuid: str, etag: str | None = None) -> tuple[int, Any, str | None]:
        """GET the record over a plain keep-alive connection: (status, body, ETag).

        Given the ETag last seen (and ``wait``), the GET is held until the record
        changes; a 304 (no change within the wait) has no body. Polls run on the
        same two CPUs as the service and the engine; requests costs several times
        http.client's CPU per call. (The show phase, which times GETs, keeps requests.)
        """
        headers = {
            "OpenStack-API-Version": MICROVERSION,
            "Accept": "application/json",
            **waiting_headers(etag, self.wait),
        }
        for attempt in (1, 2):
            if self._poll_conn is None:
                parsed = urllib.parse.urlsplit(self.url)
                self._poll_conn = http.client.HTTPConnection(
                    parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30
                )
            try:
                self._poll_conn.request("GET", f"/v1/containers/{uuid}", headers=headers)
                answer = self._poll_conn.getresponse()
                body = json.loads(answer.read() or b"null")
                return answer.status, body, answer.getheader("ETag")
            except (ConnectionError, http.client.HTTPException):
                self._poll_conn.close()
                self._poll_conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _retry_busy(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying while the agent answers 503 (busy)."""
        deadline = time.monotonic() + self.timeout
        while True:
            response = self.session.request(method, self.url + path, timeout=30, **kwargs)
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
            time.sleep(0.05)

    def create(self, run: bool) -> str:
        body = {"image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "cpu": CPU}
        response = self._retry_busy(
            "POST", "/v1/containers" + ("?run=true" if run else ""), json=body
        )
        if response.status_code != 202:
            raise BenchError(f"create answered {response.status_code}: {response.text[:300]}")
        return str(response.json()["uuid"])

    def get(self, uuid: str) -> requests.Response:
        return self.session.get(f"{self.url}/v1/containers/{uuid}", timeout=30)

    def wait_for(self, uuid: str, status: str) -> dict[str, Any]:
        """Poll every POLL_INTERVAL until the record shows ``status`` with no task running."""
        deadline = time.monotonic() + self.timeout
        etag = None
        while True:
            code, record, etag = self.poll(uuid, etag)
            if code == 200:
                if record["status"] == status and record["task_state"] is None:
                    return dict(record)
                if record["status"] == "Error":
                    raise BenchError(f"{uuid} went to Error: {record.get('status_reason')}")
            if time.monotonic() > deadline:
                raise BenchError(f"{uuid} did not reach {status} in {self.timeout:g} s")
            if not self.wait:
                time.sleep(POLL_INTERVAL)

    def create_and_wait(self, run: bool) -> str:
        uuid = self.create(run)
        self.wait_for(uuid, "Running" if run else "Created")
        return uuid

    def delete(self, uuid: str) -> None:
        response = self._retry_busy("DELETE", f"/v1/containers/{uuid}?force=true")
        if response.status_code not in (204, 404):
            raise BenchError(f"delete answered {response.status_code}: {response.text[:300]}")

    def delete_and_wait(self, uuid: str) -> None:
        """DELETE (force) then poll until GET answers 404."""
        self.delete(uuid)
        deadline = time.monotonic() + self.timeout
        etag = None
        while True:
            code, _, etag = self.poll(uuid, etag)
            if code == 404:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{uuid} was not gone {self.timeout:g} s after DELETE")
            if not self.wait:
                time.sleep(POLL_INTERVAL)

    def list_containers(self, query: str = "") -> requests.Response:
        return self.session.get(f"{self.url}/v1/containers{query}", timeout=60)

    def all_uuids(self) -> list[str]:
        """Every container of the project, following `next` links."""
        uuids: list[str] = []
        query = ""
        while True:
            page = self.list_containers(query).json()
            uuids.extend(c["uuid"] for c in page["containers"])
            if not page.get("next") or not page["containers"]:
                return uuids
            query = f"?limit=1000&marker={page['containers'][-1]['uuid']}"


@dataclass
class RawClient:
    """The baseline: docker-py's low-level APIClient, same image, command and limits."""

    run_id: str
    client: docker.APIClient = field(
        default_factory=lambda: docker.APIClient(base_url=DOCKER_URL, timeout=120)
    )

    def create_and_start(self) -> str:
        host_config = self.client.create_host_config(
            mem_limit=MEMORY_MIB * 2**20,
            memswap_limit=MEMORY_MIB * 2**20,  # as Dockyard does: no swap on top
            nano_cpus=int(CPU * 1e9),
        )
        created = self.client.create_container(
            IMAGE, command=COMMAND, host_config=host_config, labels={RAW_LABEL: self.run_id}
        )
        self.client.start(created["Id"])
        return str(created["Id"])

    def inspect(self, ident: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.inspect_container(ident)
        return result

    def remove(self, ident: str) -> None:
        self.client.remove_container(ident, force=True)

    def list_low_level(self, label: str | None = None) -> int:
        filters = {"label": label} if label else None
        return len(self.client.containers(all=True, filters=filters))

    def close(self) -> None:
        self.client.close()


def waiting_headers(etag: str | None, wait: int) -> dict[str, str]:
    """What turns a GET of one container into a wait for its next change."""
    return {"If-None-Match": etag, "Prefer": f"wait={wait}"} if etag and wait else {}


def remove_labelled(label: str) -> int:
    """Force-remove every engine container carrying ``label`` (``key`` or ``key=value``)."""
    client = docker.APIClient(base_url=DOCKER_URL, timeout=120)
    try:
        removed = 0
        for item in client.containers(all=True, filters={"label": label}):
            try:
                client.remove_container(item["Id"], force=True)
                removed += 1
            except docker.errors.NotFound:
                pass
        return removed
    finally:
        client.close()
