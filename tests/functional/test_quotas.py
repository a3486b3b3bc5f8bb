"""Quotas and quota classes over HTTP, and their enforcement on a real Docker Engine."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import TEST_IMAGE, Dockyard

pytestmark = pytest.mark.docker

PROJECT = "dockyard"  # the noauth project
QUOTA = f"/v1/quotas/{PROJECT}"
DEFAULTS = {"containers": 40, "cpu": 20, "disk": 100, "memory": 51200}
SLEEPER = ["sh", "-c", "sleep 300"]


@pytest.fixture(autouse=True)
def fresh_quotas(dockyard: Dockyard) -> Iterator[None]:
    yield
    assert dockyard.request("DELETE", QUOTA).status_code == 200
    dockyard.request("PUT", "/v1/quota_classes/default", json=DEFAULTS)


def put(dockyard: Dockyard, **limits: Any) -> dict[str, Any]:
    response = dockyard.request("PUT", QUOTA, json=limits)
    assert response.status_code == 200, response.text
    return dict(response.json())


def in_use(dockyard: Dockyard) -> dict[str, Any]:
    response = dockyard.request("GET", QUOTA + "?usages=True")
    assert response.status_code == 200, response.text
    return {resource: value["in_use"] for resource, value in response.json().items()}


def records(dockyard: Dockyard) -> set[str]:
    listed = dockyard.request("GET", "/v1/containers").json()["containers"]
    return {c["uuid"] for c in listed}


def delete(dockyard: Dockyard, *uuids: str) -> None:
    for uuid in uuids:
        dockyard.wait_for(uuid, "Created", "Running", "Stopped", "Error")
        assert dockyard.request("DELETE", f"/v1/containers/{uuid}").status_code == 204
    for uuid in uuids:
        dockyard.wait_gone(uuid)


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    [body] = response.json()["errors"]
    assert body["code"] == code
    return str(body["detail"])


def test_quota_get_put_delete_and_defaults(dockyard: Dockyard) -> None:
    assert dockyard.request("GET", QUOTA).json() == DEFAULTS
    assert put(dockyard, containers=5, memory="1024") == {
        **DEFAULTS,
        "containers": 5,
        "memory": 1024,
    }
    usages = dockyard.request("GET", QUOTA, params={"usages": "true"}).json()
    assert set(usages) == set(DEFAULTS)
    assert usages["containers"]["limit"] == 5 and usages["memory"]["limit"] == 1024
    assert all(set(v) == {"limit", "in_use"} for v in usages.values())
    assert dockyard.request("PUT", QUOTA, params={"cpu": "-1"}).json()["cpu"] == -1
    assert put(dockyard) == {**DEFAULTS, "containers": 5, "memory": 1024, "cpu": -1}
    assert dockyard.request("GET", QUOTA + "/defaults").json() == DEFAULTS
    deleted = dockyard.request("DELETE", QUOTA)
    assert (deleted.status_code, deleted.text) == (200, "null")
    assert dockyard.request("GET", QUOTA).json() == DEFAULTS
    # Any project id is fine; limits start at the defaults.
    assert dockyard.request("GET", "/v1/quotas/somebody-else").json() == DEFAULTS


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("PUT", QUOTA, {"json": {"pods": 3}}, "pods"),
        ("PUT", QUOTA, {"json": {"memory": -2}}, "memory"),
        ("PUT", QUOTA, {"json": {"cpu": "1.5"}}, "cpu"),
        ("PUT", QUOTA, {"json": {"disk": 2**31}}, "disk"),
        ("GET", QUOTA, {"params": {"usage": "1"}}, "usage"),
        ("GET", QUOTA + "/defaults", {"params": {"x": "1"}}, "x"),
        ("PUT", "/v1/quota_classes/default", {"json": {"containers": True}}, "containers"),
    ],
)
def test_bad_quota_requests_are_400_naming_the_field(
    dockyard: Dockyard, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    detail = error(
        dockyard.request(method, path, **kwargs), 400, "container.schema-validation-error"
    )
    assert field in detail
    assert dockyard.request("GET", QUOTA).json() == DEFAULTS


def test_quota_classes_and_the_default_class(dockyard: Dockyard) -> None:
    assert dockyard.request("GET", "/v1/quota_classes/gold").json() == DEFAULTS
    gold = dockyard.request("PUT", "/v1/quota_classes/gold", json={"disk": 500})
    assert (gold.status_code, gold.json()) == (200, {**DEFAULTS, "disk": 500})
    # Only the class named default applies to projects.
    assert dockyard.request("GET", QUOTA).json() == DEFAULTS
    changed = dockyard.request("PUT", "/v1/quota_classes/default", json={"cpu": "30"})
    assert changed.json() == {**DEFAULTS, "cpu": 30}
    assert dockyard.request("GET", QUOTA).json()["cpu"] == 30
    assert dockyard.request("GET", QUOTA + "/defaults").json()["cpu"] == 30
    put(dockyard, cpu=4)
    assert dockyard.request("GET", QUOTA).json()["cpu"] == 4


def test_create_beyond_the_containers_quota_is_403_and_writes_nothing(dockyard: Dockyard) -> None:
    before = in_use(dockyard)
    put(dockyard, containers=before["containers"] + 1)
    first = dockyard.create({"command": SLEEPER}, run=False)
    assert first.status_code == 202, first.text
    dockyard.wait_for(first.json()["uuid"], "Created")
    uuids, engine = records(dockyard), len(dockyard.engine_containers())
    refused = dockyard.create({"command": SLEEPER, "name": "one-too-many"}, run=False)
    detail = error(refused, 403, "container.over-quota")
    limit = before["containers"] + 1
    assert f"containers: 1 requested, limit {limit}, {limit} in use" in detail
    assert records(dockyard) == uuids
    assert len(dockyard.engine_containers()) == engine
    assert in_use(dockyard)["containers"] == limit
    delete(dockyard, first.json()["uuid"])
    assert in_use(dockyard) == before


def test_memory_quota_counts_the_default_memory(dockyard: Dockyard) -> None:
    before = in_use(dockyard)
    put(dockyard, memory=before["memory"] + 511)
    body = {"image": TEST_IMAGE, "command": SLEEPER}
    refused = dockyard.request("POST", "/v1/containers", json=body)
    detail = error(refused, 403, "container.over-quota")
    assert "memory: 512 requested" in detail
    assert in_use(dockyard) == before


def test_failed_create_and_delete_give_usage_back(dockyard: Dockyard) -> None:
    before = in_use(dockyard)
    created = dockyard.create({"command": ["/no/such/program"], "memory": 40, "cpu": 0.3})
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    dockyard.wait_for(uuid, "Error")
    assert in_use(dockyard) == before
    kept = dockyard.create({"command": SLEEPER, "memory": 40, "cpu": 0.3}, run=False).json()
    after = in_use(dockyard)
    assert after["containers"] == before["containers"] + 1
    assert after["memory"] == before["memory"] + 40
    assert after["cpu"] == pytest.approx(before["cpu"] + 0.3)
    delete(dockyard, uuid, kept["uuid"])
    assert in_use(dockyard) == before


def test_patch_beyond_the_memory_quota_is_403_and_changes_nothing(dockyard: Dockyard) -> None:
    before = in_use(dockyard)
    put(dockyard, memory=before["memory"] + 100)
    created = dockyard.create({"command": SLEEPER, "memory": 32}, run=False).json()
    uuid = created["uuid"]
    dockyard.wait_for(uuid, "Created")
    patch = dockyard.request("PATCH", f"/v1/containers/{uuid}", json={"memory": 200})
    detail = error(patch, 403, "container.over-quota")
    assert "memory: 168 requested, limit" in detail
    assert dockyard.show(uuid)["memory"] == "32"
    [engine] = [c for c in dockyard.engine_containers() if uuid in c.labels.values()]
    assert engine.attrs["HostConfig"]["Memory"] == 32 * 1024 * 1024
    assert in_use(dockyard)["memory"] == before["memory"] + 32
    grown = dockyard.request("PATCH", f"/v1/containers/{uuid}", json={"memory": 100})
    assert grown.status_code == 200, grown.text
    assert in_use(dockyard)["memory"] == before["memory"] + 100
    delete(dockyard, uuid)
    assert in_use(dockyard) == before


def test_concurrent_creates_admit_exactly_the_quota(dockyard: Dockyard) -> None:
    before = in_use(dockyard)
    put(dockyard, containers=before["containers"] + 10)
    body = {"command": SLEEPER, "memory": 8, "cpu": 0.1}
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda _: dockyard.create(body, run=False), range(32)))
    admitted = [a.json()["uuid"] for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert len(admitted) == 10
    assert len(refused) == 22
    assert all(a.json()["errors"][0]["code"] == "container.over-quota" for a in refused)
    assert in_use(dockyard)["containers"] == before["containers"] + 10
    delete(dockyard, *admitted)
    assert in_use(dockyard) == before
