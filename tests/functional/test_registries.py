"""Private registries over HTTP under local auth, pulling from a registry that demands a login.

One service for the module (auth_strategy = local, every create asks the registry:
default_image_pull_policy = always); its whole log goes to a file the last test greps.
Projects: team-a (alice), team-b (bob), admin (admin).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.models import LABEL_CONTAINER_ID
from tests.conftest import (
    PRIVATE_IMAGE,
    PRIVATE_PASSWORD,
    PRIVATE_REGISTRY,
    PRIVATE_USER,
    TEST_IMAGE,
    Dockyard,
    forget_private_image,
    require_private_registry,
    start_dockyard,
    stop_dockyard,
)
from tests.support.projects import two_projects

pytestmark = pytest.mark.docker

WRONG_PASSWORD = "Wrong-Password-1f3a9"
#: Exits on SIGTERM, so a delete with stop does not wait for the engine's 10 s kill.
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"]
#: Passwords stored in this module: none may ever come back or reach the log.
SECRETS = [PRIVATE_PASSWORD, WRONG_PASSWORD, "b0b-registry-secret", "Changed-Secret-77"]
CONFIG = [
    "[DEFAULT]",
    "auth_strategy = local",
    "default_image_pull_policy = always",
    "[identity]",
    "password_hash_rounds = 4",
]


@dataclass
class User:
    service: Dockyard
    token: str
    project_id: str = ""

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.service.request(method, path, headers=headers, **kw)  # type: ignore[no-any-return]

    def registry(self, **fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/v1/registries", json={"registry": fields})
        assert response.status_code == 201, response.text
        return dict(response.json()["registry"])

    def run(self, **body: Any) -> requests.Response:
        body = {
            "image": PRIVATE_IMAGE,
            "memory": 32,
            "cpu": 0.1,
            "command": QUICK_STOP,
            **body,
        }
        return self.call("POST", "/v1/containers?run=true", json=body)

    def wait(self, ident: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            current = self.call("GET", f"/v1/containers/{ident}").json()
            if current["status"] in statuses and current["task_state"] is None:
                return dict(current)
            assert time.monotonic() < deadline, f"{ident}: {current['status']}"
            time.sleep(0.2)

    def delete_container(self, ident: str) -> None:
        response = self.call("DELETE", f"/v1/containers/{ident}?stop=true")
        assert response.status_code == 204, response.text
        deadline = time.monotonic() + 30
        while self.call("GET", f"/v1/containers/{ident}").status_code != 404:
            assert time.monotonic() < deadline, f"{ident} was not deleted"
            time.sleep(0.2)

    def usage(self) -> tuple[int, dict[str, Any]]:
        """(containers listed, quota usages) of the user's project."""
        listed = self.call("GET", "/v1/containers").json()["containers"]
        quota = self.call("GET", f"/v1/quotas/{self.project_id}?usages=true")
        assert quota.status_code == 200, quota.text
        return len(listed), dict(quota.json())


@dataclass
class World:
    service: Dockyard
    alice: User
    bob: User
    admin: User
    log: Path
    bodies: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[World]:
    require_private_registry(docker_client)
    tmp = tmp_path_factory.mktemp("registries")
    log = tmp / "service.log"
    handler = logging.FileHandler(log)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    service = start_dockyard(tmp, docker_client, extra_config=CONFIG)
    try:
        logins = two_projects(service, tmp)
        world = World(
            service,
            User(service, logins.alice.token, logins.alice.project_id),
            User(service, logins.bob.token, logins.bob.project_id),
            User(service, logins.admin.token, logins.admin.project_id),
            log,
        )
        service.session.hooks["response"].append(
            lambda response, *args, **kw: world.bodies.append(response.text)
        )
        yield world
    finally:
        stop_dockyard(service)
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()
        forget_private_image(docker_client)


def assert_error(response: requests.Response, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] == f"container.{code}", error
    for word in words:
        assert word in error["detail"], error["detail"]
    return str(error["detail"])


def all_registries(world: World) -> list[dict[str, Any]]:
    response = world.admin.call("GET", "/v1/registries?all_projects=1")
    assert response.status_code == 200, response.text
    return list(response.json()["registries"])


# --- the API -------------------------------------------------------------------------------


def test_create_show_list_update_delete(world: World) -> None:
    alice, base = world.alice, world.service.url
    response = alice.call("POST", "/v1/registries", json={"registry": {"domain": "x.io"}})
    assert response.status_code == 201, response.text
    minimal = response.json()["registry"]
    assert response.headers["Location"] == f"{base}/v1/registries/{minimal['uuid']}"
    assert minimal["links"] == [
        {"href": f"{base}/v1/registries/{minimal['uuid']}", "rel": "self"},
        {"href": f"{base}/registries/{minimal['uuid']}", "rel": "bookmark"},
    ]
    assert (minimal["name"], minimal["username"], minimal["password"]) == (None, None, "***")
    assert minimal["project_id"] == alice.project_id and minimal["user_id"]
    full = alice.registry(name="quay-mirror", domain="q.example:5000", username="u", password="p1")
    assert full["password"] == "***" and full["username"] == "u"

    for ident in (full["uuid"], "quay-mirror", f"{full['uuid']}/"):
        shown = alice.call("GET", f"/v1/registries/{ident}")
        assert shown.status_code == 200 and shown.json()["registry"] == full

    listed = alice.call("GET", "/v1/registries").json()
    assert listed["next"] is None
    assert [r["uuid"] for r in listed["registries"]] == [minimal["uuid"], full["uuid"]]
    assert all("links" not in r and r["password"] == "***" for r in listed["registries"])
    assert listed["registries"][1] == {k: v for k, v in full.items() if k != "links"}
    page = alice.call("GET", "/v1/registries?limit=1").json()
    assert [r["uuid"] for r in page["registries"]] == [minimal["uuid"]]
    assert page["next"] == (
        f"{base}/v1/registries?sort_key=id&sort_dir=asc&limit=1&marker={minimal['uuid']}"
    )
    rest = alice.call("GET", page["next"].removeprefix(base)).json()
    assert [r["uuid"] for r in rest["registries"]] == [full["uuid"]]
    for query, expected in (("domain=x.io", [minimal]), ("username=u", [full]), ("name=no", [])):
        found = alice.call("GET", f"/v1/registries?{query}").json()["registries"]
        assert [r["uuid"] for r in found] == [r["uuid"] for r in expected]

    changed = alice.call(
        "PATCH",
        "/v1/registries/quay-mirror",
        json={"registry": {"username": "robot", "password": "Changed-Secret-77"}},
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()["registry"]
    assert after["username"] == "robot" and after["name"] == "quay-mirror"
    assert after["password"] == "***" and after["links"] == full["links"]

    for registry in (minimal, after):
        assert alice.call("DELETE", f"/v1/registries/{registry['uuid']}").status_code == 204
        gone = alice.call("GET", f"/v1/registries/{registry['uuid']}")
        assert_error(gone, 404, "registry-not-found", registry["uuid"])
    assert alice.call("GET", "/v1/registries").json()["registries"] == []


def test_a_name_shared_by_two_registries_is_a_conflict(world: World) -> None:
    alice = world.alice
    first = alice.registry(name="twin", domain="a.example")
    second = alice.registry(name="twin", domain="b.example")
    assert_error(alice.call("GET", "/v1/registries/twin"), 409, "conflict", "twin")
    assert_error(alice.run(registry="twin"), 409, "conflict", "twin")
    for registry in (first, second):
        assert alice.call("DELETE", f"/v1/registries/{registry['uuid']}").status_code == 204


BAD_BODIES = [
    ({}, "registry"),
    ({"registry": {}}, "registry/domain"),
    ({"registry": {"domain": ""}}, "registry/domain"),
    ({"registry": {"domain": 5}}, "registry/domain"),
    ({"registry": {"domain": "x.io", "name": "a"}}, "registry/name"),
    ({"registry": {"domain": "x.io", "name": "-bad"}}, "registry/name"),
    ({"registry": {"domain": "x.io", "username": ""}}, "registry/username"),
    ({"registry": {"domain": "x.io", "password": ""}}, "registry/password"),
    ({"registry": {"domain": "x.io", "password": ["b0b-registry-secret"]}}, "registry/password"),
    ({"registry": {"domain": "x.io", "password": "b0b-registry-secret" * 60}}, "registry/password"),
    ({"registry": {"domain": "x.io", "colour": "red"}}, "registry/colour"),
    ({"registry": {"domain": "x.io"}, "extra": 1}, "extra"),
    ({"registry": "x.io"}, "registry"),
]


def test_bad_input_is_refused_precisely_and_changes_nothing(world: World) -> None:
    alice = world.alice
    kept = alice.registry(name="kept", domain="kept.example", username="u")
    before = all_registries(world)
    for body, name in BAD_BODIES:
        created = alice.call("POST", "/v1/registries", json=body)
        word = name.split("/")[-1]
        detail = assert_error(created, 400, "schema-validation-error", word)
        assert "b0b-registry-secret" not in created.text, detail
        if body != {"registry": {}}:  # an update may change nothing
            updated = alice.call("PATCH", "/v1/registries/kept", json=body)
            assert_error(updated, 400, "schema-validation-error", word)
    not_json = alice.call(
        "POST", "/v1/registries", data='{"registry": {"domain": "x.io"}}',
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    assert not_json.status_code == 415, not_json.text
    for query, word in (
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("sort_dir=up", "sort_dir"),
        ("all_projects=maybe", "all_projects"),
        ("name=a&name=b", "name"),
    ):
        assert_error(alice.call("GET", f"/v1/registries?{query}"), 400, "invalid-value", word)
    assert_error(
        alice.call("GET", "/v1/registries?sort_key=secret"), 400, "invalid-parameter-value"
    )
    assert_error(
        alice.call("GET", f"/v1/registries?marker={uuid.uuid4()}"), 404, "registry-not-found"
    )
    assert all_registries(world) == before
    assert alice.call("GET", "/v1/registries/kept").json()["registry"]["username"] == "u"
    assert alice.call("DELETE", f"/v1/registries/{kept['uuid']}").status_code == 204


def test_projects_are_isolated(world: World) -> None:
    alice, bob, admin = world.alice, world.bob, world.admin
    mine = alice.registry(
        name="team-a-only", domain=PRIVATE_REGISTRY, password="b0b-registry-secret"
    )
    theirs = bob.registry(name="team-b-own", domain="b.example")
    for ident in (mine["uuid"], "team-a-only"):
        path = f"/v1/registries/{ident}"
        assert_error(bob.call("GET", path), 404, "registry-not-found", ident)
        patch = bob.call("PATCH", path, json={"registry": {"username": "bob"}})
        assert_error(patch, 404, "registry-not-found")
        assert_error(bob.call("DELETE", path), 404, "registry-not-found")
        assert_error(bob.run(registry=ident), 404, "registry-not-found", ident)
    assert [r["uuid"] for r in bob.call("GET", "/v1/registries").json()["registries"]] == [
        theirs["uuid"]
    ]
    assert bob.call("GET", "/v1/registries?project_id=" + alice.project_id).json() == {
        "registries": [],
        "next": None,
    }
    denied = bob.call("GET", "/v1/registries?all_projects=1")
    assert_error(denied, 403, "policy-not-authorized", "registry:get_all_all_projects")
    assert admin.call("GET", "/v1/registries").json()["registries"] == []
    everyone = {r["uuid"]: r for r in all_registries(world)}
    assert {mine["uuid"], theirs["uuid"]} <= set(everyone)
    assert everyone[mine["uuid"]]["project_id"] == alice.project_id
    # Admins address any project's registry by its uuid (api-other §3.3).
    assert admin.call("GET", f"/v1/registries/{mine['uuid']}").status_code == 200
    shown = alice.call("GET", f"/v1/registries/{mine['uuid']}").json()["registry"]
    assert shown["username"] is None  # bob's update did not land
    for user, registry in ((alice, mine), (bob, theirs)):
        assert user.call("DELETE", f"/v1/registries/{registry['uuid']}").status_code == 204


# --- pulling with the credentials ------------------------------------------------------------


def test_run_from_the_private_registry_with_its_credentials(world: World) -> None:
    alice = world.alice
    forget_private_image(world.service.docker)
    registry = alice.registry(
        name="private", domain=PRIVATE_REGISTRY, username=PRIVATE_USER, password=PRIVATE_PASSWORD
    )
    by_name = alice.run(registry="private")
    assert by_name.status_code == 202, by_name.text
    assert by_name.json()["registry_id"] == registry["uuid"]
    # A bare reference is looked up in the registry's domain.
    bare = alice.run(image=TEST_IMAGE, registry=registry["uuid"])
    assert bare.status_code == 202, bare.text
    for created in (by_name.json(), bare.json()):
        running = alice.wait(created["uuid"], "Running", "Error")
        assert running["status"] == "Running", running["status_reason"]
        assert running["registry_id"] == registry["uuid"]
        [engine] = world.service.docker.containers.list(
            filters={"label": f"{LABEL_CONTAINER_ID}={created['uuid']}"}
        )
        assert engine.attrs["Config"]["Image"] == PRIVATE_IMAGE
    assert bare.json()["image"] == TEST_IMAGE

    refused = alice.call("DELETE", "/v1/registries/private")
    assert_error(refused, 409, "conflict", "2 container")
    alice.delete_container(by_name.json()["uuid"])
    assert_error(alice.call("DELETE", "/v1/registries/private"), 409, "conflict", "1 container")
    alice.delete_container(bare.json()["uuid"])
    assert alice.call("DELETE", "/v1/registries/private").status_code == 204


def test_without_or_with_wrong_credentials_nothing_is_created(world: World) -> None:
    alice = world.alice
    forget_private_image(world.service.docker)
    wrong = alice.registry(
        name="wrong", domain=PRIVATE_REGISTRY, username=PRIVATE_USER, password=WRONG_PASSWORD
    )
    before = alice.usage()
    engine_before = len(world.service.engine_containers())

    anonymous = alice.run()
    assert_error(anonymous, 400, "registry-auth-failed", "refused authentication", PRIVATE_IMAGE)
    refused = alice.run(registry="wrong")
    detail = assert_error(refused, 400, "registry-auth-failed", "refused authentication")
    assert "check the username and password" in detail
    unknown = alice.run(registry="no-such-registry")
    assert_error(unknown, 404, "registry-not-found", "no-such-registry")
    old = alice.run(registry="wrong", headers={"OpenStack-API-Version": "container 1.30"})
    assert old.status_code == 400, old.text

    assert alice.usage() == before
    assert len(world.service.engine_containers()) == engine_before
    assert alice.call("DELETE", f"/v1/registries/{wrong['uuid']}").status_code == 204


# --- secrecy (last: it reads everything the module sent and logged) --------------------------


def test_images_api_is_for_admins_and_pulls_with_the_callers_registry(world: World) -> None:
    alice, admin, service = world.alice, world.admin, world.service
    pull = {"repo": PRIVATE_IMAGE, "host": service.host}
    assert_error(alice.call("POST", "/v1/images", json=pull), 403, "policy-not-authorized")
    assert_error(alice.call("GET", "/v1/images"), 403, "policy-not-authorized")
    # Search is for project members: alice reaches the registry, which wants a login.
    search = f"/v1/images/{PRIVATE_REGISTRY}/dockyard-test/search"
    assert_error(alice.call("GET", search), 400, "registry-auth-failed", "refused the search")

    forget_private_image(service.docker)
    repo, tag = PRIVATE_IMAGE.rsplit(":", 1)

    def recorded() -> list[dict[str, Any]]:
        listed = admin.call("GET", "/v1/images").json()["images"]
        return [i for i in listed if (i["repo"], i["tag"]) == (repo, tag)]

    deadline = time.monotonic() + 30
    while recorded():  # the sync drops the record of the image just removed
        assert time.monotonic() < deadline
        time.sleep(0.3)
    admin.registry(domain=PRIVATE_REGISTRY, username=PRIVATE_USER, password=PRIVATE_PASSWORD)
    answer = admin.call("POST", "/v1/images", json=pull)
    assert answer.status_code == 202, answer.text
    while (image := admin.call("GET", f"/v1/images/{answer.json()['uuid']}").json())[
        "status"
    ] == "pulling":
        assert time.monotonic() < deadline + 60, image
        time.sleep(0.3)
    assert image["status"] == "ready", image
    assert image["image_id"] == service.docker.images.get(PRIVATE_IMAGE).id
    found = admin.call("GET", search)
    assert found.status_code == 200, found.text
    assert repo in [i["name"] for i in found.json()]


def test_passwords_never_appear_in_responses_or_the_log(world: World) -> None:
    assert len(world.bodies) > 50
    text = world.log.read_text(errors="replace")
    assert "registry" in text  # the log did record this module's work
    for secret in SECRETS:
        assert not [body for body in world.bodies if secret in body], secret
        assert secret not in text, secret
