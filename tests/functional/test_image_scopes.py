"""Whose image records a caller sees (api-other §8.2, docs/images.md): project members,
once a policy lets them use the images API, see and delete only their project's
records; an admin sees every project's.

A `local`-identity all-in-one with a policy file opening ``image:*`` to members. The
pulls name images the registry lacks: each leaves a record of its caller's project
(in ``error``) and nothing on the engine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest
import requests

from tests.conftest import Dockyard, start_dockyard, stop_dockyard
from tests.support.projects import LOCAL_IDENTITY, Login, Logins, two_projects

pytestmark = pytest.mark.docker

REGISTRY = "127.0.0.1:5001"
MEMBERS = "role:member or role:admin"
POLICY = "".join(
    f'"image:{rule}": "{MEMBERS}"\n' for rule in ("get_all", "get_one", "pull", "delete")
)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[tuple[Dockyard, Logins]]:
    tmp = tmp_path_factory.mktemp("image-scopes")
    (tmp / "policy.yaml").write_text(POLICY)
    config = [*LOCAL_IDENTITY, "[oslo_policy]", f"policy_file = {tmp / 'policy.yaml'}"]
    service = start_dockyard(tmp, docker_client, extra_config=config)
    try:
        yield service, two_projects(service, tmp)
    finally:
        stop_dockyard(service)


def _call(service: Dockyard, who: Login, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"X-Auth-Token": who.token, **kw.pop("headers", {})}
    return service.request(method, path, headers=headers, **kw)  # type: ignore[no-any-return]


def _pull(service: Dockyard, who: Login) -> dict[str, Any]:
    repo = f"{REGISTRY}/dockyard-test/scoped-{uuid.uuid4().hex[:8]}:1"
    answer = _call(service, who, "POST", "/v1/images", json={"repo": repo, "host": service.host})
    assert answer.status_code == 202, answer.text
    record = dict(answer.json())
    deadline = time.monotonic() + 60
    while record["status"] == "pulling":
        assert time.monotonic() < deadline, record
        time.sleep(0.3)
        record = _call(service, who, "GET", f"/v1/images/{record['uuid']}").json()
    return record


def _listed(service: Dockyard, who: Login) -> set[str]:
    answer = _call(service, who, "GET", "/v1/images?limit=1000")
    assert answer.status_code == 200, answer.text
    return {i["uuid"] for i in answer.json()["images"]}


def test_members_see_their_projects_images_and_an_admin_sees_all(
    world: tuple[Dockyard, Logins],
) -> None:
    service, logins = world
    alices, bobs = _pull(service, logins.alice), _pull(service, logins.bob)
    assert alices["project_id"] == logins.alice.project_id
    assert bobs["project_id"] == logins.bob.project_id
    assert alices["status"] == bobs["status"] == "error"  # the registry has neither

    assert alices["uuid"] in _listed(service, logins.alice)
    assert bobs["uuid"] not in _listed(service, logins.alice)
    assert {alices["uuid"], bobs["uuid"]} <= _listed(service, logins.admin)
    # Another project's record does not exist for a member; an admin reaches it.
    for method in ("GET", "DELETE"):
        hidden = _call(service, logins.alice, method, f"/v1/images/{bobs['uuid']}")
        assert hidden.status_code == 404, hidden.text
        assert hidden.json()["errors"][0]["code"] == "container.image-not-found"
    assert _call(service, logins.admin, "GET", f"/v1/images/{bobs['uuid']}").status_code == 200

    assert _call(service, logins.alice, "DELETE", f"/v1/images/{alices['uuid']}").status_code == 200
    assert _call(service, logins.admin, "DELETE", f"/v1/images/{bobs['uuid']}").status_code == 200
    assert not {alices["uuid"], bobs["uuid"]} & _listed(service, logins.admin)
