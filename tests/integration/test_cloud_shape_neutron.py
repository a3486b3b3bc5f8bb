"""The cloud shape (separate dockyard-api, -conductor and -compute) with the neutron
network driver, against a real neutron-server and Keystone: the API and the conductor
reach Neutron as the service user, the agent only its engine and the broker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.labels import LABEL_CONTAINER_ID
from dockyard.domain.networks import DEVICE_OWNER
from dockyard.drivers.network.local.firewall import kernel_tools_present
from tests.conftest import LATEST, TEST_IMAGE, free_port, require
from tests.support import neutron as neutron_support
from tests.support.cluster import MAIN_ENGINE, SLOT_CPU, Cluster, HostSpec, running_cluster
from tests.support.keystone import behind_keystone
from tests.support.neutron import Neutron, driver_config

pytestmark = pytest.mark.docker

IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Neutron, str]]:
    require(kernel_tools_present(), "nft is not installed")
    require(neutron_support.installed(), "Neutron in .venv-neutron; run scripts/ensure-neutron.sh")
    root = Path(tmp_path_factory.mktemp("cloud-neutron"))
    project = uuid.uuid4().hex
    with behind_keystone(
        root / "openstack", free_port(), lambda ks: Neutron(root / "neutron", free_port(), ks)
    ) as neutron:
        config = driver_config(neutron)
        with running_cluster(
            root,
            specs=[HostSpec("a", MAIN_ENGINE, "az1", 8)],
            api_config=["[DEFAULT]", f"noauth_project_id = {project}", *config],
            conductor_config=config,
        ) as cluster:
            yield cluster, neutron, project


def request(cluster: Cluster, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"OpenStack-API-Version": LATEST}
    return requests.request(method, cluster.url + path, headers=headers, timeout=60, **kw)


def wait_running(cluster: Cluster, uuid_: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        shown = request(cluster, "GET", f"/v1/containers/{uuid_}").json()
        if shown["status"] == "Running" and shown["task_state"] is None:
            return dict(shown)
        assert shown["status"] not in ("Error", "Stopped"), (shown, cluster.logs())
        assert time.monotonic() < deadline, (shown, cluster.logs())
        time.sleep(0.3)


def ports(neutron: Neutron, **query: str) -> list[dict[str, Any]]:
    path = "/v2.0/ports?" + "&".join(f"{k}={v}" for k, v in query.items())
    return list(neutron.admin("GET", path)["ports"])


def test_a_container_gets_its_neutron_port_and_leaves_none(
    cloud: tuple[Cluster, Neutron, str], docker_client: docker.DockerClient
) -> None:
    cluster, neutron, project = cloud
    body = {"image": TEST_IMAGE, "command": IDLE, "memory": 32, "cpu": SLOT_CPU, "name": "n1"}
    made = request(cluster, "POST", "/v1/containers?run=true", json=body)
    assert made.status_code == 202, made.text
    shown = wait_running(cluster, made.json()["uuid"])

    # The project's network, made in Neutron; the port made for the container there.
    [(network_id, [entry])] = shown["addresses"].items()
    [network] = neutron.admin("GET", f"/v2.0/networks?id={network_id}")["networks"]
    assert network["project_id"] == project
    [port] = ports(neutron, device_id=shown["uuid"])
    assert (port["id"], port["device_owner"]) == (entry["port"], DEVICE_OWNER)
    assert port["binding:host_id"] == cluster.host("a")
    assert [ip["ip_address"] for ip in port["fixed_ips"]] == [entry["addr"]]
    [container] = docker_client.containers.list(
        filters={"label": f"{LABEL_CONTAINER_ID}={shown['uuid']}"}
    )
    [settings] = container.attrs["NetworkSettings"]["Networks"].values()
    assert (settings["IPAddress"], settings["MacAddress"]) == (entry["addr"], port["mac_address"])
    # The cloud's Neutron keeps the records: this API serves no /v2.0.
    assert request(cluster, "GET", "/v2.0/networks").status_code == 404

    gone = request(cluster, "DELETE", f"/v1/containers/{shown['uuid']}?force=true")
    assert gone.status_code == 204, gone.text
    deadline = time.monotonic() + 60
    while request(cluster, "GET", f"/v1/containers/{shown['uuid']}").status_code != 404:
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.3)
    # The conductor released the port when the agent reported the container gone.
    assert ports(neutron, device_id=shown["uuid"]) == []
    host_ports = ports(neutron, device_owner=DEVICE_OWNER, **{"binding:host_id": cluster.host("a")})
    assert host_ports == []
