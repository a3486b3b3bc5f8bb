"""The /v2.0 network subset, /v1/networks and the identity's catalog reads over HTTP.

One all-in-one service for the module (auth_strategy = local). Projects: team-a
(alice), team-b (bob), admin (admin). Every bad request must answer Neutron's
error body with the right status and type and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest
import requests

from tests.conftest import Dockyard, start_dockyard, stop_dockyard
from tests.support.projects import LOCAL_IDENTITY, two_projects

pytestmark = pytest.mark.docker

COLLECTIONS = ("networks", "subnets", "ports", "security-groups", "security-group-rules")


@dataclass
class User:
    service: Dockyard
    token: str
    project_id: str

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.service.request(method, path, headers=headers, **kw)  # type: ignore[no-any-return]

    def made(self, collection: str, **fields: Any) -> dict[str, Any]:
        key = collection.replace("-", "_")[:-1]
        response = self.call("POST", f"/v2.0/{collection}", json={key: fields})
        assert response.status_code == 201, response.text
        return dict(response.json()[key])

    def listed(self, collection: str, query: str = "") -> list[dict[str, Any]]:
        response = self.call("GET", f"/v2.0/{collection}{query}")
        assert response.status_code == 200, response.text
        return list(response.json()[collection.replace("-", "_")])


@dataclass
class World:
    service: Dockyard
    alice: User
    bob: User
    admin: User


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("network-api")
    service = start_dockyard(tmp, docker_client, extra_config=LOCAL_IDENTITY)
    try:
        logins = two_projects(service, tmp)
        yield World(
            service,
            User(service, logins.alice.token, logins.alice.project_id),
            User(service, logins.bob.token, logins.bob.project_id),
            User(service, logins.admin.token, logins.admin.project_id),
        )
    finally:
        stop_dockyard(service)


def everything(world: World) -> dict[str, list[dict[str, Any]]]:
    return {c: world.admin.listed(c) for c in COLLECTIONS}


def neutron_error(response: requests.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == kind and error["detail"] == "", error
    return str(error["message"])


@pytest.fixture(scope="module")
def alice_net(world: World) -> dict[str, Any]:
    """Alice's network 10.61.0.0/24 with a port holding 10.61.0.10, and her group ``web``."""
    alice = world.alice
    net = alice.made("networks", name="a-net")
    subnet = alice.made("subnets", network_id=net["id"], cidr="10.61.0.0/24", ip_version=4)
    port = alice.made(
        "ports", network_id=net["id"], fixed_ips=[{"ip_address": "10.61.0.10"}], name="held"
    )
    web = alice.made("security-groups", name="web")
    bobs = world.bob.made("security-groups", name="bobs")
    bob_net = world.bob.made("networks", name="b-net")
    return {
        "net": net,
        "subnet": subnet,
        "port": port,
        "web": web,
        "bobs": bobs,
        "bob_net": bob_net,
    }


def test_create_show_list_update_delete_with_neutron_shapes(
    world: World, alice_net: dict[str, Any]
) -> None:
    alice, net, subnet, port = world.alice, alice_net["net"], alice_net["subnet"], alice_net["port"]
    assert net["project_id"] == net["tenant_id"] == alice.project_id and net["status"] == "ACTIVE"
    assert subnet["gateway_ip"] == "10.61.0.1" and subnet["allocation_pools"] == [
        {"start": "10.61.0.2", "end": "10.61.0.254"}
    ]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.61.0.10"}]
    assert port["status"] == "DOWN" and port["mac_address"].startswith("0a:d7:")
    default = [g for g in alice.listed("security-groups") if g["name"] == "default"]
    assert port["security_groups"] == [default[0]["id"]]

    shown = alice.call("GET", f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["subnets"] == [subnet["id"]]
    fields = alice.call("GET", f"/v2.0/networks/{net['id']}?fields=id&fields=name").json()
    assert fields == {"network": {"id": net["id"], "name": "a-net"}}
    assert [n["id"] for n in alice.listed("networks", "?name=a-net")] == [net["id"]]
    assert alice.listed("networks", "?name=nope") == []
    assert [p["id"] for p in alice.listed("ports", f"?network_id={net['id']}")] == [port["id"]]
    assert alice.listed("ports", "?device_id=x") == []
    assert [p["id"] for p in alice.listed("ports", "?fixed_ips=ip_address%3D10.61.0.10")] == [
        port["id"]
    ]
    assert alice.listed("ports", "?fields=id") == [{"id": port["id"]}]
    assert {n["name"] for n in world.admin.listed("networks")} >= {"a-net", "b-net"}
    assert {n["name"] for n in alice.listed("networks")} == {"a-net"}

    renamed = alice.call("PUT", f"/v2.0/ports/{port['id']}", json={"port": {"name": "kept"}})
    assert renamed.status_code == 200 and renamed.json()["port"]["name"] == "kept"
    extra = alice.made("ports", network_id=net["id"])
    assert extra["fixed_ips"][0]["ip_address"] == "10.61.0.2"
    assert alice.call("DELETE", f"/v2.0/ports/{extra['id']}").status_code == 204
    neutron_error(alice.call("GET", f"/v2.0/ports/{extra['id']}"), 404, "PortNotFound")


def test_records_in_use_and_other_projects_records(world: World, alice_net: dict[str, Any]) -> None:
    alice, bob, net = world.alice, world.bob, alice_net["net"]
    before = everything(world)
    message = neutron_error(
        alice.call("DELETE", f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse"
    )
    assert "ports still in use" in message
    neutron_error(
        alice.call("DELETE", f"/v2.0/subnets/{alice_net['subnet']['id']}"), 409, "SubnetInUse"
    )
    for collection, ident, kind in (
        ("networks", net["id"], "NetworkNotFound"),
        ("ports", alice_net["port"]["id"], "PortNotFound"),
        ("security-groups", alice_net["web"]["id"], "SecurityGroupNotFound"),
        ("subnets", alice_net["subnet"]["id"], "SubnetNotFound"),
    ):
        neutron_error(bob.call("GET", f"/v2.0/{collection}/{ident}"), 404, kind)
        neutron_error(bob.call("DELETE", f"/v2.0/{collection}/{ident}"), 404, kind)
    assert everything(world) == before
    assert world.admin.call("GET", f"/v2.0/networks/{net['id']}").status_code == 200


def _bad_requests(ids: dict[str, Any]) -> list[tuple[str, str, Any, int, str]]:
    net, subnet = ids["net"]["id"], ids["subnet"]["id"]
    web, bobs, bob_net = ids["web"]["id"], ids["bobs"]["id"], ids["bob_net"]["id"]

    def sub(**f: Any) -> dict[str, Any]:
        return {"subnet": {"network_id": net, "ip_version": 4, **f}}

    def port(**f: Any) -> dict[str, Any]:
        return {"port": {"network_id": net, **f}}

    def rule(**f: Any) -> dict[str, Any]:
        return {"security_group_rule": {"security_group_id": web, "direction": "ingress", **f}}

    bad, conflict = "InvalidInput", "IpAddressAlreadyAllocated"
    return [
        ("networks", "POST", "{not json", 400, bad),
        ("networks", "POST", {"netwrk": {"name": "x"}}, 400, bad),
        ("networks", "POST", {"network": {"name": "x", "bogus": 1}}, 400, bad),
        ("networks", "POST", {"network": {"name": 5}}, 400, bad),
        ("networks", "POST", {"network": {"admin_state_up": "maybe"}}, 400, bad),
        ("networks", "POST", {"network": {"mtu": 20}}, 400, bad),
        ("networks", "POST", {"network": {"shared": True}}, 403, "PolicyNotAuthorized"),
        ("subnets", "POST", sub(cidr="10.62.0.0/33"), 400, bad),
        ("subnets", "POST", sub(cidr="not-a-cidr"), 400, bad),
        ("subnets", "POST", sub(cidr="10.62.0.5/24"), 400, bad),
        ("subnets", "POST", sub(cidr="10.61.0.128/25"), 400, bad),  # overlaps 10.61.0.0/24
        ("subnets", "POST", sub(cidr="10.62.0.0/24", gateway_ip="10.63.0.1"), 400, bad),
        ("subnets", "POST", sub(cidr="10.62.0.0/24", gateway_ip="10.62.0.255"), 400, bad),
        (
            "subnets",
            "POST",
            sub(cidr="10.62.0.0/24", allocation_pools=[{"start": "10.62.1.2", "end": "10.62.1.9"}]),
            400,
            bad,
        ),  # fmt: skip
        (
            "subnets",
            "POST",
            sub(cidr="10.62.0.0/24", allocation_pools=[{"start": "10.62.0.9", "end": "10.62.0.2"}]),
            400,
            bad,
        ),  # fmt: skip
        ("subnets", "POST", sub(cidr="fd00::/64"), 400, bad),  # ip_version 4
        ("subnets", "POST", sub(cidr="10.62.0.0/24", ip_version=5), 400, bad),
        ("subnets", "POST", sub(cidr="10.62.0.0/31"), 400, bad),
        ("subnets", "POST", {"subnet": {"network_id": net}}, 400, bad),
        ("subnets", "POST", sub(cidr="10.62.0.0/24", dns_nameservers=["8.8.8.8"]), 400, bad),
        (
            "subnets",
            "POST",
            {"subnet": {"network_id": bob_net, "cidr": "10.64.0.0/24"}},
            404,
            "NetworkNotFound",
        ),  # fmt: skip
        (
            "ports",
            "POST",
            port(fixed_ips=[{"ip_address": "10.99.0.5"}]),
            400,
            "InvalidIpForSubnet",
        ),  # fmt: skip
        (
            "ports",
            "POST",
            port(fixed_ips=[{"subnet_id": subnet, "ip_address": "10.99.0.5"}]),
            400,
            "InvalidIpForSubnet",
        ),  # fmt: skip
        ("ports", "POST", port(fixed_ips=[{"ip_address": "10.61.0.10"}]), 409, conflict),
        ("ports", "POST", port(fixed_ips=[{"ip_address": "10.61.0.1"}]), 409, conflict),
        ("ports", "POST", port(fixed_ips=[{"subnet_id": "no-such-subnet"}]), 400, bad),
        (
            "ports",
            "POST",
            port(fixed_ips=[{"ip_address": "10.61.0.11"}, {"ip_address": "10.61.0.10"}]),
            409,
            conflict,
        ),  # fmt: skip
        ("ports", "POST", {"port": {"network_id": bob_net}}, 404, "NetworkNotFound"),
        ("ports", "POST", port(mac_address="01:00:5e:00:00:01"), 400, bad),
        ("ports", "POST", port(security_groups=[bobs]), 404, "SecurityGroupNotFound"),
        ("ports", "POST", {"port": {"name": "no-network"}}, 400, bad),
        ("security-groups", "POST", {"security_group": {"name": "default"}}, 409, "Conflict"),
        ("security-groups", "POST", {"security_group": {"name": "x", "rules": []}}, 400, bad),
        (
            "security-group-rules",
            "POST",
            rule(protocol="tcp", port_range_min=90, port_range_max=80),
            400,
            bad,
        ),  # fmt: skip
        ("security-group-rules", "POST", rule(protocol="gre"), 400, bad),
        (
            "security-group-rules",
            "POST",
            rule(remote_group_id=bobs),
            404,
            "SecurityGroupNotFound",
        ),  # fmt: skip
        (
            "security-group-rules",
            "POST",
            rule(remote_group_id=web, remote_ip_prefix="10.0.0.0/8"),
            400,
            bad,
        ),  # fmt: skip
        ("security-group-rules", "POST", rule(direction="sideways"), 400, bad),
        ("security-group-rules", "POST", rule(remote_ip_prefix="10.0.0.0/40"), 400, bad),
        ("security-group-rules", "POST", rule(remote_ip_prefix="::/0"), 400, bad),
        ("security-group-rules", "POST", rule(port_range_min=80, port_range_max=80), 400, bad),
        (
            "security-group-rules",
            "POST",
            rule(protocol="udp", port_range_min=1, port_range_max=70000),
            400,
            bad,
        ),  # fmt: skip
        (
            "security-group-rules",
            "POST",
            {"security_group_rule": {"security_group_id": bobs, "direction": "ingress"}},
            404,
            "SecurityGroupNotFound",
        ),  # fmt: skip
        (
            "security-group-rules",
            "POST",
            rule(direction="egress"),
            409,
            "SecurityGroupRuleExists",
        ),  # fmt: skip
        ("security-group-rules", "PUT", {"security_group_rule": {}}, 405, "HTTPMethodNotAllowed"),
    ]


def test_bad_requests_answer_precise_errors_and_change_nothing(
    world: World, alice_net: dict[str, Any]
) -> None:
    cases = _bad_requests(alice_net)
    assert len(cases) >= 25
    before = everything(world)
    for collection, method, body, status, kind in cases:
        path = f"/v2.0/{collection}"
        if method == "PUT":
            path += "/" + before["security-group-rules"][0]["id"]
        if isinstance(body, str):
            response = world.alice.call(
                method, path, data=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = world.alice.call(method, path, json=body)
        neutron_error(response, status, kind)
        assert everything(world) == before, (collection, body)


def test_v1_networks_wrap_a_network_for_admins_only(
    world: World, alice_net: dict[str, Any]
) -> None:
    admin, alice, net = world.admin, world.alice, alice_net["net"]
    body = {"name": "wrapped", "neutron_net_id": net["id"]}
    assert alice.call("POST", "/v1/networks", json=body).status_code == 403
    response = admin.call("POST", "/v1/networks", json=body)
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["neutron_net_id"] == record["name"] == net["id"]
    assert set(record) == {"uuid", "name", "project_id", "user_id", "network_id", "neutron_net_id"}
    assert admin.call("POST", "/v1/networks", json=body).json()["uuid"] == record["uuid"]
    missing = admin.call("POST", "/v1/networks", json={**body, "neutron_net_id": "nope-net"})
    assert missing.status_code == 404, missing.text
    extra = admin.call("POST", "/v1/networks", json={**body, "extra": 1})
    assert extra.status_code == 400, extra.text
    assert admin.call("GET", "/v1/networks").status_code == 405
    old = admin.call("DELETE", f"/v1/networks/{net['id']}", version="container 1.26")
    assert old.status_code == 406, old.text
    assert admin.call("DELETE", "/v1/networks/nope-net").status_code == 404
    assert admin.call("DELETE", f"/v1/networks/{net['id']}").status_code == 204
    assert alice.call("GET", f"/v2.0/networks/{net['id']}").status_code == 200


def test_catalog_reads(world: World) -> None:
    service = world.service
    assert service.session.get(service.url + "/v3/services", timeout=30).status_code == 401
    services = world.alice.call("GET", "/v3/services").json()["services"]
    assert {s["type"] for s in services} == {"container", "identity", "network", "block-storage"}
    network = next(s for s in services if s["type"] == "network")
    one = world.alice.call("GET", f"/v3/services/{network['id']}")
    assert one.status_code == 200 and one.json()["service"] == network
    endpoints = world.alice.call("GET", f"/v3/endpoints?service_id={network['id']}").json()
    assert {e["url"] for e in endpoints["endpoints"]} == {service.url + "/"}
    assert len(endpoints["endpoints"]) == 3
    assert world.alice.call("GET", "/v3/endpoints/nope").status_code == 404


def test_discovery_and_unknown_paths(world: World) -> None:
    alice = world.alice
    resources = alice.call("GET", "/v2.0").json()["resources"]
    assert {r["collection"] for r in resources} == {
        "networks", "subnets", "ports", "security_groups", "security_group_rules"
    }  # fmt: skip
    assert alice.call("GET", "/v2.0/extensions").json() == {"extensions": []}
    neutron_error(alice.call("GET", "/v2.0/extensions/dns-integration"), 404, "HTTPNotFound")
    neutron_error(alice.call("GET", "/v2.0/routers"), 404, "HTTPNotFound")
    assert alice.call("GET", "/v2.0/networks.json").status_code == 200
    unauthenticated = world.service.session.get(world.service.url + "/v2.0/networks", timeout=30)
    assert unauthenticated.status_code == 401
    assert "X-OpenStack-Request-Id" in alice.call("GET", "/v2.0/networks").headers
