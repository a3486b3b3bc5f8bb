"""PostgreSQL stopped under a running service: clear 503s, nothing changed, nothing lost."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from dockyard.db.session import Database
from dockyard.domain.errors import DatabaseUnavailable
from dockyard.drivers.runtime.docker.translate import container_name
from tests.conftest import Dockyard, require, start_dockyard, stop_dockyard
from tests.support.databases import fresh_database

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]


def pg_cluster(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, "-m", "fast"]
        if action == "stop"
        else ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        capture_output=True,
        text=True,
        timeout=120,
    )
    already = action == "start" and "already running" in done.stdout
    assert done.returncode == 0 or already, done.stdout + done.stderr


@pytest.fixture
def postgres_restartable() -> Iterator[None]:
    require(
        shutil.which("pg_ctlcluster") is not None and Path("/etc/postgresql").is_dir(),
        "!!! a local PostgreSQL cluster managed by pg_ctlcluster (scripts/ensure-databases.sh)",
    )
    yield
    pg_cluster("start")  # whatever happened, leave it running for the next tests


@pytest.fixture
def on_postgres(
    tmp_path: Path, docker_client: docker.DockerClient, postgres_restartable: None
) -> Iterator[Dockyard]:
    with fresh_database("postgresql") as url:
        service = start_dockyard(
            tmp_path,
            docker_client,
            extra_config=["[database]", f"connection = {url}", "idle_ping_after = 0"],
        )
        try:
            yield service
        finally:
            stop_dockyard(service)


def test_the_api_answers_503_while_the_database_is_down_and_recovers(
    on_postgres: Dockyard,
) -> None:
    service = on_postgres
    kept = service.create({"command": SLEEPER, "name": "kept"}).json()
    service.wait_for(kept["uuid"], "Running")
    before = service.request("GET", f"/v1/quotas/{kept['project_id']}?usages=true").json()

    pg_cluster("stop")
    try:
        shown = service.request("GET", f"/v1/containers/{kept['uuid']}")
        created = service.create({"command": SLEEPER, "name": "refused"})
        stopped = service.request("POST", f"/v1/containers/{kept['uuid']}/stop")
    finally:
        pg_cluster("start")

    for answer in (shown, created, stopped):
        assert answer.status_code == 503, answer.text
        [error] = answer.json()["errors"]
        assert error["detail"] == "The database is unavailable; try again shortly."
        assert "5432" not in answer.text and "postgres" not in answer.text.lower()

    # Back: the same connections pool is used again, transparently.
    deadline = time.monotonic() + 30
    while True:
        try:
            listed = service.request("GET", "/v1/containers")
        except requests.ConnectionError:
            listed = None
        if listed is not None and listed.status_code == 200:
            break
        assert time.monotonic() < deadline, listed.text if listed is not None else "no answer"
        time.sleep(0.5)
    names = [c["name"] for c in listed.json()["containers"]]
    assert names == ["kept"]  # nothing lost, the refused create left nothing behind
    assert service.show(kept["uuid"])["status"] == "Running"
    after = service.request("GET", f"/v1/quotas/{kept['project_id']}?usages=true").json()
    assert after == before
    assert [c.name for c in service.engine_containers()] == [container_name(kept["uuid"])]
    assert service.request("POST", f"/v1/containers/{kept['uuid']}/stop").status_code == 202
    service.wait_for(kept["uuid"], "Stopped")


def test_a_pooled_connection_the_server_dropped_is_replaced(postgres_restartable: None) -> None:
    with fresh_database("postgresql") as url:
        db = Database(url, idle_ping_after=0)
        try:
            with db.read() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            pg_cluster("restart")
            with db.read() as conn:  # the stale pooled connection is checked and replaced
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            pg_cluster("stop")
            with pytest.raises(DatabaseUnavailable), db.read() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            pg_cluster("start")
            db.dispose()
