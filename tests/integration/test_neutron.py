"""The neutron network driver against a real neutron-server (and Keystone), real engine and
kernel: ports, addresses and security groups in Neutron, packets with ``busybox nc``.

One Keystone, one Neutron and one all-in-one Dockyard (``[network] driver = neutron``,
``noauth`` with a project of its own) serve the whole module.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.domain.networks import DEVICE_OWNER
from dockyard.drivers.network.local.firewall import NftablesFirewall, kernel_tools_present
from dockyard.drivers.network.neutron.client import NeutronClient
from dockyard.drivers.network.neutron.driver import NeutronNetworkDriver, port_mark
from dockyard.drivers.network.neutron.watch import NeutronWatch
from tests.conftest import (
    Dockyard,
    free_port,
    private_network_pool,
    require,
    start_dockyard,
    stop_dockyard,
)
from tests.integration.test_networks_e2e import (
    IDLE,
    PORT,
    SERVER,
    engine,
    eventually_reaches,
    ip_of,
    reaches,
    run,
    succeeded,
)
from tests.support import neutron as neutron_support
from tests.support.keystone import behind_keystone
from tests.support.neutron import Neutron, driver_config
from tests.support.projects import LOCAL_IDENTITY, two_projects


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neutron]:
    require(kernel_tools_present(), "nft is not installed")
    require(neutron_support.installed(), "Neutron in .venv-neutron; run scripts/ensure-neutron.sh")
    state = Path(tmp_path_factory.mktemp("neutron-cloud"))
    with behind_keystone(
        state, free_port(), lambda keystone: Neutron(state / "neutron", free_port(), keystone)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def service(
    cloud: Neutron, tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    project = uuid.uuid4().hex
    service = start_dockyard(
        tmp_path_factory.mktemp("dockyard-neutron"),
        docker_client,
        extra_config=[
            "[DEFAULT]",
            f"noauth_project_id = {project}",
            *driver_config(cloud),
        ],
    )
    yield service
    stop_dockyard(service)
    NftablesFirewall(service.node.agent.installation, service.host).clear()


def driver_of(service: Dockyard) -> NeutronNetworkDriver:
    driver = service.node.services.creator.networks
    assert isinstance(driver, NeutronNetworkDriver)
    return driver


def ports(cloud: Neutron, **query: str) -> list[dict[str, Any]]:
    path = "/v2.0/ports?" + "&".join(f"{k}={v}" for k, v in query.items())
    return list(cloud.admin("GET", path)["ports"])


def own_ports(cloud: Neutron, service: Dockyard) -> list[dict[str, Any]]:
    return ports(cloud, description=port_mark(service.node.agent.installation))


def other_cidr(service: Dockyard) -> str:
    """A /24 no network of the engine or of the installation's pool overlaps."""
    return str(next(ipaddress.ip_network(private_network_pool(service.docker)).subnets(4)))


@pytest.fixture(scope="module")
def project(service: Dockyard) -> str:
    made = run(service, "first", IDLE)
    return str(made["project_id"])


@pytest.fixture(scope="module")
def blue(cloud: Neutron, service: Dockyard, project: str) -> dict[str, Any]:
    """A network of the project, made in Neutron by its admin, with one subnet."""
    network = cloud.admin("POST", "/v2.0/networks", network={"name": "blue", "project_id": project})
    cidr = other_cidr(service)
    subnet = cloud.admin(
        "POST",
        "/v2.0/subnets",
        subnet={
            "network_id": network["network"]["id"],
            "project_id": project,
            "cidr": cidr,
            "ip_version": 4,
        },
    )
    return {**network["network"], "cidr": cidr, "subnet_id": subnet["subnet"]["id"]}


def test_a_create_without_nets_gets_a_port_on_the_projects_network_in_neutron(
    cloud: Neutron, service: Dockyard, project: str
) -> None:
    made = run(service, "web", SERVER)
    [(network_id, [entry])] = made["addresses"].items()
    [network] = cloud.admin("GET", f"/v2.0/networks?id={network_id}")["networks"]
    assert (network["name"], network["project_id"]) == ("private", project)
    [port] = ports(cloud, device_id=made["uuid"])
    assert port["id"] == entry["port"] and not entry["preserve_on_delete"]
    assert port["device_owner"] == DEVICE_OWNER
    assert port["binding:host_id"] == service.host
    assert port["status"] == "DOWN"  # no agent binds it, and nothing waited for it
    assert [ip["ip_address"] for ip in port["fixed_ips"]] == [entry["addr"]]
    [settings] = engine(service, made["uuid"]).attrs["NetworkSettings"]["Networks"].values()
    assert (settings["IPAddress"], settings["MacAddress"]) == (entry["addr"], port["mac_address"])
    # The host's bridge mirrors the Neutron network: its subnet and its MTU.
    bridge = service.docker.networks.get(f"dockyard-{network_id}").attrs
    [subnet] = cloud.admin("GET", f"/v2.0/subnets?network_id={network_id}")["subnets"]
    assert [c["Subnet"] for c in bridge["IPAM"]["Config"]] == [subnet["cidr"]]
    assert bridge["Options"]["com.docker.network.driver.mtu"] == str(network["mtu"])
    # A second container of the project uses the same network and reaches the first.
    shell = run(service, "shell", IDLE)
    assert list(shell["addresses"]) == [network_id]
    assert eventually_reaches(service, shell, ip_of(made), within=5) < 5


def test_a_named_network_with_a_fixed_ip_and_a_taken_one_is_409_before_anything_is_made(
    cloud: Neutron, service: Dockyard, blue: dict[str, Any]
) -> None:
    fixed = str(ipaddress.ip_network(blue["cidr"])[20])
    nets = [{"network": "blue", "v4-fixed-ip": fixed}]
    made = run(service, "fixed", IDLE, nets=nets)
    assert [e["addr"] for e in made["addresses"][blue["id"]]] == [fixed]
    settings = engine(service, made["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert settings[f"dockyard-{blue['id']}"]["IPAddress"] == fixed

    before = (len(ports(cloud, network_id=blue["id"])), len(service.engine_containers()))
    taken = service.create({"name": "taken", "command": IDLE, "nets": nets})
    assert taken.status_code == 409, taken.text
    assert fixed in taken.text
    after = (len(ports(cloud, network_id=blue["id"])), len(service.engine_containers()))
    assert after == before
    assert service.request("GET", "/v1/containers/taken").status_code == 404


def test_a_users_port_is_used_then_kept_and_unbound(
    cloud: Neutron, service: Dockyard, project: str, blue: dict[str, Any]
) -> None:
    port = cloud.admin(
        "POST",
        "/v2.0/ports",
        port={"network_id": blue["id"], "project_id": project, "name": "mine"},
    )["port"]
    made = run(service, "on-port", IDLE, nets=[{"port": "mine"}])
    [entry] = made["addresses"][blue["id"]]
    assert (entry["port"], entry["preserve_on_delete"]) == (port["id"], True)
    bound = cloud.admin("GET", f"/v2.0/ports/{port['id']}")["port"]
    assert (bound["device_id"], bound["binding:host_id"]) == (made["uuid"], service.host)

    # Bound now: a second container cannot take it.
    again = service.create({"name": "again", "command": IDLE, "nets": [{"port": port["id"]}]})
    assert again.status_code == 400, again.text

    assert service.request("DELETE", f"/v1/containers/{made['uuid']}?force=true").status_code == 204
    service.wait_gone(made["uuid"])
    kept = cloud.admin("GET", f"/v2.0/ports/{port['id']}")["port"]
    assert (kept["device_id"], kept["binding:host_id"], kept["device_owner"]) == ("", "", "")
    assert kept["fixed_ips"] == port["fixed_ips"]


def test_another_projects_shared_network_may_be_used(
    cloud: Neutron, service: Dockyard, project: str
) -> None:
    owner = uuid.uuid4().hex
    # Shared networks are seen by every project: a name of its own, apart from other runs'.
    name = f"commons-{owner[:8]}"
    shared = cloud.admin(
        "POST", "/v2.0/networks", network={"name": name, "project_id": owner, "shared": True}
    )["network"]
    cloud.admin(
        "POST",
        "/v2.0/subnets",
        subnet={"network_id": shared["id"], "project_id": owner, "cidr": other_cidr(service),
                "ip_version": 4},
    )  # fmt: skip
    made = run(service, "on-shared", IDLE, nets=[{"network": name}])
    [port] = ports(cloud, device_id=made["uuid"])
    # The port is the container's project's, on the other project's network.
    assert (port["network_id"], port["project_id"]) == (shared["id"], project)


def test_attach_and_detach_make_and_remove_the_port(
    cloud: Neutron, service: Dockyard, blue: dict[str, Any]
) -> None:
    shell = service.show("shell")
    path = f"/v1/containers/{shell['uuid']}"
    attached = service.request("POST", f"{path}/network_attach", params={"network": "blue"})
    assert attached.status_code == 200, attached.text
    succeeded(service, shell["uuid"], "network_attach")
    [entry] = service.show("shell")["addresses"][blue["id"]]
    [port] = ports(cloud, device_id=shell["uuid"], network_id=blue["id"])
    assert port["fixed_ips"][0]["ip_address"] == entry["addr"]
    nets = engine(service, shell["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert nets[f"dockyard-{blue['id']}"]["IPAddress"] == entry["addr"]

    detached = service.request("POST", f"{path}/network_detach", params={"network": "blue"})
    assert detached.status_code == 202, detached.text
    succeeded(service, shell["uuid"], "network_detach")
    assert blue["id"] not in service.show("shell")["addresses"]
    assert ports(cloud, device_id=shell["uuid"], network_id=blue["id"]) == []


def test_a_rule_added_in_neutron_opens_traffic_within_2_s(
    cloud: Neutron, service: Dockyard, project: str
) -> None:
    group = cloud.admin(
        "POST", "/v2.0/security-groups", security_group={"name": "closed", "project_id": project}
    )["security_group"]
    guarded = run(service, "guarded", SERVER, security_groups=["closed"])
    assert guarded["security_groups"] == [group["id"]]
    shell = service.show("shell")
    assert not reaches(service, shell, ip_of(guarded))

    cloud.admin(
        "POST",
        "/v2.0/security-group-rules",
        security_group_rule={
            "security_group_id": group["id"],
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": PORT,
            "port_range_max": PORT,
        },
    )
    # From the moment Neutron holds the rule.
    assert eventually_reaches(service, shell, ip_of(guarded), within=10) < 2.0


def test_add_and_remove_security_group_change_the_port_in_neutron(
    cloud: Neutron, service: Dockyard, project: str
) -> None:
    def act(action: str, name: str) -> Any:
        path = f"/v1/containers/guarded/{action}?name={name}"
        return service.request("POST", path, version="container 1.14")

    shell = service.show("shell")
    guarded = service.show("guarded")
    [closed] = guarded["security_groups"]
    # ``closed`` lets port 8080 in; with only ``lonely`` (egress alone) nothing comes in.
    lonely = cloud.admin(
        "POST", "/v2.0/security-groups", security_group={"name": "lonely", "project_id": project}
    )["security_group"]
    assert act("add_security_group", "lonely").status_code == 202
    succeeded(service, guarded["uuid"], "add_security_group")
    assert act("remove_security_group", closed).status_code == 202
    succeeded(service, guarded["uuid"], "remove_security_group")
    [port] = ports(cloud, device_id=guarded["uuid"])
    assert port["security_groups"] == [lonely["id"]]
    assert service.show("guarded")["security_groups"] == [lonely["id"]]
    deadline = time.monotonic() + 5
    while reaches(service, shell, ip_of(guarded)):
        assert time.monotonic() < deadline, "the removed group still lets traffic in"


@pytest.fixture(scope="module")
def strangers(cloud: Neutron, project: str) -> dict[str, str]:
    """A subnet-less network of the project, and a port of another project (by id)."""
    other = uuid.uuid4().hex
    network = cloud.admin("POST", "/v2.0/networks", network={"name": "o", "project_id": other})
    cloud.admin(
        "POST",
        "/v2.0/subnets",
        subnet={"network_id": network["network"]["id"], "project_id": other,
                "cidr": "192.168.77.0/24", "ip_version": 4},
    )  # fmt: skip
    theirs = cloud.admin(
        "POST", "/v2.0/ports", port={"network_id": network["network"]["id"], "project_id": other}
    )["port"]
    bare = cloud.admin("POST", "/v2.0/networks", network={"name": "bare", "project_id": project})
    return {"bare": bare["network"]["id"], "theirs": theirs["id"]}


@pytest.mark.parametrize(
    ("key", "ident", "status", "code"),
    [
        ("network", "no-such-network", 404, "network-not-found"),
        ("port", "no-such-port", 404, "port-not-found"),
        ("network", "bare", 400, "invalid-value"),
        ("port", "theirs", 404, "port-not-found"),
    ],
)
def test_bad_nets_are_refused_before_anything_is_made(
    cloud: Neutron,
    service: Dockyard,
    strangers: dict[str, str],
    key: str,
    ident: str,
    status: int,
    code: str,
) -> None:
    before = len(own_ports(cloud, service))
    nets = [{key: strangers.get(ident, ident)}]
    refused = service.create({"name": "refused", "command": IDLE, "nets": nets})
    assert refused.status_code == status, refused.text
    assert refused.json()["errors"][0]["code"] == f"container.{code}"
    assert len(own_ports(cloud, service)) == before


def test_neutron_unreachable_is_503_and_leaves_nothing(cloud: Neutron, service: Dockyard) -> None:
    client = driver_of(service).api
    assert isinstance(client, NeutronClient)
    before = (len(own_ports(cloud, service)), len(service.engine_containers()))
    saved = client.endpoint_override
    client.endpoint_override = f"http://127.0.0.1:{free_port()}"
    try:
        refused = service.create({"name": "unreachable", "command": IDLE})
    finally:
        client.endpoint_override = saved
    assert refused.status_code == 503, refused.text
    assert (len(own_ports(cloud, service)), len(service.engine_containers())) == before
    assert service.request("GET", "/v1/containers/unreachable").status_code == 404


def test_the_sweep_removes_ports_whose_container_is_gone(
    cloud: Neutron, service: Dockyard, project: str
) -> None:
    driver = driver_of(service)
    network, _ = driver.project_network(project)
    orphan = cloud.admin(
        "POST",
        "/v2.0/ports",
        port={
            "network_id": network.id,
            "project_id": project,
            "device_id": str(uuid.uuid4()),
            "device_owner": DEVICE_OWNER,
            "description": port_mark(service.node.agent.installation),
        },
    )["port"]
    # As the conductor runs it: the records know every container but the orphan's.
    watch = NeutronWatch(
        driver, lambda host, firewall: None, lambda ids: set(ids) - {orphan["device_id"]}
    )
    assert watch.sweep() == 1
    assert ports(cloud, id=orphan["id"]) == []
    assert len(ports(cloud, device_owner=DEVICE_OWNER, **{"binding:host_id": service.host})) > 0


def test_v1_networks_wrap_neutron_networks(
    cloud: Neutron,
    service: Dockyard,
    project: str,
    blue: dict[str, Any],
    strangers: dict[str, str],
) -> None:
    """Zun's ``/v1/networks`` under the neutron driver: the network is Neutron's."""
    green = cloud.admin("POST", "/v2.0/networks", network={"name": "green", "project_id": project})[
        "network"
    ]
    cloud.admin(
        "POST",
        "/v2.0/subnets",
        subnet={"network_id": green["id"], "project_id": project,
                "cidr": other_cidr(service), "ip_version": 4},
    )  # fmt: skip

    def create(network_id: str) -> Any:
        body = {"name": "wrapped", "neutron_net_id": network_id}
        return service.request("POST", "/v1/networks", json=body)

    made = create(green["id"])
    assert made.status_code == 200, made.text
    record = made.json()
    assert (record["neutron_net_id"], record["network_id"]) == (
        green["id"],
        f"dockyard-{green['id']}",
    )
    assert create(green["id"]).json()["uuid"] == record["uuid"]
    assert create(str(uuid.uuid4())).status_code == 404
    bare = create(strangers["bare"])
    assert bare.status_code == 400, bare.text
    assert "has no subnet to take addresses from" in bare.text  # as the local driver says
    # A container of the module is on blue: its network stays.
    busy = service.request("DELETE", f"/v1/networks/{blue['id']}")
    assert busy.status_code == 409, busy.text
    assert service.request("DELETE", f"/v1/networks/{green['id']}").status_code == 204
    assert service.request("DELETE", f"/v1/networks/{uuid.uuid4()}").status_code == 404


def test_deleting_the_containers_leaves_no_port_of_dockyard(
    cloud: Neutron, service: Dockyard
) -> None:
    for container in service.request("GET", "/v1/containers").json()["containers"]:
        response = service.request("DELETE", f"/v1/containers/{container['uuid']}?force=true")
        assert response.status_code == 204, response.text
    for container in service.request("GET", "/v1/containers").json()["containers"]:
        service.wait_gone(container["uuid"])
    deadline = time.monotonic() + 10
    while own_ports(cloud, service) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert own_ports(cloud, service) == []
    assert ports(cloud, device_owner=DEVICE_OWNER, **{"binding:host_id": service.host}) == []


def test_dockyard_serves_no_network_api_of_its_own(service: Dockyard) -> None:
    assert service.request("GET", "/v2.0/networks").status_code == 404


def test_the_built_in_identitys_catalog_points_at_the_clouds_neutron(
    cloud: Neutron, tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> None:
    """auth_strategy = local with the neutron driver: ``/v2.0`` is not Dockyard's, and the
    catalog's network endpoint is the one the service user's Keystone lists."""
    tmp = tmp_path_factory.mktemp("dockyard-neutron-local")
    local = start_dockyard(
        tmp,
        docker_client,
        extra_config=[
            *LOCAL_IDENTITY,
            *driver_config(cloud),
        ],
    )
    try:
        admin = two_projects(local, tmp).admin
        check = local.session.get(
            local.url + "/v3/auth/tokens",
            headers={"X-Auth-Token": admin.token, "X-Subject-Token": admin.token},
            timeout=30,
        )
        assert check.status_code == 200, check.text
        [network] = [s for s in check.json()["token"]["catalog"] if s["type"] == "network"]
        assert {e["url"] for e in network["endpoints"]} == {cloud.url + "/"}
        listed = local.session.get(
            local.url + "/v3/endpoints",
            params={"service_id": network["id"]},
            headers={"X-Auth-Token": admin.token},
            timeout=30,
        ).json()["endpoints"]
        assert {e["url"] for e in listed} == {cloud.url + "/"}
        served = local.request("GET", "/v2.0/networks", headers={"X-Auth-Token": admin.token})
        assert served.status_code == 404, served.text
    finally:
        stop_dockyard(local)
