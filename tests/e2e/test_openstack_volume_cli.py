"""End to end: the `openstack volume` commands, unchanged, against `dockyard up` with its own
identity (configured only by admin-openrc), over the block-storage v3 subset.

The tests in this module share one service and run in file order. Commands are
batched into few CLI processes (each start costs seconds).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import TEST_IMAGE
from tests.e2e.process import Instance, stop
from tests.e2e.test_local_identity_cli import parse_openrc
from tests.e2e.test_openstack_network_cli import Cloud

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    instance = Instance.new(
        tmp_path_factory.mktemp("dockyard-volume"),
        prefix="vol",
        auth_strategy=None,
        extra_config=["[identity]", "password_hash_rounds = 4", "[volume]", "maximum_size = 20"],
        split_output=True,
    )
    process = instance.start()
    try:
        admin = parse_openrc((instance.root / "data" / "admin-openrc").read_text())
        cloud = Cloud(instance, process, admin)
        yield cloud
        assert stop(cloud.process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for path in (instance.log, instance.output):
            if path.exists():
                sys.stderr.write(f"\n===== {path.name} =====\n{path.read_text()[-4000:]}")


def then_list(cloud: Cloud, *commands: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """Run ``commands`` (which print nothing on success), then `volume list`: what the
    commands reported and the volumes left."""
    result = cloud.run(*commands, ["volume", "list", "-f", "json"])
    return result.stderr, list(json.loads(result.stdout))


def test_catalog_and_volume_create_list_show_delete(cloud: Cloud) -> None:
    base = cloud.instance.url
    catalog, token, made, listed, long, shown = cloud.json(
        ["catalog", "list"],
        ["token", "issue"],
        ["volume", "create", "--size", "1", "--description", "web-content", "data"],
        ["volume", "list"],
        ["volume", "list", "--long"],
        ["volume", "show", "data"],
    )
    [block] = [entry for entry in catalog if entry["Type"] == "block-storage"]
    assert block["Name"] == "cinder"
    urls = {endpoint["url"] for endpoint in block["Endpoints"]}
    assert urls == {f"{base}/volume/v3/{token['project_id']}"}

    assert (made["name"], made["size"], made["status"]) == ("data", 1, "available")
    assert made["description"] == "web-content" and made["attachments"] == []
    assert listed == [
        {"ID": made["id"], "Name": "data", "Status": "available", "Size": 1, "Attached to": []}
    ]
    assert [(v["ID"], v["Type"], v["Bootable"], v["Properties"]) for v in long] == [
        (made["id"], "__DEFAULT__", False, {})
    ]
    assert shown["id"] == made["id"] and shown["description"] == "web-content"
    errors, left = then_list(cloud, ["volume", "set", "--name", "site", "data"])
    assert not errors.strip() and [(v["ID"], v["Name"]) for v in left] == [(made["id"], "site")]
    errors, left = then_list(cloud, ["volume", "delete", "site"])
    assert not errors.strip() and left == []


def listed_until(
    cloud: Cloud, done: Callable[[list[dict[str, Any]]], bool], within: float = 90
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while not done(left := then_list(cloud)[1]):
        assert time.monotonic() < deadline, left
        time.sleep(1)
    return left


def test_a_volume_mounted_by_a_container_is_in_use_until_the_container_goes(
    cloud: Cloud,
) -> None:
    [held] = cloud.json(["volume", "create", "--size", "1", "held"])
    # "-f json" before the image: after it, it would be the container's command.
    ran = cloud.run(
        ["appcontainer", "run", "-f", "json", "--name", "holder"]
        + ["--mount", "source=held,destination=/data", "--cpu", "0.1", "--memory", "32"]
        + [TEST_IMAGE, "sleep", "300"]
    )
    assert not ran.stderr.strip(), ran.stderr
    holder = json.loads(ran.stdout)
    errors, left = then_list(
        cloud,
        ["volume", "show", "nothing-here"],
        ["volume", "delete", "nothing-here"],
        ["volume", "create", "--size", "21", "too-big"],
        ["volume", "create", "--size", "1", "--property", "k=v", "with-metadata"],
        ["volume", "delete", "held"],
    )
    assert "No Volume found for nothing-here" in errors
    assert "Failed to delete volume with name or ID 'nothing-here'" in errors
    assert "over the largest volume allowed, 20 GiB" in errors
    assert "Dockyard volumes do not support metadata" in errors
    assert f"409: Client Error for url: {cloud.instance.url}/volume/v3/" in errors
    assert f"is in use by {holder['uuid']}" in errors
    [entry] = left
    assert (entry["ID"], entry["Status"]) == (held["id"], "in-use")
    assert entry["Attached to"] == [
        {**entry["Attached to"][0], "server_id": holder["uuid"], "device": "/data"}
    ]
    deleted = cloud.run(["appcontainer", "delete", "--force", "holder"])
    assert "Request to delete container holder has been accepted" in deleted.stdout, deleted
    listed_until(cloud, lambda left: [v["Status"] for v in left] == ["available"])
    # Its data is on the host now: the delete leaves the removal to that host's agent.
    errors, left = then_list(cloud, ["volume", "delete", "held"])
    assert not errors.strip(), errors
    listed_until(cloud, lambda left: left == [])


def test_two_volumes_of_one_name_are_told_apart_by_id(cloud: Cloud) -> None:
    first, second = cloud.json(
        ["volume", "create", "--size", "1", "twin"], ["volume", "create", "--size", "2", "twin"]
    )
    result = cloud.run(["volume", "show", "twin"], ["volume", "show", second["id"], "-f", "json"])
    assert "More than one Volume exists with the name 'twin'" in result.stderr
    assert json.loads(result.stdout)["size"] == 2
    errors, left = then_list(cloud, ["volume", "delete", first["id"], second["id"]])
    assert not errors.strip() and left == []
