"""The cloud shape as separate processes: dockyard-api, -conductor and -compute.

They share RabbitMQ (an exchange and topics of this run's own) and a fresh
PostgreSQL database; the agent drives the local Docker Engine and has no
database settings at all. A container is run through the HTTP API end to end.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from dockyard.domain.models import LABEL_HOST
from tests.conftest import LATEST, TEST_IMAGE, free_port, private_network_pool
from tests.support.broker import TRANSPORT_URL, private_rpc_section, require_rabbitmq
from tests.support.databases import fresh_database

pytestmark = pytest.mark.docker

BIN = Path(sys.executable).parent
SLEEPER = ["sh", "-c", "echo cloud-hello; trap 'exit 0' TERM; sleep 300 & wait"]


@dataclass
class Cloud:
    url: str
    host: str
    root: Path
    metrics_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"OpenStack-API-Version": LATEST}
        return self.session.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def wait_for(self, ident: str, status: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.request("GET", f"/v1/containers/{ident}").json()
            if shown.get("status") == status and shown.get("task_state") is None:
                return dict(shown)
            assert time.monotonic() < deadline, f"{ident} stayed {shown}\n{self.logs()}"
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.root / f'{name}.log').read_text()[-3000:]}"
            for name in self.processes
        )


def write_config(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def start(cloud: Cloud, name: str, config: Path, ready: str, timeout: float = 60) -> None:
    log_path = cloud.root / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / name), "--config-file", str(config)], stdout=log, stderr=log
        )
    cloud.processes[name] = process
    deadline = time.monotonic() + timeout
    while ready not in log_path.read_text():
        assert process.poll() is None, f"{name} exited:\n{log_path.read_text()}"
        assert time.monotonic() < deadline, f"{name} never got ready:\n{log_path.read_text()}"
        time.sleep(0.2)


def stop(cloud: Cloud) -> None:
    for process in reversed(cloud.processes.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in cloud.processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def socket_peers(pid: int) -> set[int]:
    """Remote TCP ports of the sockets process ``pid`` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[2].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cloud]:
    require_rabbitmq()
    root = tmp_path_factory.mktemp("cloud")
    rpc_section, _names = private_rpc_section(root, call_timeout=30)
    host = f"cloud-{uuid.uuid4().hex[:8]}"
    port, metrics_port = free_port(), free_port()
    with fresh_database("postgresql") as database_url:
        common = [f"transport_url = {TRANSPORT_URL}", "auth_strategy = noauth", "log_json = true"]
        database = ["[database]", f"connection = {database_url}"]
        api_conf = write_config(
            root / "api.conf",
            "[DEFAULT]",
            *common,
            f"data_dir = {root / 'api'}",
            f"auth_encryption_key = {secrets.token_hex(32)}",
            *database,
            "[api]",
            f"port = {port}",
            "[network]",
            f"project_network_pool = {private_network_pool(docker_client)}",
            rpc_section,
        )
        conductor_conf = write_config(
            root / "conductor.conf",
            "[DEFAULT]",
            *common,
            f"host = conductor-{host}",
            *database,
            rpc_section,
        )
        compute_conf = write_config(
            root / "compute.conf",
            "[DEFAULT]",
            *common,
            f"host = {host}",
            f"data_dir = {root / 'compute'}",
            "[compute]",
            "sync_interval = 2",
            f"metrics_port = {metrics_port}",
            "[websocket_proxy]",
            "wsproxy_port = 0",
            rpc_section,
        )
        migrated = subprocess.run(
            [str(BIN / "dockyard-manage"), "--config-file", str(api_conf), "db", "upgrade"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr
        service = Cloud(f"http://127.0.0.1:{port}", host, root, metrics_port)
        try:
            start(service, "dockyard-conductor", conductor_conf, "is serving agents' reports")
            start(service, "dockyard-compute", compute_conf, f"serving host {host}")
            start(service, "dockyard-api", api_conf, "is serving the Zun v1 API")
            yield service
        finally:
            stop(service)
            filters = {"label": f"{LABEL_HOST}={host}"}
            for container in docker_client.containers.list(all=True, filters=filters):
                container.remove(force=True)
            for network in docker_client.networks.list(filters=filters):
                network.remove()
            service.session.close()


def test_the_agent_holds_no_database_settings_or_connections(cloud: Cloud) -> None:
    compute_conf = (cloud.root / "compute.conf").read_text()
    assert "[database]" not in compute_conf and "postgresql" not in compute_conf
    assert 5432 not in socket_peers(cloud.processes["dockyard-compute"].pid)
    assert 5672 in socket_peers(cloud.processes["dockyard-compute"].pid)
    assert 5432 in socket_peers(cloud.processes["dockyard-conductor"].pid)


def test_a_container_runs_through_the_api(cloud: Cloud, docker_client: docker.DockerClient) -> None:
    body = {"image": TEST_IMAGE, "command": SLEEPER, "memory": 32, "cpu": 0.1}
    created = cloud.request("POST", "/v1/containers?run=true", json=body)
    assert created.status_code == 202, created.text
    ident = created.json()["uuid"]
    running = cloud.wait_for(ident, "Running")
    assert running["host"] == cloud.host

    # Running means started: the shell may not have printed yet.
    deadline = time.monotonic() + 10
    while True:
        logs = cloud.request("GET", f"/v1/containers/{ident}/logs")
        assert logs.status_code == 200, logs.text
        if "cloud-hello" in logs.json():
            break
        assert time.monotonic() < deadline, logs.text
        time.sleep(0.2)

    executed = cloud.request(
        "POST", f"/v1/containers/{ident}/execute", json={"command": "sh -c 'echo in; exit 4'"}
    )
    assert executed.status_code == 200, executed.text
    assert executed.json()["output"] == "in\n" and executed.json()["exit_code"] == 4

    # An interactive exec: the agent's console proxy spends the token through the
    # conductor (the agent has no database) and joins the session to the engine.
    session = cloud.request(
        "POST",
        f"/v1/containers/{ident}/execute",
        params={"command": "sh", "run": "false", "interactive": "true"},
    )
    assert session.status_code == 200, session.text
    url = session.json()["proxy_url"]
    terminal = websocket.create_connection(url, subprotocols=["binary"], timeout=20)
    terminal.send_binary(b"echo cloud-$((6*7))\nexit\n")
    seen = b""
    while b"cloud-42" not in seen:
        chunk = terminal.recv()
        assert chunk, f"the session ended early: {seen!r}"
        seen += chunk if isinstance(chunk, bytes) else chunk.encode()
    terminal.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, timeout=20)  # spent

    stopped = cloud.request("POST", f"/v1/containers/{ident}/stop", params={"timeout": 2})
    assert stopped.status_code == 202, stopped.text
    cloud.wait_for(ident, "Stopped")

    assert cloud.request("DELETE", f"/v1/containers/{ident}").status_code == 204
    deadline = time.monotonic() + 60
    while cloud.request("GET", f"/v1/containers/{ident}").status_code != 404:
        assert time.monotonic() < deadline, cloud.logs()
        time.sleep(0.2)
    leftovers = {"label": f"{LABEL_HOST}={cloud.host}"}
    assert docker_client.containers.list(all=True, filters=leftovers) == []


def scrape(url: str) -> dict[str, list[Sample]]:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def count(families: dict[str, list[Sample]], family: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(
        s.value for s in families.get(family, []) if s.name == name and wanted <= s.labels.items()
    )


def json_lines(cloud: Cloud, process: str) -> list[dict[str, Any]]:
    """The process's log lines (its few printed status lines are not log lines)."""
    text = (cloud.root / f"{process}.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_metrics_and_json_logs_follow_a_request_across_the_processes(cloud: Cloud) -> None:
    agent_metrics = f"http://127.0.0.1:{cloud.metrics_port}/metrics"
    api_before, agent_before = scrape(cloud.url + "/metrics"), scrape(agent_metrics)
    body = {"image": TEST_IMAGE, "command": SLEEPER, "memory": 32, "cpu": 0.1}
    created = cloud.request("POST", "/v1/containers?run=true", json=body)
    assert created.status_code == 202, created.text
    ident, request_id = created.json()["uuid"], created.headers["X-OpenStack-Request-Id"]
    cloud.wait_for(ident, "Running")
    api_after, agent_after = scrape(cloud.url + "/metrics"), scrape(agent_metrics)

    # The API: requests by route template, containers counted in the database.
    hist = "dockyard_api_request_duration_seconds"
    posted = {"method": "POST", "route": "/v1/containers", "status": "202"}
    assert count(api_after, hist, hist + "_count", **posted) == (
        count(api_before, hist, hist + "_count", **posted) + 1
    )
    running = {"host": cloud.host, "status": "Running"}
    assert count(api_after, "dockyard_containers", "dockyard_containers", **running) == (
        count(api_before, "dockyard_containers", "dockyard_containers", **running) + 1
    )
    # The agent's own listener: its engine calls, create latency, queue and reconciler.
    for family, labels in [
        ("dockyard_engine_call_duration_seconds", {"method": "create", "outcome": "ok"}),
        ("dockyard_container_create_to_running_seconds", {"host": cloud.host}),
    ]:
        name = family + "_count"
        assert count(agent_after, family, name, **labels) == (
            count(agent_before, family, name, **labels) + 1
        ), family
    assert "dockyard_agent_operations" in agent_after
    assert "dockyard_reconcile_lag_seconds" in agent_after
    assert "dockyard_containers" not in agent_after or not agent_after["dockyard_containers"]

    # Each process's lines for this request name it: the API's, the agent's (the id came
    # in the create's RPC context) and the conductor's (in the agent's reports').
    for process, logger in [
        ("dockyard-api", "dockyard.audit"),
        ("dockyard-compute", "dockyard.compute.operations"),
        ("dockyard-conductor", "dockyard.audit"),
    ]:
        lines = [line for line in json_lines(cloud, process) if line["request_id"] == request_id]
        assert any(line["logger"] == logger for line in lines), (process, lines)
    reports = [
        line["audit"]
        for line in json_lines(cloud, "dockyard-conductor")
        if line["request_id"] == request_id and line["logger"] == "dockyard.audit"
    ]
    assert ("report", "Running", "admin") in [
        (a["change"], a["status"], a["user_id"]) for a in reports
    ]
    assert cloud.request("DELETE", f"/v1/containers/{ident}?force=true").status_code == 204
