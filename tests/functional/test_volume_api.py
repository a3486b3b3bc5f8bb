"""The /volume block-storage v3 subset and its catalog entry over HTTP.

One all-in-one service for the module (auth_strategy = local). Projects: team-a
(alice, and carol with only the reader role), team-b (bob), admin (admin). Every
bad request must answer Cinder's error body with the right status and change
nothing.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest
import requests

from dockyard.cmd.configuration import load_config
from dockyard.cmd.identity import bootstrap_admin, identity_admin
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.repositories.volumes import VolumeRepository
from dockyard.domain.volumes import VolumeAttachment
from tests.conftest import Dockyard, start_dockyard, stop_dockyard
from tests.support.projects import login

pytestmark = pytest.mark.docker

CONFIG = [
    "[DEFAULT]",
    "auth_strategy = local",
    "[identity]",
    "password_hash_rounds = 4",
    "[volume]",
    "maximum_size = 50",
]
V3 = {"OpenStack-API-Version": "volume 3.60"}


@dataclass
class User:
    service: Dockyard
    token: str
    project_id: str

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **V3, **kw.pop("headers", {})}
        url = self.service.url + path
        return self.service.session.request(method, url, headers=headers, timeout=30, **kw)

    @property
    def base(self) -> str:
        return f"/volume/v3/{self.project_id}"

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.call("POST", f"{self.base}/volumes", json={"volume": fields})
        assert response.status_code == 202, response.text
        return dict(response.json()["volume"])

    def detail(self, query: str = "") -> list[dict[str, Any]]:
        response = self.call("GET", f"{self.base}/volumes/detail{query}")
        assert response.status_code == 200, response.text
        return list(response.json()["volumes"])


@dataclass
class World:
    service: Dockyard
    alice: User
    carol: User
    bob: User
    admin: User
    volumes: VolumeRepository
    quotas: QuotaRepository


def _login(service: Dockyard, user: str, password: str, project: str) -> User:
    found = login(service, user, password, project)
    return User(service, found.token, found.project_id)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("volume-api")
    service = start_dockyard(tmp, docker_client, extra_config=CONFIG)
    try:
        conf = load_config([f"--config-file={tmp / 'dockyard.conf'}"])
        db = service.node.db
        created = bootstrap_admin(conf, db)
        assert created is not None
        lines = [line.removeprefix("export ") for line in created[1].splitlines() if line]
        env = dict(line.split("=", 1) for line in lines)
        identities = identity_admin(conf, db)
        identities.create_project("team-a")
        identities.create_project("team-b")
        identities.create_user("alice", "alice-login-pw", "team-a", "member")
        identities.create_user("carol", "carol-login-pw", "team-a", "reader")
        identities.create_user("bob", "bob-login-pw", "team-b", "member")
        quotas = QuotaRepository(db)
        yield World(
            service,
            _login(service, "alice", "alice-login-pw", "team-a"),
            _login(service, "carol", "carol-login-pw", "team-a"),
            _login(service, "bob", "bob-login-pw", "team-b"),
            _login(service, "admin", shlex.split(env["OS_PASSWORD"])[0], "admin"),
            VolumeRepository(db, quotas),
            quotas,
        )
    finally:
        stop_dockyard(service)


def cinder_error(response: requests.Response, status: int, fault: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [fault], body
    assert body[fault]["code"] == status, body
    return str(body[fault]["message"])


def test_version_documents_need_no_token(world: World) -> None:
    service = world.service
    root = service.session.get(service.url + "/volume/", timeout=30)
    assert root.status_code == 300, root.text
    [v3] = root.json()["versions"]
    assert v3["id"] == "v3.0" and v3["status"] == "CURRENT"
    assert (v3["min_version"], v3["version"]) == ("3.0", "3.60")
    assert {"rel": "self", "href": f"{service.url}/volume/v3/"} in v3["links"]
    versioned = service.session.get(service.url + "/volume/v3", timeout=30)
    assert versioned.status_code == 200 and versioned.json()["versions"] == [v3]
    # Everything else needs a token, as Cinder does.
    anonymous = service.session.get(service.url + "/volume/v3/x/volumes", timeout=30)
    assert anonymous.status_code == 401


def test_create_list_show_delete_with_cinder_shapes(world: World) -> None:
    alice = world.alice
    made = alice.create(size=1, name="data", description="for the web")
    assert made["status"] == "available" and made["size"] == 1
    assert made["name"] == "data" and made["description"] == "for the web"
    assert made["attachments"] == [] and made["bootable"] == "false"
    assert made["volume_type"] == "__DEFAULT__" and made["metadata"] == {}
    assert made["os-vol-tenant-attr:tenant_id"] == alice.project_id
    assert "os-vol-host-attr:host" not in made  # admins only
    assert made["created_at"] and made["links"][0]["href"].endswith(
        f"{alice.base}/volumes/{made['id']}"
    )

    shown = alice.call("GET", f"{alice.base}/volumes/{made['id']}")
    assert shown.status_code == 200 and shown.json()["volume"] == made
    assert shown.headers["OpenStack-API-Version"] == "volume 3.60"
    summary = alice.call("GET", f"{alice.base}/volumes").json()["volumes"]
    assert {"id": made["id"], "name": "data", "links": made["links"]} in summary
    assert [v["id"] for v in alice.detail("?name=data")] == [made["id"]]
    assert alice.detail("?name=nothing") == []
    assert [v["id"] for v in alice.detail("?status=available&name=data")] == [made["id"]]

    gone = alice.call("DELETE", f"{alice.base}/volumes/{made['id']}?cascade=False&force=False")
    assert gone.status_code == 202, gone.text
    assert made["id"] not in [v["id"] for v in alice.detail()]
    again = alice.call("DELETE", f"{alice.base}/volumes/{made['id']}")
    assert "could not be found" in cinder_error(again, 404, "itemNotFound")


def test_volume_gigabytes_count_in_the_disk_quota(world: World) -> None:
    alice = world.alice
    before = world.quotas.usages(alice.project_id)["disk"]["in_use"]
    made = alice.create(size=3, name="counted")
    assert world.quotas.usages(alice.project_id)["disk"]["in_use"] == before + 3
    limits = alice.call("GET", f"{alice.base}/limits").json()["limits"]["absolute"]
    assert limits["totalGigabytesUsed"] == before + 3
    world.quotas.set_limits(alice.project_id, {"disk": int(before) + 4})
    try:
        over = alice.call("POST", f"{alice.base}/volumes", json={"volume": {"size": 2}})
        assert "VolumeSizeExceedsAvailableQuota" in cinder_error(over, 413, "overLimit")
        assert over.json()["overLimit"]["retryAfter"] == "0"
        assert len(alice.detail("?name=counted")) == 1 and len(alice.detail()) == 1
    finally:
        world.quotas.delete_limits(alice.project_id)
    assert alice.call("DELETE", f"{alice.base}/volumes/{made['id']}").status_code == 202
    assert world.quotas.usages(alice.project_id)["disk"]["in_use"] == before


def test_projects_see_only_their_own_volumes(world: World) -> None:
    alice, bob, admin = world.alice, world.bob, world.admin
    mine = alice.create(size=1, name="private")
    try:
        # Bob's own path: Alice's volume is absent, by id and by name.
        for path in (f"/volumes/{mine['id']}", "/volumes/detail?name=private"):
            response = bob.call("GET", bob.base + path)
            if response.status_code == 200:
                assert response.json()["volumes"] == []
            else:
                cinder_error(response, 404, "itemNotFound")
        cinder_error(bob.call("DELETE", f"{bob.base}/volumes/{mine['id']}"), 404, "itemNotFound")
        # Alice's path with Bob's token: refused as Cinder refuses a project that is not
        # the token's, whatever the operation.
        for method, path in (
            ("GET", "/volumes/detail"),
            ("GET", f"/volumes/{mine['id']}"),
            ("DELETE", f"/volumes/{mine['id']}"),
            ("POST", "/volumes"),
        ):
            response = bob.call(method, alice.base + path, json={"volume": {"size": 1}})
            assert cinder_error(response, 400, "badRequest") == "Malformed request url"
        assert [v["id"] for v in alice.detail("?name=private")] == [mine["id"]]
        assert bob.detail() == []
        # An admin sees every project's volumes only when asking for all of them.
        assert mine["id"] not in [v["id"] for v in admin.detail()]
        everyone = admin.detail(f"?all_tenants=1&project_id={alice.project_id}")
        assert [v["id"] for v in everyone] == [mine["id"]]
        assert everyone[0]["os-vol-host-attr:host"] is None
        # A non-admin's all_tenants is ignored, as Cinder ignores it.
        assert bob.detail("?all_tenants=1") == []
        # An admin reads and deletes any project's volume by id, through their own path.
        shown = admin.call("GET", f"{admin.base}/volumes/{mine['id']}")
        assert shown.status_code == 200 and shown.json()["volume"]["name"] == "private"
    finally:
        assert admin.call("DELETE", f"{admin.base}/volumes/{mine['id']}").status_code == 202
    assert alice.detail("?name=private") == []


def test_a_reader_reads_and_may_not_write(world: World) -> None:
    alice, carol = world.alice, world.carol
    mine = alice.create(size=1, name="read-only")
    try:
        assert [v["id"] for v in carol.detail()] == [mine["id"]]
        refused = carol.call("DELETE", f"{carol.base}/volumes/{mine['id']}")
        cinder_error(refused, 403, "forbidden")
        refused = carol.call("POST", f"{carol.base}/volumes", json={"volume": {"size": 1}})
        cinder_error(refused, 403, "forbidden")
        assert [v["id"] for v in alice.detail()] == [mine["id"]]
    finally:
        alice.call("DELETE", f"{alice.base}/volumes/{mine['id']}")


def test_deleting_a_volume_a_container_holds_is_refused(world: World) -> None:
    alice = world.alice
    held = alice.create(size=1, name="held")
    holder = VolumeAttachment("c0ffee00-0000-4000-8000-000000000001", "host-1", "/data")
    world.volumes.attach(alice.project_id, held["id"], holder)
    try:
        shown = alice.call("GET", f"{alice.base}/volumes/{held['id']}").json()["volume"]
        assert shown["status"] == "in-use"
        [attachment] = shown["attachments"]
        assert attachment["server_id"] == holder.container_id
        assert attachment["device"] == "/data" and attachment["volume_id"] == held["id"]
        refused = alice.call("DELETE", f"{alice.base}/volumes/{held['id']}")
        assert holder.container_id in cinder_error(refused, 409, "conflictingRequest")
        assert alice.detail("?name=held")[0]["status"] == "in-use"
    finally:
        world.volumes.detach(held["id"], holder.container_id)
    # Placed on a host now: the delete leaves it to that host's agent.
    gone = alice.call("DELETE", f"{alice.base}/volumes/{held['id']}")
    assert gone.status_code == 202, gone.text
    assert alice.detail("?name=held")[0]["status"] == "deleting"
    world.volumes.forget(held["id"])


def test_list_sorting_paging_and_count(world: World) -> None:
    alice = world.alice
    made = [alice.create(size=size, name=f"page-{size}") for size in (1, 2, 3)]
    try:
        newest_first = [v["id"] for v in alice.detail()]
        assert newest_first == [v["id"] for v in reversed(made)]
        by_size = alice.detail("?sort=size:asc")
        assert [v["size"] for v in by_size] == [1, 2, 3]
        assert [v["name"] for v in alice.detail("?sort_key=name&sort_dir=desc")] == [
            "page-3", "page-2", "page-1"
        ]  # fmt: skip
        first = alice.call("GET", f"{alice.base}/volumes/detail?limit=2&sort=size:asc").json()
        assert [v["size"] for v in first["volumes"]] == [1, 2]
        [link] = first["volumes_links"]
        rest = alice.call("GET", link["href"].removeprefix(world.service.url)).json()
        assert [v["size"] for v in rest["volumes"]] == [3] and "volumes_links" not in rest
        counted = alice.call("GET", f"{alice.base}/volumes?with_count=true&limit=1").json()
        assert counted["count"] == 3 and len(counted["volumes"]) == 1
        # Regression (the fuzzer's find): limit=0 was an IndexError, a 500. Cinder
        # reads it as no limit given.
        unlimited = alice.call("GET", f"{alice.base}/volumes?limit=0")
        assert unlimited.status_code == 200, unlimited.text
        assert len(unlimited.json()["volumes"]) == 3 and "volumes_links" not in unlimited.json()
    finally:
        for volume in made:
            alice.call("DELETE", f"{alice.base}/volumes/{volume['id']}")


BAD_CREATES: list[tuple[Any, str]] = [
    ({"volume": {"size": 0}}, "at least 1"),
    ({"volume": {"size": -1}}, "at least 1"),
    ({"volume": {"size": 51}}, "over the largest"),
    ({"volume": {"size": 10**30}}, "over the largest"),
    ({"volume": {"size": 1.5}}, "whole number"),
    ({"volume": {"size": "one"}}, "whole number"),
    ({"volume": {"size": True}}, "whole number"),
    ({"volume": {"size": None}}, "size"),
    ({"volume": {"name": "no-size"}}, "size"),
    ({"volume": {"size": 1, "name": "x" * 256}}, "255"),
    ({"volume": {"size": 1, "name": 7}}, "not a string"),
    ({"volume": {"size": 1, "name": "a,b"}}, "','"),
    ({"volume": {"size": 1, "description": "d" * 256}}, "too long"),
    ({"volume": {"size": 1, "colour": "red"}}, "'colour'"),
    ({"volume": {"size": 1}, "extra": 1}, "'extra'"),
    ({"volume": {"size": 1, "snapshot_id": "s1"}}, "snapshot_id"),
    ({"volume": {"size": 1, "imageRef": "cirros"}}, "imageRef"),
    ({"volume": {"size": 1, "metadata": {"k": "v"}}}, "metadata"),
    ({"volume": {"size": 1, "multiattach": True}}, "multiattach"),
    ({"volume": {"size": 1, "name": "a", "display_name": "b"}}, "display_name"),
    ({"volume": [1]}, "object"),
    ({"volumes": {"size": 1}}, "'volume'"),
    ([], "'volume'"),
]


@pytest.mark.parametrize(("body", "words"), BAD_CREATES)
def test_bad_creates_are_400_and_make_nothing(world: World, body: Any, words: str) -> None:
    alice = world.alice
    before = alice.detail()
    response = alice.call("POST", f"{alice.base}/volumes", json=body)
    assert words in cinder_error(response, 400, "badRequest")
    assert alice.detail() == before


def test_malformed_requests(world: World) -> None:
    alice = world.alice
    volumes = f"{alice.base}/volumes"
    raw = {"Content-Type": "application/json"}
    for data in (b"{", b"", b"NaN", json.dumps({"volume": {"size": 1}})[:-1].encode()):
        response = alice.call("POST", volumes, data=data, headers=raw)
        cinder_error(response, 400, "badRequest")
    unknown_type = alice.call("POST", volumes, json={"volume": {"size": 1, "volume_type": "ssd"}})
    assert "ssd" in cinder_error(unknown_type, 404, "itemNotFound")
    for query in ("?colour=red", "?limit=x", "?offset=-1", "?sort=size:up", "?sort=colour",
                  "?sort=size&sort_key=name", "?all_tenants=maybe"):  # fmt: skip
        cinder_error(alice.call("GET", f"{volumes}/detail{query}"), 400, "badRequest")
    cinder_error(alice.call("GET", f"{volumes}?marker=nope"), 404, "itemNotFound")
    cinder_error(alice.call("GET", f"{alice.base}/volumes?project_id=x"), 400, "badRequest")
    cinder_error(alice.call("DELETE", f"{volumes}/x?purge=1"), 400, "badRequest")
    cinder_error(alice.call("GET", f"{volumes}/not-a-volume"), 404, "itemNotFound")
    cinder_error(alice.call("GET", f"{alice.base}/snapshots"), 404, "itemNotFound")
    refused = alice.call("PUT", volumes)
    cinder_error(refused, 405, "badMethod")
    assert "GET" in refused.headers["Allow"]
    for version, status, fault in (
        ("volume 3.61", 406, "computeFault"),
        ("volume 2.0", 406, "computeFault"),
        ("volume three", 400, "badRequest"),
    ):
        response = alice.call("GET", volumes, headers={"OpenStack-API-Version": version})
        cinder_error(response, status, fault)
    latest = alice.call("GET", volumes, headers={"OpenStack-API-Version": "volume latest"})
    assert latest.headers["OpenStack-API-Version"] == "volume 3.60"
    oldest = alice.call("GET", volumes, headers={"OpenStack-API-Version": "compute 2.1"})
    assert oldest.status_code == 200 and oldest.headers["OpenStack-API-Version"] == "volume 3.0"
    assert alice.call("GET", f"{alice.base}/extensions").json() == {"extensions": []}
    assert alice.detail() == []


def test_the_catalog_lists_block_storage(world: World) -> None:
    alice, service = world.alice, world.service
    services = alice.call("GET", "/v3/services?type=block-storage").json()["services"]
    [block] = services
    assert block["name"] == "cinder"
    endpoints = alice.call("GET", f"/v3/endpoints?service_id={block['id']}").json()["endpoints"]
    assert {(e["interface"], e["url"]) for e in endpoints} == {
        (i, f"{service.url}/volume/v3/%(project_id)s") for i in ("public", "internal", "admin")
    }
    token = alice.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": alice.token})
    [entry] = [s for s in token.json()["token"]["catalog"] if s["type"] == "block-storage"]
    assert {e["url"] for e in entry["endpoints"]} == {f"{service.url}{alice.base}"}


def test_update_renames_and_describes(world: World) -> None:
    alice, bob, carol = world.alice, world.bob, world.carol
    made = alice.create(size=1, name="old", description="before")
    path = f"{alice.base}/volumes/{made['id']}"
    try:
        renamed = alice.call("PUT", path, json={"volume": {"name": "new"}})
        assert renamed.status_code == 200, renamed.text
        volume = renamed.json()["volume"]
        assert (volume["name"], volume["description"]) == ("new", "before")
        assert volume["updated_at"] is not None
        described = alice.call("PUT", path, json={"volume": {"display_description": "after"}})
        assert described.json()["volume"]["description"] == "after"
        for body, words in (
            ({"volume": {"name": "x" * 256}}, "255"),
            ({"volume": {"name": "a:b"}}, "':'"),
            ({"volume": {"size": 2}}, "'size'"),
            ({"volume": {"metadata": {"k": "v"}}}, "'metadata'"),
            ({"volume": {}}, "new name or description"),
            ({"volumes": {"name": "n"}}, "'volume'"),
        ):
            assert words in cinder_error(alice.call("PUT", path, json=body), 400, "badRequest")
        cinder_error(carol.call("PUT", path, json={"volume": {"name": "r"}}), 403, "forbidden")
        theirs = f"{bob.base}/volumes/{made['id']}"
        cinder_error(bob.call("PUT", theirs, json={"volume": {"name": "b"}}), 404, "itemNotFound")
        [now] = alice.detail("?name=new")
        assert (now["description"], now["size"]) == ("after", 1)
    finally:
        alice.call("DELETE", path)
