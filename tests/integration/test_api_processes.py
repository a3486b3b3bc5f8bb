"""Three dockyard-api processes on one database: quotas, identity and the login limit
hold for all of them together, not per process.

One conductor and one compute agent on the main Docker Engine, RabbitMQ, and a fresh
PostgreSQL or MariaDB database; auth_strategy = local with one signing key shared by
the API processes. Users and projects are made with the real `dockyard-manage`.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.models import LABEL_HOST
from tests.conftest import LATEST, TEST_IMAGE
from tests.support.cluster import BIN, MAIN_ENGINE, SLEEPER, Cluster, HostSpec, running_cluster

pytestmark = pytest.mark.docker

APIS = 3
CREATES = 100
ADMITTED = 10
MEMORY = 32  # MiB per container
ADMIN_PASSWORD = "admin-password-multi-api"
MEMBER_PASSWORD = "member-password-multi-api"
MAX_FAILURES = 5
AUTH_FAILED = "The request you have made requires authentication."


@dataclass
class Cloud:
    cluster: Cluster
    project_ids: dict[str, str]
    tokens: dict[str, str]

    def manage(self, *argv: str, stdin: str | None = None) -> str:
        config = str(self.cluster.processes["api"].config)
        result = subprocess.run(
            [str(BIN / "dockyard-manage"), "--config-file", config, *argv],
            input=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
        return result.stdout

    def login(self, user: str, password: str, project: str, api: int = 0) -> requests.Response:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        url = self.cluster.urls[api % APIS] + "/v3/auth/tokens"
        return requests.post(url, json=body, timeout=60)

    def token(self, user: str, password: str, project: str, api: int = 0) -> str:
        response = self.login(user, password, project, api)
        assert response.status_code == 201, response.text
        self.project_ids[project] = response.json()["token"]["project"]["id"]
        return str(response.headers["X-Subject-Token"])

    def call(self, who: str, method: str, path: str, api: int = 0, **kw: Any) -> requests.Response:
        headers = {"OpenStack-API-Version": LATEST, "X-Auth-Token": self.tokens[who]}
        url = self.cluster.urls[api % APIS] + path
        return requests.request(method, url, headers=headers, timeout=60, **kw)

    def quota(self, project: str) -> str:
        return f"/v1/quotas/{self.project_ids[project]}"

    def in_use(self) -> dict[str, Any]:
        response = self.call("admin", "GET", self.quota("team") + "?usages=true", api=1)
        assert response.status_code == 200, response.text
        return {resource: value["in_use"] for resource, value in response.json().items()}

    def listed(self) -> set[str]:
        response = self.call("member", "GET", "/v1/containers?limit=1000", api=2)
        assert response.status_code == 200, response.text
        return {c["uuid"] for c in response.json()["containers"]}

    def on_engine(self) -> int:
        client = docker.APIClient(base_url=MAIN_ENGINE, timeout=60)
        try:
            label = f"{LABEL_HOST}={self.cluster.host('a')}"
            return len(client.containers(all=True, filters={"label": label}))
        finally:
            client.close()


def _key_file(path: Path) -> Path:
    # Made before the processes start: one key for all, and no race to create it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(os.urandom(32).hex() + "\n")
    return path


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cloud]:
    root = tmp_path_factory.mktemp(f"apis-{request.param}")
    identity = [
        "[identity]",
        f"key_file = {_key_file(root / 'identity.key')}",
        "password_hash_rounds = 4",
        f"max_failures_per_user = {MAX_FAILURES}",
        "max_failures_per_address = 1000",
    ]
    with running_cluster(
        root, specs=(HostSpec("a", MAIN_ENGINE, "az1", 20),), api_processes=APIS,
        database=request.param, auth_strategy="local", api_config=identity,
    ) as cluster:  # fmt: skip
        cloud = Cloud(cluster, {}, {})
        for project in ("admin", "team"):
            cloud.manage("project", "create", project)
        cloud.manage("user", "create", "admin", "--password-stdin", "--project", "admin",
                     "--role", "admin", stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        cloud.manage("user", "create", "member", "--password-stdin", "--project", "team",
                     stdin=MEMBER_PASSWORD + "\n")  # fmt: skip
        cloud.tokens["admin"] = cloud.token("admin", ADMIN_PASSWORD, "admin", api=0)
        cloud.tokens["member"] = cloud.token("member", MEMBER_PASSWORD, "team", api=1)
        try:
            yield cloud
        except BaseException:
            print(cluster.logs())
            raise


def _create_at_once(cloud: Cloud) -> list[requests.Response]:
    """``CREATES`` creates released together, round-robin over the API processes."""
    barrier = threading.Barrier(CREATES)
    answers: list[requests.Response | None] = [None] * CREATES
    body = {"image": TEST_IMAGE, "command": SLEEPER, "memory": MEMORY, "cpu": 0.1}

    def create(i: int) -> None:
        barrier.wait()
        answers[i] = cloud.call("member", "POST", "/v1/containers", api=i, json=body)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(CREATES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _wait_created(cloud: Cloud, uuids: set[str]) -> None:
    deadline = time.monotonic() + 120
    pending = set(uuids)
    while pending:
        for ident in sorted(pending):
            shown = cloud.call("member", "GET", f"/v1/containers/{ident}").json()
            if shown["task_state"] is None and shown["status"] != "Creating":
                assert shown["status"] == "Created", (shown["status_reason"], shown["host"])
                pending.discard(ident)
        assert time.monotonic() < deadline, f"never created: {pending}"
        time.sleep(0.3)


def _delete_and_wait(cloud: Cloud, uuids: set[str]) -> None:
    for i, ident in enumerate(sorted(uuids)):
        deleted = cloud.call("member", "DELETE", f"/v1/containers/{ident}", api=i)
        assert deleted.status_code == 204, deleted.text
    deadline = time.monotonic() + 120
    while cloud.listed():
        assert time.monotonic() < deadline, f"not deleted: {cloud.listed()}"
        time.sleep(0.3)


@pytest.mark.parametrize("limit", [{"containers": ADMITTED}, {"memory": ADMITTED * MEMORY}])
def test_concurrent_creates_over_every_api_admit_exactly_the_quota(
    cloud: Cloud, limit: dict[str, int]
) -> None:
    quota = cloud.quota("team")
    assert cloud.call("admin", "DELETE", quota).status_code == 200
    assert cloud.call("admin", "PUT", quota, api=1, json=limit).status_code == 200

    answers = _create_at_once(cloud)

    statuses = Counter(a.status_code for a in answers)
    others = {a.text for a in answers if a.status_code not in (202, 403)}
    assert statuses == {202: ADMITTED, 403: CREATES - ADMITTED}, (statuses, others)
    refused = {a.json()["errors"][0]["code"] for a in answers if a.status_code == 403}
    assert refused == {"container.over-quota"}
    admitted = {a.json()["uuid"] for a in answers if a.status_code == 202}
    assert cloud.listed() == admitted
    used = cloud.in_use()
    assert (used["containers"], used["memory"]) == (ADMITTED, ADMITTED * MEMORY)
    assert used["cpu"] == pytest.approx(ADMITTED * 0.1)

    _wait_created(cloud, admitted)
    assert cloud.on_engine() == ADMITTED
    _delete_and_wait(cloud, admitted)
    assert cloud.in_use() == {"containers": 0, "cpu": 0, "memory": 0, "disk": 0}
    assert cloud.on_engine() == 0
    assert cloud.call("admin", "DELETE", quota).status_code == 200


# -- quotas of another project ---------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "?usages=true", "/defaults"])
def test_a_member_reading_another_projects_quotas_gets_404(cloud: Cloud, suffix: str) -> None:
    theirs = cloud.call("member", "GET", cloud.quota("admin") + suffix, api=2)
    assert theirs.status_code == 404, theirs.text
    assert cloud.call("member", "GET", cloud.quota("team") + suffix).status_code == 200
    assert cloud.call("admin", "GET", cloud.quota("team") + suffix, api=1).status_code == 200


@pytest.mark.parametrize("project", ["admin", "team"])
def test_changing_quotas_is_for_admins_whatever_the_project(cloud: Cloud, project: str) -> None:
    for method, kw in (("PUT", {"json": {"containers": 1}}), ("DELETE", {})):
        refused = cloud.call("member", method, cloud.quota(project), **kw)
        assert refused.status_code == 403, refused.text
        assert "quota:" in refused.json()["errors"][0]["detail"]
    assert cloud.call("admin", "GET", cloud.quota(project)).json()["containers"] != 1


# -- identity changes reach every API process at once -----------------------------


def _refused_everywhere(cloud: Cloud, token: str) -> None:
    for api in range(APIS):
        url = cloud.cluster.urls[api] + "/v1/containers"
        answer = requests.get(url, headers={"X-Auth-Token": token}, timeout=60)
        assert answer.status_code == 401, (api, answer.text)


def _accepted_everywhere(cloud: Cloud, token: str) -> None:
    for api in range(APIS):
        url = cloud.cluster.urls[api] + "/v1/containers"
        answer = requests.get(url, headers={"X-Auth-Token": token}, timeout=60)
        assert answer.status_code == 200, (api, answer.text)


def _same_as_unknown(cloud: Cloud, refused: requests.Response) -> None:
    unknown = cloud.login("nobody-at-all", "whatever", "team", api=2)
    assert (refused.status_code, refused.json()) == (401, unknown.json())
    assert refused.json()["error"]["message"] == AUTH_FAILED


def test_disable_enable_and_delete_take_effect_on_every_api(cloud: Cloud) -> None:
    cloud.manage("user", "create", "erin", "--password-stdin", "--project", "team",
                 stdin="erin-password\n")  # fmt: skip
    token = cloud.token("erin", "erin-password", "team", api=0)
    _accepted_everywhere(cloud, token)

    assert "disabled user erin" in cloud.manage("user", "disable", "erin")
    _refused_everywhere(cloud, token)
    _same_as_unknown(cloud, cloud.login("erin", "erin-password", "team", api=1))

    cloud.manage("user", "enable", "erin")
    _refused_everywhere(cloud, token)  # tokens from before the disable stay dead
    again = cloud.token("erin", "erin-password", "team", api=2)
    _accepted_everywhere(cloud, again)

    cloud.manage("user", "delete", "erin")
    _refused_everywhere(cloud, again)
    _same_as_unknown(cloud, cloud.login("erin", "erin-password", "team", api=0))
    assert "erin" not in cloud.manage("user", "list")


def test_a_new_password_revokes_the_users_tokens_on_every_api(cloud: Cloud) -> None:
    cloud.manage("user", "create", "frank", "--password-stdin", "--project", "team",
                 stdin="frank-old\n")  # fmt: skip
    tokens = [cloud.token("frank", "frank-old", "team", api=i) for i in range(APIS)]
    _accepted_everywhere(cloud, tokens[0])

    cloud.manage("user", "set-password", "frank", "--password-stdin", stdin="frank-new\n")

    for token in tokens:
        _refused_everywhere(cloud, token)
    _same_as_unknown(cloud, cloud.login("frank", "frank-old", "team", api=1))
    _accepted_everywhere(cloud, cloud.token("frank", "frank-new", "team", api=2))
    # Another user's tokens are untouched.
    _accepted_everywhere(cloud, cloud.tokens["member"])


# -- the brute-force limit is one budget for all API processes --------------------


def test_failures_on_different_apis_add_up(cloud: Cloud) -> None:
    cloud.manage("user", "create", "grace", "--password-stdin", "--project", "team",
                 stdin="grace-password\n")  # fmt: skip
    for i in range(MAX_FAILURES):
        assert cloud.login("grace", "guess", "team", api=i).status_code == 401
    for api in range(APIS):
        refused = cloud.login("grace", "grace-password", "team", api=api)
        assert refused.status_code == 429, (api, refused.text)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_concurrent_guesses_over_every_api_get_exactly_the_limit(cloud: Cloud) -> None:
    cloud.manage("user", "create", "heidi", "--password-stdin", "--project", "team",
                 stdin="heidi-password\n")  # fmt: skip
    guesses = 30
    barrier = threading.Barrier(guesses)
    answers: list[int] = [0] * guesses

    def guess(i: int) -> None:
        barrier.wait()
        answers[i] = cloud.login("heidi", f"guess-{i}", "team", api=i).status_code

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(answers) == {401: MAX_FAILURES, 429: guesses - MAX_FAILURES}
    assert cloud.login("heidi", "heidi-password", "team", api=1).status_code == 429
    # Only heidi is blocked.
    assert cloud.login("member", MEMBER_PASSWORD, "team", api=1).status_code == 201
