"""auth_strategy = keystone against a real Keystone: tokens, project isolation, personas.

One Keystone and one all-in-one Dockyard serve the module. Project A's member owns a
running container. Members and readers of project B must not reach it (404, never
403, and absent from lists); A's reader may only read it; the admin sees it with
``all_projects``. Driven over HTTP with tokens, then with `zun` and
`openstack appcontainer` using ordinary OS_* credentials.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from cryptography.fernet import Fernet

from tests.conftest import (
    LATEST,
    TEST_IMAGE,
    Dockyard,
    free_port,
    require,
    start_dockyard,
    stop_dockyard,
)
from tests.support.keystone import ADMIN_PASSWORD, VENV, Keystone

pytestmark = pytest.mark.docker

PASSWORD = "persona-password"
SERVICE_PASSWORD = "dockyard-service-password"
#: user -> (project, role)
PEOPLE = {
    "a-member": ("proj-a", "member"),
    "a-reader": ("proj-a", "reader"),
    "b-member": ("proj-b", "member"),
    "b-reader": ("proj-b", "reader"),
}
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; echo started; sleep 300 & wait"]
BIN = Path(sys.executable).parent
UNAUTHORIZED = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def _tar() -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("planted.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return base64.b64encode(buffer.getvalue()).decode()


# (label, method, path after /v1/containers/<ident>, request kwargs, microversion)
ENDPOINTS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("show", "GET", "", {}, LATEST),
    ("update", "PATCH", "", {"json": {"name": "stolen"}}, LATEST),
    ("delete", "DELETE", "", {}, LATEST),
    ("delete_force", "DELETE", "", {"params": {"force": "true"}}, LATEST),
    ("start", "POST", "/start", {}, LATEST),
    ("stop", "POST", "/stop", {}, LATEST),
    ("reboot", "POST", "/reboot", {}, LATEST),
    ("pause", "POST", "/pause", {}, LATEST),
    ("unpause", "POST", "/unpause", {}, LATEST),
    ("kill", "POST", "/kill", {"params": {"signal": "SIGKILL"}}, LATEST),
    ("logs", "GET", "/logs", {}, LATEST),
    ("execute", "POST", "/execute", {"params": {"command": "ls", "run": "true"}}, LATEST),
    ("top", "GET", "/top", {}, LATEST),
    ("stats", "GET", "/stats", {}, LATEST),
    ("get_archive", "GET", "/get_archive", {"params": {"path": "/etc/hostname"}}, LATEST),
    ("put_archive", "POST", "/put_archive", {"json": {"path": "/tmp", "data": _tar()}}, LATEST),
    ("commit", "POST", "/commit", {"params": {"repository": "stolen/copy"}}, LATEST),
    ("rebuild", "POST", "/rebuild", {}, LATEST),
    ("rename", "POST", "/rename", {"params": {"name": "stolen"}}, "container 1.13"),
    ("resize_container", "POST", "/resize_container", {"json": {"cpu": 0.2}}, LATEST),
    ("network_list", "GET", "/network_list", {}, LATEST),
    ("container_actions", "GET", "/container_actions", {}, LATEST),
    ("container_action", "GET", "/container_actions/{request_id}", {}, LATEST),
]
READS = ["show", "logs", "top", "stats", "get_archive", "container_actions", "container_action"]
# label -> the rule a reader of the owning project fails
WRITES = {
    "update": "container:update",
    "delete": "container:delete",
    "stop": "container:stop",
    "pause": "container:pause",
    "kill": "container:kill",
    "execute": "container:execute",
    "put_archive": "container:put_archive",
    "commit": "container:commit",
    "rebuild": "container:rebuild",
    "resize_container": "container:resize_container",
}


@dataclass
class Cloud:
    keystone: Keystone
    dockyard: Dockyard
    tokens: dict[str, str]
    uuid: str
    name: str
    request_id: str

    def call(
        self, who: str, method: str, path: str, version: str = LATEST, **kw: Any
    ) -> requests.Response:
        headers = {"X-Auth-Token": self.tokens[who], **kw.pop("headers", {})}
        response: requests.Response = self.dockyard.request(
            method, path, version, headers=headers, **kw
        )
        return response

    def endpoint(self, who: str, label: str, ident: str | None = None) -> requests.Response:
        _, method, suffix, kwargs, version = next(e for e in ENDPOINTS if e[0] == label)
        path = f"/v1/containers/{ident or self.uuid}" + suffix.format(request_id=self.request_id)
        return self.call(who, method, path, version, **kwargs)

    def wait(self, status: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.call("a-member", "GET", f"/v1/containers/{self.uuid}").json()
            if found["status"] == status and found["task_state"] is None:
                return dict(found)
            assert time.monotonic() < deadline, f"stayed {found['status']}/{found['task_state']}"
            time.sleep(0.2)

    def listed(self, who: str, **params: str) -> set[str]:
        response = self.call(who, "GET", "/v1/containers", params=params)
        assert response.status_code == 200, response.text
        return {c["uuid"] for c in response.json()["containers"]}


@pytest.fixture(scope="module")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    require((VENV / "keystone-manage").exists(), "Keystone; run scripts/ensure-keystone.sh")
    server = Keystone(Path(tmp_path_factory.mktemp("keystone")), free_port())
    server.setup()
    server.start()
    yield server
    server.stop()


def _keystone_config(keystone: Keystone) -> list[str]:
    return [
        "[DEFAULT]",
        "auth_strategy = keystone",
        "[keystone_authtoken]",
        f"www_authenticate_uri = {keystone.url}",
        f"auth_url = {keystone.url}",
        "auth_type = password",
        "username = dockyard",
        f"password = {SERVICE_PASSWORD}",
        "project_name = service",
        "user_domain_id = default",
        "project_domain_id = default",
        "interface = public",
        # Validate every request, so a revoked token is refused at once.
        "token_cache_time = -1",
    ]


@pytest.fixture(scope="module")
def cloud(
    keystone: Keystone,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cloud]:
    for project in ("proj-a", "proj-b", "service"):
        keystone.project(project)
    for user, (project, role) in PEOPLE.items():
        keystone.user(user, PASSWORD, project, role)
    keystone.user("dockyard", SERVICE_PASSWORD, "service", "service")
    dockyard = start_dockyard(
        tmp_path_factory.mktemp("dockyard"), docker_client, extra_config=_keystone_config(keystone)
    )
    keystone.register("container", "dockyard", dockyard.url + "/v1")
    tokens = {
        user: keystone.token(user, PASSWORD, project) for user, (project, _) in PEOPLE.items()
    }
    tokens["admin"] = keystone.token("admin", ADMIN_PASSWORD, "admin")
    body = {"image": TEST_IMAGE, "command": SLEEPER, "memory": 32, "cpu": 0.1, "name": "a-box"}
    created = dockyard.request(
        "POST", "/v1/containers?run=true", json=body, headers={"X-Auth-Token": tokens["a-member"]}
    )
    assert created.status_code == 202, created.text
    request_id = created.headers["X-OpenStack-Request-Id"]
    service = Cloud(keystone, dockyard, tokens, created.json()["uuid"], "a-box", request_id)
    service.wait("Running")
    yield service
    stop_dockyard(dockyard)


# -- project isolation -----------------------------------------------------


@pytest.mark.parametrize("who", ["b-member", "b-reader"])
@pytest.mark.parametrize("label", [e[0] for e in ENDPOINTS])
def test_another_project_gets_not_found(cloud: Cloud, who: str, label: str) -> None:
    response = cloud.endpoint(who, label)

    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["code"] == "container.container-not-found"


@pytest.mark.parametrize("label", ["show", "update", "stop", "delete"])
def test_another_project_cannot_use_the_name_either(cloud: Cloud, label: str) -> None:
    assert cloud.endpoint("b-member", label, ident=cloud.name).status_code == 404


def test_another_project_does_not_list_it(cloud: Cloud) -> None:
    assert cloud.uuid in cloud.listed("a-member")
    assert cloud.uuid not in cloud.listed("b-member")
    assert cloud.uuid not in cloud.listed("b-member", name="a-box")


@pytest.mark.parametrize("who", ["b-member", "b-reader", "a-member", "a-reader"])
def test_all_projects_is_refused_to_non_admins(cloud: Cloud, who: str) -> None:
    listing = cloud.call(who, "GET", "/v1/containers", params={"all_projects": "1"})
    shown = cloud.call(who, "GET", f"/v1/containers/{cloud.uuid}", params={"all_projects": "1"})

    assert listing.status_code == 403
    error = listing.json()["errors"][0]
    assert error["code"] == "container.policy-not-authorized"
    assert "container:get_all_all_projects" in error["detail"]
    assert shown.status_code == 403
    assert "container:get_one_all_projects" in shown.json()["errors"][0]["detail"]


def test_spoofed_identity_headers_are_ignored(cloud: Cloud) -> None:
    spoof = {"X-Roles": "admin", "X-Project-Id": "whatever", "X-Identity-Status": "Confirmed"}
    response = cloud.call(
        "b-member", "GET", "/v1/containers", params={"all_projects": "1"}, headers=spoof
    )

    assert response.status_code == 403


def test_the_container_survived_every_attempt(cloud: Cloud) -> None:
    found = cloud.wait("Running")

    assert found["name"] == "a-box"
    assert float(found["cpu"]) == 0.1


# -- the admin -------------------------------------------------------------


def test_admin_sees_every_project_only_with_all_projects(cloud: Cloud) -> None:
    assert cloud.uuid not in cloud.listed("admin")
    assert cloud.uuid in cloud.listed("admin", all_projects="1")


@pytest.mark.parametrize("label", READS)
def test_admin_reads_any_project(cloud: Cloud, label: str) -> None:
    response = cloud.endpoint("admin", label)

    assert response.status_code == 200, response.text


def test_admin_sees_admin_fields_and_members_do_not(cloud: Cloud) -> None:
    path = f"/v1/containers/{cloud.uuid}"
    admin = cloud.call("admin", "GET", path, params={"all_projects": "1"}).json()
    member = cloud.call("a-member", "GET", path).json()

    assert admin["host"] == cloud.dockyard.host
    assert {"host", "runtime", "privileged", "image_pull_policy"}.isdisjoint(member)


def test_admin_changes_any_project(cloud: Cloud) -> None:
    path = f"/v1/containers/{cloud.uuid}"
    renamed = cloud.call("admin", "PATCH", path, json={"name": "renamed-by-admin"})
    restored = cloud.call("admin", "PATCH", path, json={"name": cloud.name})

    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed-by-admin"
    assert restored.status_code == 200


# -- quotas: reading another project's is a 404, changing any is for admins ------


@pytest.mark.parametrize("suffix", ["", "?usages=true", "/defaults"])
@pytest.mark.parametrize("who", ["b-member", "b-reader"])
def test_another_projects_quotas_are_not_found(cloud: Cloud, who: str, suffix: str) -> None:
    theirs = f"/v1/quotas/{cloud.keystone.project_id('proj-a')}{suffix}"
    own = f"/v1/quotas/{cloud.keystone.project_id('proj-b')}{suffix}"

    refused = cloud.call(who, "GET", theirs)

    assert refused.status_code == 404, refused.text
    assert refused.json()["errors"][0]["code"] == "container.resource-not-found"
    assert cloud.call(who, "GET", own).status_code == 200
    assert cloud.call("admin", "GET", theirs).status_code == 200


@pytest.mark.parametrize("project", ["proj-a", "proj-b"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_only_admins_change_quotas(cloud: Cloud, project: str, method: str) -> None:
    path = f"/v1/quotas/{cloud.keystone.project_id(project)}"
    kw: dict[str, Any] = {"json": {"containers": 3}} if method == "PUT" else {}

    refused = cloud.call("a-member", method, path, **kw)

    assert refused.status_code == 403, refused.text
    assert f"quota:{'update' if method == 'PUT' else 'delete'}" in refused.text
    assert cloud.call("admin", "GET", path).json()["containers"] != 3


# -- personas inside the owning project ------------------------------------


@pytest.mark.parametrize("label", READS)
def test_the_projects_reader_reads(cloud: Cloud, label: str) -> None:
    response = cloud.endpoint("a-reader", label)

    assert response.status_code == 200, response.text
    assert cloud.uuid in cloud.listed("a-reader")


@pytest.mark.parametrize("label", sorted(WRITES))
def test_the_projects_reader_cannot_write(cloud: Cloud, label: str) -> None:
    response = cloud.endpoint("a-reader", label)

    assert response.status_code == 403, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "container.policy-not-authorized"
    assert WRITES[label] in error["detail"]


def test_the_reader_cannot_create(cloud: Cloud) -> None:
    body = {"image": TEST_IMAGE, "memory": 32, "cpu": 0.1}
    response = cloud.call("a-reader", "POST", "/v1/containers", json=body)

    assert response.status_code == 403
    assert "container:create" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("privileged", True, "container:create:privileged"),
        ("runtime", "runc", "container:create:runtime"),
        ("host", "anywhere", "container:create:requested_destination"),
        ("image_pull_policy", "always", "container:create:image_pull_policy"),
    ],
)
def test_admin_only_create_fields_are_refused_to_members(
    cloud: Cloud, field: str, value: object, rule: str
) -> None:
    before = cloud.listed("a-member")
    body = {"image": TEST_IMAGE, "memory": 32, "cpu": 0.1, field: value}
    response = cloud.call("a-member", "POST", "/v1/containers", json=body)

    assert response.status_code == 403, response.text
    assert rule in response.json()["errors"][0]["detail"]
    assert cloud.listed("a-member") == before


def test_the_projects_member_writes(cloud: Cloud) -> None:
    assert cloud.endpoint("a-member", "pause").status_code == 202
    cloud.wait("Paused")
    assert cloud.endpoint("a-member", "unpause").status_code == 202
    cloud.wait("Running")
    executed = cloud.endpoint("a-member", "execute")
    assert executed.status_code == 200 and executed.json()["exit_code"] == 0


# -- tokens ----------------------------------------------------------------


def _assert_unauthorized(response: requests.Response, keystone: Keystone) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'


def _forged() -> str:
    # A well-formed fernet token made with a key Keystone never had.
    return Fernet(Fernet.generate_key()).encrypt(b"\x92\x02\x00").decode().rstrip("=")


@pytest.mark.parametrize(
    "token", [None, "", "not a token", "gAAAAAB" + "x" * 180, "../../etc/passwd", "forged"]
)
def test_bad_tokens_are_refused(cloud: Cloud, token: str | None) -> None:
    headers = {} if token is None else {"X-Auth-Token": _forged() if token == "forged" else token}
    for path in ("/v1/containers", f"/v1/containers/{cloud.uuid}", "/containers"):
        _assert_unauthorized(cloud.dockyard.request("GET", path, headers=headers), cloud.keystone)


def test_expired_tokens_are_refused(cloud: Cloud) -> None:
    user = cloud.keystone._id("users", "a-member")
    project = cloud.keystone._id("projects", "proj-a")
    fresh = cloud.keystone.fernet_token(user, project, expires_in=600)
    expired = cloud.keystone.fernet_token(user, project, expires_in=-600)

    # The same kind of token is accepted while it is valid: only the expiry differs.
    assert (
        cloud.dockyard.request("GET", "/v1/containers", headers={"X-Auth-Token": fresh}).status_code
        == 200
    )
    response = cloud.dockyard.request("GET", "/v1/containers", headers={"X-Auth-Token": expired})
    _assert_unauthorized(response, cloud.keystone)


def test_revoked_tokens_are_refused(cloud: Cloud) -> None:
    token = cloud.keystone.token("a-member", PASSWORD, "proj-a")
    headers = {"X-Auth-Token": token}
    assert cloud.dockyard.request("GET", "/v1/containers", headers=headers).status_code == 200

    revoked = requests.delete(
        cloud.keystone.url + "/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=30,
    )
    assert revoked.status_code == 204
    response = cloud.dockyard.request("GET", "/v1/containers", headers=headers)
    _assert_unauthorized(response, cloud.keystone)


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/", "/v1.json", "/.json"])
def test_discovery_documents_need_no_token(cloud: Cloud, path: str) -> None:
    response = requests.get(cloud.dockyard.url + path, timeout=30)

    assert response.status_code == 200
    assert "versions" in response.json() or response.json()["id"] == "v1"


@pytest.mark.parametrize("path", ["/v1/openapi.json", "/openapi.json"])
def test_the_openapi_document_needs_no_token(cloud: Cloud, path: str) -> None:
    response = requests.get(cloud.dockyard.url + path, timeout=30)

    assert response.status_code == 200, response.text
    assert response.json()["openapi"].startswith("3.1")


# -- the OpenStack clients -------------------------------------------------


def _client(cloud: Cloud, who: str, *argv: str) -> subprocess.CompletedProcess[str]:
    project = PEOPLE[who][0] if who in PEOPLE else "admin"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_URL=cloud.keystone.url,
        OS_AUTH_TYPE="password",
        OS_IDENTITY_API_VERSION="3",
        OS_USERNAME=who,
        OS_PASSWORD=ADMIN_PASSWORD if who == "admin" else PASSWORD,
        OS_PROJECT_NAME=project,
        OS_USER_DOMAIN_ID="default",
        OS_PROJECT_DOMAIN_ID="default",
        OS_REGION_NAME="RegionOne",
        OS_INTERFACE="public",
    )
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_zun_cli_sees_only_its_project(cloud: Cloud) -> None:
    mine = _client(cloud, "a-member", "zun", "list")
    theirs = _client(cloud, "b-member", "zun", "list")
    everyone = _client(cloud, "admin", "zun", "list", "--all-projects")
    peek = _client(cloud, "b-member", "zun", "show", cloud.uuid)

    assert mine.returncode == 0 and cloud.uuid in mine.stdout, mine.stderr
    assert theirs.returncode == 0 and cloud.uuid not in theirs.stdout, theirs.stderr
    assert everyone.returncode == 0 and cloud.uuid in everyone.stdout, everyone.stderr
    assert peek.returncode != 0 and "could not be found" in peek.stderr, peek


def test_openstack_cli_sees_only_its_project(cloud: Cloud) -> None:
    def uuids(who: str, *extra: str) -> set[str]:
        done = _client(cloud, who, "openstack", "appcontainer", "list", "-f", "json", *extra)
        assert done.returncode == 0, done.stderr
        return {c["uuid"] for c in json.loads(done.stdout)}

    assert cloud.uuid in uuids("a-reader")
    assert cloud.uuid not in uuids("b-member")
    assert cloud.uuid in uuids("admin", "--all-projects")
    peek = _client(cloud, "b-member", "openstack", "appcontainer", "show", cloud.uuid)
    assert peek.returncode != 0 and "could not be found" in peek.stderr, peek
    stop = _client(cloud, "a-reader", "openstack", "appcontainer", "stop", cloud.uuid)
    assert "container:stop" in stop.stdout + stop.stderr
    assert cloud.wait("Running")


def _dashboard_login(cloud: Cloud, user: str, project: str) -> requests.Session:
    """Log in to the dashboard as a browser does: open the page, then post the form."""
    browser = requests.Session()
    base = cloud.dockyard.url + "/dashboard"
    assert browser.get(base + "/", timeout=30).status_code == 200
    csrf = browser.cookies["dockyard_csrf"]
    form = {"username": user, "password": PASSWORD, "project": project}
    done = browser.post(base + "/login", json=form, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert done.status_code == 200, done.text
    assert done.json()["project"]["name"] == project
    browser.headers["X-CSRF-Token"] = browser.cookies["dockyard_csrf"]
    return browser


def test_the_dashboard_logs_in_with_keystone_and_sees_only_its_project(cloud: Cloud) -> None:
    api = cloud.dockyard.url + "/dashboard/api/v1/containers"
    version = {"OpenStack-API-Version": LATEST}
    mine = _dashboard_login(cloud, "a-member", "proj-a")
    theirs = _dashboard_login(cloud, "b-member", "proj-b")
    assert cloud.uuid in [c["uuid"] for c in mine.get(api, headers=version).json()["containers"]]
    assert theirs.get(api, headers=version).json()["containers"] == []
    session = mine.get(cloud.dockyard.url + "/dashboard/session", timeout=30)
    assert session.status_code == 200, session.text  # Keystone lets a token check itself
    assert session.json()["user"]["name"] == "a-member"
    peek = theirs.get(f"{api}/{cloud.uuid}", headers=version, timeout=30)
    assert peek.status_code == 404

    wrong = requests.Session()
    wrong.get(cloud.dockyard.url + "/dashboard/", timeout=30)
    refused = wrong.post(
        cloud.dockyard.url + "/dashboard/login",
        json={"username": "a-member", "password": "wrong", "project": "proj-a"},
        headers={"X-CSRF-Token": wrong.cookies["dockyard_csrf"]},
        timeout=30,
    )
    assert refused.status_code == 401 and "dockyard_token" not in wrong.cookies

    token = theirs.cookies["dockyard_token"]
    assert theirs.post(cloud.dockyard.url + "/dashboard/logout", timeout=30).status_code == 204
    after = cloud.dockyard.request("GET", "/v1/containers", headers={"X-Auth-Token": token})
    assert after.status_code == 401  # Keystone revoked it


def test_dockyard_cli_logs_in_to_keystone(cloud: Cloud, tmp_path: Path) -> None:
    """The native CLI: `dockyard login` against Keystone keeps a token, then works with it."""

    def dockyard(who: str, *argv: str, stdin: str | None = None) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(HOME=str(tmp_path / who), XDG_CONFIG_HOME=str(tmp_path / who / "config"))
        return subprocess.run([str(BIN / "dockyard"), *argv], env=env, input=stdin,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    short = cloud.uuid.replace("-", "")[:12]
    for who in ("a-reader", "b-member"):
        done = dockyard(who, "login", cloud.keystone.url, "-u", who, "--project", PEOPLE[who][0],
                        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        assert done.returncode == 0 and "Login Succeeded" in done.stdout, done.stderr
        saved = (tmp_path / who / "config" / "dockyard" / "login.json").read_text()
        assert PASSWORD not in saved and json.loads(saved)["project"] == PEOPLE[who][0]
        assert json.loads(saved)["endpoint"] == cloud.dockyard.url + "/v1"

    mine = dockyard("a-reader", "ps", "-q")
    assert mine.returncode == 0 and mine.stdout == short + "\n", mine.stderr
    assert json.loads(dockyard("a-reader", "inspect", "a-box").stdout)[0]["uuid"] == cloud.uuid
    refused = dockyard("a-reader", "stop", "a-box")
    assert refused.returncode == 1 and "container:stop" in refused.stderr, refused.stderr
    theirs = dockyard("b-member", "ps", "-aq")
    assert theirs.returncode == 0 and theirs.stdout == "", theirs.stderr
    hidden = dockyard("b-member", "inspect", cloud.uuid)
    assert hidden.returncode == 1 and "No such container" in hidden.stderr
    assert dockyard("a-reader", "logout").returncode == 0
    assert dockyard("a-reader", "ps").returncode == 1
    assert cloud.wait("Running")


# -- the /v2.0 network subset ------------------------------------------------


def test_the_network_api_takes_keystone_tokens_and_scopes_by_project(cloud: Cloud) -> None:
    _assert_unauthorized(cloud.dockyard.request("GET", "/v2.0/networks"), cloud.keystone)
    body = {"network": {"name": "ks-net"}}
    created = cloud.call("a-member", "POST", "/v2.0/networks", json=body)
    assert created.status_code == 201, created.text
    network = created.json()["network"]
    assert network["project_id"] == cloud.keystone._id("projects", "proj-a")
    path = f"/v2.0/networks/{network['id']}"
    assert cloud.call("a-reader", "GET", path).status_code == 200
    for method, where in (("POST", "/v2.0/networks"), ("DELETE", path)):
        refused = cloud.call("a-reader", method, where, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
    # Hers, and her project's own network if a container made it: only project A's.
    listed = cloud.call("a-member", "GET", "/v2.0/networks").json()["networks"]
    assert network["id"] in [n["id"] for n in listed]
    assert {n["project_id"] for n in listed} == {network["project_id"]}
    hidden = cloud.call("b-member", "GET", path)
    assert hidden.status_code == 404 and hidden.json()["NeutronError"]["type"] == "NetworkNotFound"
    assert cloud.call("b-member", "GET", "/v2.0/networks").json()["networks"] == []
    assert cloud.call("admin", "GET", path).status_code == 200
    assert cloud.call("a-member", "DELETE", path).status_code == 204


# -- the /volume block-storage subset -----------------------------------------


def test_the_volume_api_takes_keystone_tokens_and_scopes_by_project(cloud: Cloud) -> None:
    service = cloud.dockyard
    versions = service.session.get(service.url + "/volume/", timeout=30)  # no token, as Cinder
    assert versions.status_code == 300 and versions.json()["versions"][0]["id"] == "v3.0"
    a_project = cloud.keystone._id("projects", "proj-a")
    b_project = cloud.keystone._id("projects", "proj-b")
    volumes = f"/volume/v3/{a_project}/volumes"
    _assert_unauthorized(service.request("GET", volumes), cloud.keystone)
    created = cloud.call("a-member", "POST", volumes, json={"volume": {"size": 1, "name": "ks"}})
    assert created.status_code == 202, created.text
    volume = created.json()["volume"]
    assert volume["os-vol-tenant-attr:tenant_id"] == a_project
    path = f"{volumes}/{volume['id']}"
    assert cloud.call("a-reader", "GET", path).status_code == 200
    refused = cloud.call("a-reader", "DELETE", path)
    assert refused.status_code == 403 and "forbidden" in refused.json()
    assert cloud.call("b-member", "GET", path).status_code == 400  # not B's project in the URL
    theirs = f"/volume/v3/{b_project}/volumes/{volume['id']}"
    assert cloud.call("b-member", "GET", theirs).json()["itemNotFound"]["code"] == 404
    assert cloud.call("a-member", "DELETE", path).status_code == 202
    assert cloud.call("a-member", "GET", f"{volumes}/detail").json()["volumes"] == []
