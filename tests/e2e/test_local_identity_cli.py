"""End to end with Dockyard's own identity (the default): `dockyard up` as a subprocess,
driven by `zun` and `openstack appcontainer` configured only through OS_* variables.

The tests in this module share one service and run in file order.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.models import LABEL_HOST
from tests.conftest import TEST_IMAGE
from tests.e2e.process import Instance, stop

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

BIN = Path(sys.executable).parent
BOB_PASSWORD = "bob-secret-password-e2e"
NEW_PASSWORD = "bob-new-password-e2e"
POLL = 0.3


def parse_openrc(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        if line.startswith("export OS_"):
            name, value = line.removeprefix("export ").split("=", 1)
            env[name] = shlex.split(value)[0]
    return env


@dataclass
class Cloud:
    instance: Instance
    process: subprocess.Popen[bytes]
    admin: dict[str, str]
    tokens: list[str] = field(default_factory=list)

    def run(self, creds: dict[str, str], *argv: str, stdin: str | None = None) -> str:
        """Run a CLI with only ``creds`` as OS_* settings; it must report no failure."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        result = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            env={**env, **creds},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{argv}: rc={result.returncode}\n{output}"
        assert "failed" not in output and "ERROR" not in output, f"{argv}:\n{output}"
        return result.stdout

    def attempt(self, creds: dict[str, str], *argv: str) -> str:
        """Run a CLI that may fail; return everything it printed."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        result = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            env={**env, **creds},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        return result.stdout + result.stderr

    def osc_json(self, creds: dict[str, str], *argv: str) -> Any:
        return json.loads(self.run(creds, "openstack", "appcontainer", argv[0], "-f", "json",
                                   *argv[1:]))  # fmt: skip

    def manage(self, *argv: str, stdin: str | None = None) -> str:
        config = str(self.instance.config)
        return self.run({}, "dockyard-manage", "--config-file", config, *argv, stdin=stdin)

    def wait_status(self, creds: dict[str, str], name: str, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            shown = dict(self.osc_json(creds, "show", name))
            if shown["status"] == status and shown["task_state"] is None:
                return shown
            assert time.monotonic() < deadline, f"{name} stayed {shown['status']}"
            time.sleep(POLL)

    def wait_gone(self, creds: dict[str, str], name: str) -> None:
        deadline = time.monotonic() + 60
        while name in self.run(creds, "zun", "list"):
            assert time.monotonic() < deadline, f"{name} is still listed"
            time.sleep(POLL)


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cloud]:
    instance = Instance.new(
        tmp_path_factory.mktemp("dockyard-local"), prefix="local", auth_strategy=None,
        split_output=True,
    )  # fmt: skip
    process = instance.start()
    try:
        printed = instance.output.read_text()
        openrc = instance.root / "data" / "admin-openrc"
        assert openrc.stat().st_mode & 0o777 == 0o600
        admin = parse_openrc(openrc.read_text())
        assert admin == parse_openrc(printed)
        assert admin["OS_AUTH_URL"] == f"{instance.url}/v3"
        cloud = Cloud(instance, process, admin)
        yield cloud
        assert stop(cloud.process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        labels = {"label": f"{LABEL_HOST}={instance.host}"}
        for container in docker_client.containers.list(all=True, filters=labels):
            container.remove(force=True)
        for path in (instance.log, instance.output):
            if path.exists():
                sys.stderr.write(f"\n===== {path.name} =====\n{path.read_text()[-4000:]}")


def test_admin_runs_lists_shows_with_both_clients(cloud: Cloud) -> None:
    created = cloud.osc_json(cloud.admin, "run", "--name", "admin-box", TEST_IMAGE, "sleep", "300")
    assert created["name"] == "admin-box"
    shown = cloud.wait_status(cloud.admin, "admin-box", "Running")
    assert shown["uuid"] == created["uuid"]
    names = [c["name"] for c in cloud.osc_json(cloud.admin, "list")]
    assert "admin-box" in names

    assert "admin-box" in cloud.run(cloud.admin, "zun", "list")
    assert created["uuid"] in cloud.run(cloud.admin, "zun", "show", "admin-box")
    cloud.run(cloud.admin, "zun", "run", "--name", "zun-box", TEST_IMAGE, "sleep", "300")
    cloud.wait_status(cloud.admin, "zun-box", "Running")
    listed = cloud.run(cloud.admin, "zun", "list")
    assert "admin-box" in listed and "zun-box" in listed

    token = cloud.run(cloud.admin, "openstack", "token", "issue", "-f", "value", "-c", "id")
    cloud.tokens.append(token.strip())


def test_second_project_cannot_see_the_first(cloud: Cloud) -> None:
    cloud.manage("project", "create", "team-b")
    cloud.manage(
        "user", "create", "bob", "--password-stdin", "--project", "team-b", "--role", "member",
        stdin=BOB_PASSWORD + "\n",
    )  # fmt: skip
    users = cloud.manage("user", "list")
    assert "bob" in users and "member@team-b" in users and "admin@admin" in users
    assert "$2" not in users and BOB_PASSWORD not in users

    bob = {**cloud.admin, "OS_USERNAME": "bob", "OS_PASSWORD": BOB_PASSWORD,
           "OS_PROJECT_NAME": "team-b"}  # fmt: skip
    assert cloud.osc_json(bob, "list") == []
    assert "admin-box" not in cloud.run(bob, "zun", "list")
    hidden = cloud.attempt(bob, "zun", "show", "admin-box")
    assert "not found" in hidden.lower() or "could not be found" in hidden.lower(), hidden
    refused = cloud.attempt(bob, "openstack", "appcontainer", "delete", "admin-box")
    assert "failed" in refused, refused

    cloud.run(bob, "zun", "run", "--name", "bob-box", TEST_IMAGE, "sleep", "300")
    cloud.wait_status(bob, "bob-box", "Running")
    assert [c["name"] for c in cloud.osc_json(bob, "list")] == ["bob-box"]
    assert "bob-box" not in [c["name"] for c in cloud.osc_json(cloud.admin, "list")]
    assert "bob-box" in cloud.run(cloud.admin, "zun", "list", "--all-projects")

    wrong = {**bob, "OS_PASSWORD": "not-the-password"}
    refused_login = cloud.attempt(wrong, "zun", "list")
    assert "Not authorized" in refused_login or "401" in refused_login, refused_login
    token = cloud.run(bob, "openstack", "token", "issue", "-f", "value", "-c", "id")
    cloud.tokens.append(token.strip())

    # Forced deletes are for admins (Zun's default policy): stop, then delete.
    assert "accepted" in cloud.run(bob, "zun", "kill", "bob-box")
    cloud.wait_status(bob, "bob-box", "Stopped")
    assert "accepted" in cloud.run(bob, "zun", "delete", "bob-box")
    cloud.wait_gone(bob, "bob-box")


def test_admin_deletes_with_both_clients(cloud: Cloud) -> None:
    assert "accepted" in cloud.run(
        cloud.admin, "openstack", "appcontainer", "delete", "--force", "admin-box"
    )
    assert "accepted" in cloud.run(cloud.admin, "zun", "delete", "--force", "zun-box")
    cloud.wait_gone(cloud.admin, "admin-box")
    cloud.wait_gone(cloud.admin, "zun-box")
    assert cloud.osc_json(cloud.admin, "list") == []


def test_tokens_survive_a_restart_and_credentials_print_once(cloud: Cloud) -> None:
    assert stop(cloud.process) == 0
    cloud.process = cloud.instance.start()
    response = requests.get(
        cloud.instance.url + "/v1/containers",
        headers={"X-Auth-Token": cloud.tokens[0]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    printed = cloud.instance.output.read_text()
    assert printed.count(cloud.admin["OS_PASSWORD"]) == 1
    assert printed.count("Dockyard is serving") == 2


def test_disabled_users_and_old_passwords_are_locked_out(cloud: Cloud) -> None:
    bob = {**cloud.admin, "OS_USERNAME": "bob", "OS_PASSWORD": BOB_PASSWORD,
           "OS_PROJECT_NAME": "team-b"}  # fmt: skip
    bobs_token = cloud.tokens[1]

    def status(token: str) -> int:
        url = cloud.instance.url + "/v1/containers"
        return requests.get(url, headers={"X-Auth-Token": token}, timeout=10).status_code

    assert status(bobs_token) == 200
    cloud.manage("user", "disable", "bob")
    assert status(bobs_token) == 401
    refused = cloud.attempt(bob, "zun", "list")
    assert "Not authorized" in refused or "401" in refused, refused
    cloud.manage("user", "enable", "bob")
    assert cloud.osc_json(bob, "list") == []

    fresh = cloud.run(bob, "openstack", "token", "issue", "-f", "value", "-c", "id").strip()
    cloud.manage("user", "set-password", "bob", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert status(fresh) == 401
    refused = cloud.attempt(bob, "openstack", "appcontainer", "list")
    assert "401" in refused or "authenticat" in refused.lower(), refused
    assert cloud.osc_json({**bob, "OS_PASSWORD": NEW_PASSWORD}, "list") == []


def test_secrets_never_reach_the_log(cloud: Cloud) -> None:
    log = cloud.instance.log.read_text()
    assert "Dockyard" in cloud.instance.output.read_text()
    assert cloud.admin["OS_PASSWORD"] not in log
    assert BOB_PASSWORD not in log and NEW_PASSWORD not in log
    assert len(cloud.tokens) == 2
    for token in cloud.tokens:
        assert token.startswith("dy1.")
        assert token not in log
        assert token.split(".")[2] not in log
