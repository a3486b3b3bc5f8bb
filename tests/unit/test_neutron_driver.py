"""The neutron driver's decisions over an in-memory stand-in for Neutron's API (the real
server is in tests/integration/test_neutron.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    Forbidden,
    InvalidInput,
    IpAddressAlreadyAllocated,
    NetworkNotFound,
    NotFound,
    PortNotFound,
    Unavailable,
)
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.networks import DEVICE_OWNER, NetRequest
from dockyard.domain.security_groups import Protocol
from dockyard.drivers.network.base import Caller
from dockyard.drivers.network.neutron import convert
from dockyard.drivers.network.neutron.client import Query, error_for
from dockyard.drivers.network.neutron.driver import NeutronNetworkDriver, port_mark
from dockyard.drivers.network.neutron.watch import NeutronWatch

PROJECT = "p1"


class FakeNeutron:
    """Lists filter on equality (a list value: any of them); ports get the next address."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {
            "networks": [],
            "subnets": [],
            "ports": [],
            "security_groups": [],
            "security_group_rules": [],
        }
        self.ids = (f"id-{n}" for n in itertools.count())
        self.fail_posts_after: int | None = None
        self.calls: list[str] = []

    @staticmethod
    def _collection(path: str) -> str:
        return path.strip("/").split("/")[0].replace("-", "_")

    def _matches(self, record: dict[str, Any], query: Query) -> bool:
        for key, wanted in query.items():
            if key == "fields":
                continue
            if key == "fixed_ips":
                address = str(wanted).split("=", 1)[1]
                if all(ip["ip_address"] != address for ip in record.get("fixed_ips", ())):
                    return False
                continue
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            have = record.get(key)
            if isinstance(have, list):
                if not set(values) & set(have):
                    return False
            elif str(have) not in values:
                return False
        return True

    def get(self, path: str, query: Query | None = None) -> dict[str, Any]:
        self.calls.append(f"GET {path}")
        kind = self._collection(path)
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            for record in self.records[kind]:
                if record["id"] == parts[1]:
                    return {kind[:-1]: dict(record)}
            raise NotFound(f"{path} not found")
        found = [r for r in self.records[kind] if self._matches(r, query or {})]
        return {kind: [dict(r) for r in found]}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"POST {path}")
        if self.fail_posts_after is not None:
            if self.fail_posts_after == 0:
                raise Unavailable("Neutron is down")
            self.fail_posts_after -= 1
        kind = self._collection(path)
        record = {"id": next(self.ids), **next(iter(body.values()))}
        if kind == "ports":
            taken = {ip["ip_address"] for p in self.records["ports"] for ip in p["fixed_ips"]}
            asked = [ip["ip_address"] for ip in record.get("fixed_ips", ())]
            if set(asked) & taken:
                raise IpAddressAlreadyAllocated("taken")
            subnet = next(
                s for s in self.records["subnets"] if s["network_id"] == record["network_id"]
            )
            address = asked[0] if asked else f"10.0.0.{len(self.records['ports']) + 10}"
            record["fixed_ips"] = [{"subnet_id": subnet["id"], "ip_address": address}]
            record.setdefault("mac_address", "fa:16:3e:00:00:01")
            record.setdefault("security_groups", [])
        self.records[kind].append(record)
        return {kind[:-1]: dict(record)}

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        kind, ident = self._collection(path), path.strip("/").split("/")[1]
        for record in self.records[kind]:
            if record["id"] == ident:
                record.update(next(iter(body.values())))
                return {kind[:-1]: dict(record)}
        raise NotFound(path)

    def delete(self, path: str) -> bool:
        kind, ident = self._collection(path), path.strip("/").split("/")[1]
        before = len(self.records[kind])
        self.records[kind] = [r for r in self.records[kind] if r["id"] != ident]
        return len(self.records[kind]) < before

    def add(self, kind: str, **record: Any) -> dict[str, Any]:
        made = {"id": next(self.ids), **record}
        self.records[kind].append(made)
        return made


@pytest.fixture
def neutron() -> FakeNeutron:
    fake = FakeNeutron()
    net = fake.add("networks", name="blue", project_id=PROJECT, mtu=1450)
    fake.add("subnets", network_id=net["id"], project_id=PROJECT, cidr="10.0.0.0/24",
             ip_version=4, gateway_ip="10.0.0.1", allocation_pools=[])  # fmt: skip
    fake.add("security_groups", name="default", project_id=PROJECT, security_group_rules=[])
    return fake


@pytest.fixture
def driver(neutron: FakeNeutron) -> NeutronNetworkDriver:
    return NeutronNetworkDriver(neutron, "inst-1", project_network_pool="10.50.0.0/16")


CALLER = Caller(PROJECT)


def test_errors_map_to_the_domains() -> None:
    assert isinstance(error_for(409, "IpAddressAlreadyAllocated", "x"), IpAddressAlreadyAllocated)
    assert isinstance(error_for(409, "Other", "x"), Conflict)
    assert isinstance(error_for(404, "", "x"), NotFound)
    assert isinstance(error_for(403, "", "x"), Forbidden)
    assert isinstance(error_for(400, "", "x"), InvalidInput)
    assert isinstance(error_for(503, "", "x"), Unavailable)
    assert isinstance(error_for(401, "", "x"), Unavailable)


def test_a_rule_of_a_protocol_the_host_cannot_enforce_is_left_out() -> None:
    group = convert.security_group({
        "id": "g", "project_id": "p", "name": "x",
        "security_group_rules": [
            {"id": "r1", "security_group_id": "g", "direction": "ingress", "protocol": "gre"},
            {"id": "r2", "security_group_id": "g", "direction": "ingress", "protocol": "tcp",
             "port_range_min": 80, "port_range_max": 80, "ethertype": "IPv4"},
        ],
    })  # fmt: skip
    assert [r.id for r in group.rules] == ["r2"]


def test_nets_resolve_by_name_and_refuse_what_they_must(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    (attachment,) = driver.resolve(CALLER, (NetRequest(network="blue"),))
    assert attachment.network.mtu == 1450 and attachment.project_id == PROJECT
    with pytest.raises(NetworkNotFound):
        driver.resolve(CALLER, (NetRequest(network="red"),))
    theirs = neutron.add("networks", name="theirs", project_id="p2")
    with pytest.raises(NetworkNotFound):
        driver.resolve(CALLER, (NetRequest(network=theirs["id"]),))
    neutron.add("networks", name="ext", project_id="p2", **{"router:external": True})
    with pytest.raises(Forbidden):
        driver.resolve(CALLER, (NetRequest(network="ext"),))
    neutron.add("networks", name="bare", project_id=PROJECT)
    with pytest.raises(InvalidInput, match="no subnet"):
        driver.resolve(CALLER, (NetRequest(network="bare"),))
    with pytest.raises(InvalidInput, match="more than once"):
        driver.resolve(CALLER, (NetRequest(network="blue"), NetRequest(network="blue")))
    with pytest.raises(IpAddressAlreadyAllocated):
        driver.resolve(CALLER, (NetRequest(network="blue", v4_fixed_ip="10.0.0.1"),))


def test_ports_of_another_project_or_bound_are_refused(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    net = neutron.records["networks"][0]["id"]
    theirs = neutron.add("ports", network_id=net, project_id="p2", name="theirs")
    with pytest.raises(PortNotFound):
        driver.resolve(CALLER, (NetRequest(port=theirs["id"]),))
    bound = neutron.add("ports", network_id=net, project_id=PROJECT, device_id="vm-1")
    with pytest.raises(InvalidInput, match="in use"):
        driver.resolve(CALLER, (NetRequest(port=bound["id"]),))


def test_made_ports_are_deleted_and_users_ports_unbound(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    net = neutron.records["networks"][0]["id"]
    mine = neutron.add("ports", network_id=net, project_id=PROJECT, name="mine", fixed_ips=[],
                       description="user's", security_groups=[])  # fmt: skip
    neutron.add("networks", name="green", project_id=PROJECT)
    neutron.add("subnets", network_id=neutron.records["networks"][-1]["id"], project_id=PROJECT,
                cidr="10.1.0.0/24", ip_version=4)  # fmt: skip
    attachments = driver.resolve(CALLER, (NetRequest(port="mine"), NetRequest(network="green")))
    ports = driver.make_ports("c1", "h1", attachments, ("g",))
    assert driver.make_ports("c1", "h1", attachments, ("g",)) == ports  # a retry
    user, made = ports
    assert user.preserve_on_delete and not made.preserve_on_delete
    record = neutron.get(f"/ports/{made.id}")["port"]
    assert (record["device_owner"], record["description"]) == (DEVICE_OWNER, port_mark("inst-1"))
    assert record["binding:host_id"] == "h1"
    assert len(neutron.records["ports"]) == 2
    assert [p.id for p in driver.installation_ports("h1")] == sorted([mine["id"], made.id])

    driver.release_ports("c1", ports)
    driver.release_ports("c1", ports)  # twice is fine
    [kept] = neutron.records["ports"]
    assert kept["id"] == mine["id"] and kept["device_id"] == "" and kept["binding:host_id"] == ""


def test_a_failed_port_releases_those_made_before_it(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    neutron.add("networks", name="green", project_id=PROJECT)
    neutron.add("subnets", network_id=neutron.records["networks"][-1]["id"], project_id=PROJECT,
                cidr="10.1.0.0/24", ip_version=4)  # fmt: skip
    attachments = driver.resolve(CALLER, (NetRequest(network="blue"), NetRequest(network="green")))
    neutron.fail_posts_after = 1
    with pytest.raises(Unavailable):
        driver.make_ports("c1", "h1", attachments, ())
    assert neutron.records["ports"] == []


def test_a_port_neutron_made_though_the_call_failed_is_removed(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    attachments = driver.resolve(CALLER, (NetRequest(network="blue"),))
    real_post = neutron.post

    def made_then_timed_out(path: str, body: dict[str, Any]) -> dict[str, Any]:
        real_post(path, body)
        raise Unavailable("Request timed out")

    neutron.post = made_then_timed_out  # type: ignore[method-assign]
    with pytest.raises(Unavailable):
        driver.make_ports("c1", "h1", attachments, ())
    assert neutron.records["ports"] == []


def test_the_project_network_is_made_once_from_the_pool(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    (first,) = driver.resolve(Caller("p9"), ())
    (again,) = driver.resolve(Caller("p9"), ())
    assert first.network.id == again.network.id and first.network.name == "private"
    assert [s.cidr for s in first.subnets] == ["10.50.0.0/24"]
    (other,) = driver.resolve(Caller("p8"), ())
    assert [s.cidr for s in other.subnets] == ["10.50.1.0/24"]


def test_the_watch_pushes_a_host_only_when_its_rules_changed(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    group = neutron.records["security_groups"][0]
    (attachment,) = driver.resolve(CALLER, (NetRequest(network="blue"),))
    driver.make_ports("c1", "h1", (attachment,), (group["id"],))
    pushed: list[tuple[str, HostFirewall]] = []
    watch = NeutronWatch(driver, lambda host, fw: pushed.append((host, fw)), lambda ids: ids)
    watch.enforce()
    watch.enforce()
    assert [host for host, _ in pushed] == ["h1"] and pushed[0][1].ports[0].rules == ()
    group["security_group_rules"] = [{"id": "r", "security_group_id": group["id"],
                                      "direction": "ingress", "protocol": "tcp",
                                      "port_range_min": 22, "port_range_max": 22}]  # fmt: skip
    watch.enforce()
    assert len(pushed) == 2 and [r.id for r in pushed[1][1].ports[0].rules] == ["r"]


def test_the_watch_survives_an_unreachable_host_and_sweeps_orphans(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    (attachment,) = driver.resolve(CALLER, (NetRequest(network="blue"),))
    driver.make_ports("gone", "h1", (attachment,), ("g",))

    def refuse(host: str, firewall: HostFirewall) -> None:
        raise DockyardError("agent down")

    watch = NeutronWatch(driver, refuse, lambda ids: set())
    watch.enforce()  # logged, not raised
    assert watch.sweep() == 1
    assert neutron.records["ports"] == []


def test_a_project_network_left_without_a_subnet_gets_one(
    neutron: FakeNeutron, driver: NeutronNetworkDriver
) -> None:
    bare = neutron.add("networks", name="private", project_id="p7")
    (attachment,) = driver.resolve(Caller("p7"), ())
    assert attachment.network.id == bare["id"]
    assert [s.cidr for s in attachment.subnets] == ["10.50.0.0/24"]


def test_exposed_ports_get_a_group_of_their_own_found_again_and_removed(
    driver: NeutronNetworkDriver, neutron: FakeNeutron
) -> None:
    group = driver.make_exposed_ports_group("c-1", "web", PROJECT, [(80, Protocol.TCP)])
    assert group.name == "web-exposed-ports" and group.project_id == PROJECT
    rules = [
        r for r in neutron.records["security_group_rules"] if r["security_group_id"] == group.id
    ]
    assert {(r["ethertype"], r["port_range_min"], r["remote_ip_prefix"]) for r in rules} == {
        ("IPv4", 80, "0.0.0.0/0"),
        ("IPv6", 80, "::/0"),
    }
    again = driver.make_exposed_ports_group("c-1", "web", PROJECT, [(80, Protocol.TCP)])
    assert again.id == group.id  # a retried create makes no second group
    driver.make_exposed_ports_group("c-2", "db", PROJECT, [(5432, Protocol.TCP)])
    driver.release_exposed_ports_group("c-1")
    names = {g["name"] for g in neutron.records["security_groups"]}
    assert "web-exposed-ports" not in names and "db-exposed-ports" in names
