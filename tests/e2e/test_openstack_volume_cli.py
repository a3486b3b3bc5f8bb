"""End to end: the `openstack volume` commands, unchanged, against `dockyard up` with its own
identity (configured only by admin-openrc), over the block-storage v3 subset.

The tests in this module share one service and run in file order.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

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


def test_the_catalog_points_block_storage_at_the_project(cloud: Cloud) -> None:
    base = cloud.instance.url
    [catalog, token] = cloud.json(["catalog", "list"], ["token", "issue"])
    [block] = [entry for entry in catalog if entry["Type"] == "block-storage"]
    assert block["Name"] == "cinder"
    urls = {endpoint["url"] for endpoint in block["Endpoints"]}
    assert urls == {f"{base}/volume/v3/{token['project_id']}"}


def test_volume_create_list_show_delete(cloud: Cloud) -> None:
    made, listed, long, shown = cloud.json(
        ["volume", "create", "--size", "1", "--description", "web-content", "data"],
        ["volume", "list"],
        ["volume", "list", "--long"],
        ["volume", "show", "data"],
    )
    assert (made["name"], made["size"], made["status"]) == ("data", 1, "available")
    assert made["description"] == "web-content" and made["attachments"] == []
    assert listed == [
        {"ID": made["id"], "Name": "data", "Status": "available", "Size": 1, "Attached to": []}
    ]
    assert [(v["ID"], v["Type"], v["Bootable"], v["Properties"]) for v in long] == [
        (made["id"], "__DEFAULT__", False, {})
    ]
    assert shown["id"] == made["id"] and shown["description"] == "web-content"
    cloud.quiet(["volume", "delete", "data"])
    [after] = cloud.json(["volume", "list"])
    assert after == []


def test_volume_errors_are_reported(cloud: Cloud) -> None:
    errors = cloud.errors(
        ["volume", "show", "nothing-here"],
        ["volume", "delete", "nothing-here"],
        ["volume", "create", "--size", "21", "too-big"],
        ["volume", "create", "--size", "1", "--property", "k=v", "with-metadata"],
    )
    assert "No Volume found for nothing-here" in errors
    assert "Failed to delete volume with name or ID 'nothing-here'" in errors
    assert "over the largest volume allowed, 20 GiB" in errors
    assert "metadata" in errors


def test_two_volumes_of_one_name_are_told_apart_by_id(cloud: Cloud) -> None:
    """Also proves the failed creates before made nothing: only the twins are listed."""
    first, second, listed = cloud.json(
        ["volume", "create", "--size", "1", "twin"],
        ["volume", "create", "--size", "2", "twin"],
        ["volume", "list"],
    )
    assert sorted(v["ID"] for v in listed) == sorted([first["id"], second["id"]])
    assert "More than one Volume exists with the name 'twin'" in cloud.errors(
        ["volume", "show", "twin"]
    )
    [shown] = cloud.json(["volume", "show", second["id"]])
    assert shown["size"] == 2
    cloud.quiet(["volume", "delete", first["id"], second["id"]])
    [after] = cloud.json(["volume", "list"])
    assert after == []
