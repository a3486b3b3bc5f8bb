"""auth_strategy = local over HTTP: Dockyard's Keystone-v3 subset and its token middleware."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.cmd.configuration import load_config
from dockyard.cmd.identity import bootstrap_admin, identity_admin, key_path, load_or_create_key
from dockyard.domain.identity import Claims
from dockyard.service.tokens import TokenSigner, new_token_id
from tests.conftest import Dockyard, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

LOCAL = [
    "[DEFAULT]",
    "auth_strategy = local",
    "[identity]",
    "password_hash_rounds = 4",
    "max_failures_per_user = 3",
    "max_failures_per_address = 50",
]
AUTH_REQUIRED = "The request you have made requires authentication."


@dataclass
class Local:
    service: Dockyard
    conf_file: Path
    admin_password: str

    def login(
        self, user: str = "admin", password: str | None = None, project: str = "admin"
    ) -> requests.Response:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": user,
                            "domain": {"name": "Default"},
                            "password": self.admin_password if password is None else password,
                        }
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        return self.service.session.post(
            self.service.url + "/v3/auth/tokens", json=body, timeout=30
        )

    def token(
        self, user: str = "admin", password: str | None = None, project: str = "admin"
    ) -> str:
        response = self.login(user, password, project)
        assert response.status_code == 201, response.text
        return str(response.headers["X-Subject-Token"])

    def api(self, method: str, path: str, token: str | None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["X-Auth-Token"] = token
        return self.service.request(method, path, headers=headers, **kw)  # type: ignore[no-any-return]


def _start(tmp: Path, client: docker.DockerClient, extra: list[str]) -> Local:
    service = start_dockyard(tmp, client, extra_config=extra)
    conf = load_config([f"--config-file={tmp / 'dockyard.conf'}"])
    created = bootstrap_admin(conf, service.node.db)
    assert created is not None
    path, text = created
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == text
    env = dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines() if line)
    assert env["OS_USERNAME"] == "admin" and env["OS_PROJECT_NAME"] == "admin"
    assert bootstrap_admin(conf, service.node.db) is None
    admin = identity_admin(conf, service.node.db)
    admin.create_project("team-b")
    admin.create_user("bob", "bob-password", "team-b", "member")
    return Local(service, tmp / "dockyard.conf", shlex.split(env["OS_PASSWORD"])[0])


@pytest.fixture(scope="module")
def local(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Local]:
    started = _start(tmp_path_factory.mktemp("local-identity"), docker_client, LOCAL)
    yield started
    stop_dockyard(started.service)


def assert_keystone_error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == status
    assert error["title"] and error["message"]
    return dict(error)


def test_version_document(local: Local) -> None:
    for path in ("/v3", "/v3/"):
        response = local.service.session.get(local.service.url + path, timeout=10)
        assert response.status_code == 200
        version = response.json()["version"]
        assert version["id"] == "v3.14"
        assert version["status"] == "stable"
        assert version["links"] == [{"rel": "self", "href": local.service.url + "/v3/"}]


def test_issue_token_keystone_shaped(local: Local) -> None:
    response = local.login()
    assert response.status_code == 201, response.text
    assert response.headers["X-Subject-Token"].startswith("dy1.")
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin"
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert [r["name"] for r in token["roles"]] == ["admin"]
    issued = dt.datetime.fromisoformat(token["issued_at"])
    expires = dt.datetime.fromisoformat(token["expires_at"])
    assert expires - issued == dt.timedelta(hours=1)
    [container] = [s for s in token["catalog"] if s["type"] == "container"]
    assert sorted(e["interface"] for e in container["endpoints"]) == [
        "admin",
        "internal",
        "public",
    ]
    for endpoint in container["endpoints"]:
        assert endpoint["url"] == local.service.url + "/v1"
        assert endpoint["region"] == endpoint["region_id"] == "RegionOne"
    assert local.admin_password not in response.text


@pytest.mark.parametrize(
    ("user", "password", "project"),
    [("admin", "wrong", "admin"), ("nobody", "x", "admin"), ("bob", "bob-password", "admin")],
)
def test_bad_credentials_are_401(local: Local, user: str, password: str, project: str) -> None:
    response = local.login(user, password, project)
    assert_keystone_error(response, 401)
    assert "X-Subject-Token" not in response.headers


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {}}}}},
        {"auth": {"identity": {"methods": "password"}}},
    ],
)
def test_malformed_auth_requests_are_400(local: Local, body: dict[str, Any]) -> None:
    response = local.service.session.post(
        local.service.url + "/v3/auth/tokens", json=body, timeout=10
    )
    assert_keystone_error(response, 400)


def test_token_opens_the_api_and_public_routes_need_none(local: Local) -> None:
    token = local.token()
    assert local.api("GET", "/v1/containers", token).status_code == 200
    for path in ("/", "/v1", "/v1/", "/v1.json", "/v1/openapi.json", "/openapi.json"):
        assert local.api("GET", path, None).status_code == 200, path
    assert local.api("GET", "/v1/containers.json", None).status_code == 401


def _forged_tokens(local: Local) -> dict[str, str]:
    good = local.token()
    prefix, payload, signature = good.split(".")
    info = local.service.session.get(
        local.service.url + "/v3/auth/tokens",
        headers={"X-Auth-Token": good, "X-Subject-Token": good},
        timeout=10,
    ).json()["token"]
    now = dt.datetime.now(dt.UTC)
    expired = Claims(
        new_token_id(),
        info["user"]["id"],
        info["project"]["id"],
        ("admin",),
        now - dt.timedelta(hours=2),
        now - dt.timedelta(hours=1),
    )
    key = load_or_create_key(key_path(load_config([f"--config-file={local.conf_file}"])))
    current = dataclasses.replace(expired, expires_at=now + dt.timedelta(hours=1))
    return {
        "missing": "",
        "malformed": "notused",
        "bad signature": f"{prefix}.{payload}.{signature[::-1]}",
        "other key": TokenSigner(b"x" * 32).sign(current),
        "expired": TokenSigner(key).sign(expired),
    }


def test_bad_tokens_are_401_with_keystone_body(local: Local) -> None:
    for why, token in _forged_tokens(local).items():
        response = local.api("GET", "/v1/containers", token or None)
        error = assert_keystone_error(response, 401)
        assert error["message"] == AUTH_REQUIRED, why
        assert response.headers["WWW-Authenticate"] == (f'Keystone uri="{local.service.url}/v3"'), (
            why
        )


def test_validate_and_revoke(local: Local) -> None:
    admin, bob = local.token(), local.token("bob", "bob-password", "team-b")
    url = local.service.url + "/v3/auth/tokens"
    session = local.service.session

    checked = session.get(url, headers={"X-Auth-Token": admin, "X-Subject-Token": bob})
    assert checked.status_code == 200
    assert checked.headers["X-Subject-Token"] == bob
    assert checked.json()["token"]["user"]["name"] == "bob"
    assert (
        "catalog"
        not in session.get(
            url + "?nocatalog", headers={"X-Auth-Token": bob, "X-Subject-Token": bob}
        ).json()["token"]
    )
    head = session.head(url, headers={"X-Auth-Token": bob, "X-Subject-Token": bob})
    assert head.status_code == 200
    # bob is no admin: he may check only his own tokens.
    forbidden = session.get(url, headers={"X-Auth-Token": bob, "X-Subject-Token": admin})
    assert_keystone_error(forbidden, 403)
    assert_keystone_error(session.get(url, headers={"X-Subject-Token": bob}), 401)
    assert_keystone_error(session.get(url, headers={"X-Auth-Token": bob}), 400)

    assert (
        session.delete(url, headers={"X-Auth-Token": bob, "X-Subject-Token": bob}).status_code
        == 204
    )
    assert_keystone_error(local.api("GET", "/v1/containers", bob), 401)
    missing = session.get(url, headers={"X-Auth-Token": admin, "X-Subject-Token": bob})
    assert_keystone_error(missing, 404)
    assert local.api("GET", "/v1/containers", admin).status_code == 200


def test_identity_headers_cannot_be_spoofed(local: Local) -> None:
    admin = local.token()
    created = local.api(
        "POST",
        "/v1/containers",
        admin,
        json={"image": "dockyard-test/busybox:latest", "name": "admins-box", "memory": 32},
    )
    assert created.status_code == 202, created.text
    admin_project = created.json()["project_id"]

    spoof = {
        "X-User-Id": "admin",
        "X-Project-Id": admin_project,
        "X-Roles": "admin",
        "X-Identity-Status": "Confirmed",
        "X-Tenant-Id": admin_project,
        "X-Is-Admin-Project": "True",
    }
    # Headers alone are no identity at all.
    assert_keystone_error(local.api("GET", "/v1/containers", None, headers=spoof), 401)
    # With bob's token they are replaced by bob's identity.
    bob = local.token("bob", "bob-password", "team-b")
    listed = local.api("GET", "/v1/containers", bob, headers=spoof)
    assert listed.status_code == 200, listed.text
    assert listed.json()["containers"] == []
    widened = local.api("GET", "/v1/containers?all_projects=1", bob, headers=spoof)
    assert widened.status_code == 403, widened.text  # bob is no admin
    shown = local.api("GET", f"/v1/containers/{created.json()['uuid']}", bob, headers=spoof)
    assert shown.status_code == 404
    mine = local.api(
        "POST",
        "/v1/containers",
        bob,
        headers=spoof,
        json={"image": "dockyard-test/busybox:latest", "name": "bobs-box", "memory": 32},
    )
    assert mine.status_code == 202, mine.text
    assert mine.json()["project_id"] != admin_project
    # The admin sees both with all_projects.
    everything = local.api("GET", "/v1/containers?all_projects=1", admin).json()["containers"]
    assert {c["name"] for c in everything} >= {"admins-box", "bobs-box"}
    for ident, token in ((created.json()["uuid"], admin), (mine.json()["uuid"], bob)):
        local.api("DELETE", f"/v1/containers/{ident}?force=true", token)


def test_quotas_of_another_project_are_not_found(local: Local) -> None:
    admin_login = local.login()
    bob_login = local.login("bob", "bob-password", "team-b")
    admin = admin_login.headers["X-Subject-Token"]
    bob = bob_login.headers["X-Subject-Token"]
    admins_project = admin_login.json()["token"]["project"]["id"]
    bobs_project = bob_login.json()["token"]["project"]["id"]
    for suffix in ("", "?usages=true", "/defaults"):
        theirs = local.api("GET", f"/v1/quotas/{admins_project}{suffix}", bob)
        assert theirs.status_code == 404, theirs.text
        assert theirs.json()["errors"][0]["code"] == "container.resource-not-found"
        assert local.api("GET", f"/v1/quotas/{bobs_project}{suffix}", bob).status_code == 200
        assert local.api("GET", f"/v1/quotas/{bobs_project}{suffix}", admin).status_code == 200
    # Changing quotas is an admin operation, whichever project: 403 for bob on both.
    for project in (admins_project, bobs_project):
        put = local.api("PUT", f"/v1/quotas/{project}", bob, json={"containers": 1})
        delete = local.api("DELETE", f"/v1/quotas/{project}", bob)
        assert (put.status_code, delete.status_code) == (403, 403), (put.text, delete.text)
        assert "quota:update" in put.text and "quota:delete" in delete.text
        assert local.api("GET", f"/v1/quotas/{project}", admin).json()["containers"] != 1


def test_brute_force_per_user_gets_429(local: Local) -> None:
    # The module's limit: 3 failures per user name per minute.
    admin = identity_admin(load_config([f"--config-file={local.conf_file}"]), local.service.node.db)
    admin.create_user("carol", "carol-password", "team-b", "member")
    for _ in range(3):
        assert_keystone_error(local.login("carol", "guess", "team-b"), 401)
    refused = local.login("carol", "carol-password", "team-b")
    error = assert_keystone_error(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "carol-password" not in error["message"]
    # Other users are not affected.
    assert local.login("bob", "bob-password", "team-b").status_code == 201


def test_brute_force_per_address_gets_429(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    extra = [*LOCAL, "max_failures_per_address = 4"]
    started = _start(tmp_path, docker_client, extra)
    try:
        for i in range(4):
            assert_keystone_error(started.login(f"guess-{i}", "guess"), 401)
        refused = started.login()
        assert_keystone_error(refused, 429)
        assert int(refused.headers["Retry-After"]) >= 1
    finally:
        stop_dockyard(started.service)
