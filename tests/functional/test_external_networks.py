"""An unshared external network: who may plug a container into it is the policy
``network:attach_external_network`` (admin by default), not a hard-coded admin check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from tests.conftest import TEST_IMAGE, Dockyard, start_dockyard, stop_dockyard
from tests.support.projects import LOCAL_IDENTITY, Login, Logins, two_projects

pytestmark = pytest.mark.docker


def _service(tmp: Path, docker_client: docker.DockerClient, policy: str) -> tuple[Dockyard, Logins]:
    (tmp / "policy.yaml").write_text(policy)
    config = [*LOCAL_IDENTITY, "[oslo_policy]", f"policy_file = {tmp / 'policy.yaml'}"]
    service = start_dockyard(tmp, docker_client, extra_config=config)
    return service, two_projects(service, tmp)


def _call(service: Dockyard, who: Login, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"X-Auth-Token": who.token, **kw.pop("headers", {})}
    return service.request(method, path, headers=headers, **kw)  # type: ignore[no-any-return]


def _external_network(service: Dockyard, admin: Login) -> str:
    made = _call(
        service, admin, "POST", "/v2.0/networks",
        json={"network": {"name": "public", "router:external": True}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    network_id = str(made.json()["network"]["id"])
    subnet = {"network_id": network_id, "cidr": "198.51.100.0/24", "ip_version": 4}
    made = _call(service, admin, "POST", "/v2.0/subnets", json={"subnet": subnet})
    assert made.status_code == 201, made.text
    return network_id


def _run_on(service: Dockyard, who: Login, network_id: str) -> requests.Response:
    body = {
        "image": TEST_IMAGE,
        "command": ["sleep", "300"],
        "memory": 32,
        "cpu": 0.1,
        "nets": [{"network": network_id}],
    }
    return _call(service, who, "POST", "/v1/containers?run=true", json=body)


@pytest.fixture
def made(tmp_path: Path) -> Iterator[list[Dockyard]]:
    services: list[Dockyard] = []
    yield services
    for service in services:
        stop_dockyard(service)


@pytest.mark.parametrize(
    ("policy", "member_may"),
    [("{}\n", False), ('"network:attach_external_network": "role:member or role:admin"\n', True)],
    ids=["default-admin-only", "members-allowed"],
)
def test_the_policy_decides_who_attaches_to_an_external_network(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    made: list[Dockyard],
    policy: str,
    member_may: bool,
) -> None:
    service, logins = _service(tmp_path, docker_client, policy)
    made.append(service)
    network_id = _external_network(service, logins.admin)

    answer = _run_on(service, logins.alice, network_id)

    if member_may:
        assert answer.status_code == 202, answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert "external network" in answer.text
    admin = _run_on(service, logins.admin, network_id)
    assert admin.status_code == 202, admin.text
