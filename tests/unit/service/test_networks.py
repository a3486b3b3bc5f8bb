"""The network service's rules (scoping, ownership, Neutron's special cases) and the local
driver's resolution of ``nets``, on a throwaway SQLite database."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.networks import NetworkRepository
from dockyard.db.repositories.security_groups import SecurityGroupRepository
from dockyard.db.session import Database
from dockyard.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    NetworkNotFound,
    NotFound,
    PortNotFound,
    SecurityGroupNotFound,
)
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import NetRequest
from dockyard.drivers.network.base import Caller
from dockyard.drivers.network.local.records import LocalNetworkDriver, ProjectNetworks
from dockyard.service.networks import FixedIpRequest, NetworkService

ALICE = RequestContext(request_id="r", user_id="a", project_id="alice")
BOB = RequestContext(request_id="r", user_id="b", project_id="bob")
ADMIN = RequestContext(request_id="r", user_id="x", project_id="ops", is_admin=True)


class World:
    def __init__(self, db: Database) -> None:
        self.networks = NetworkRepository(db)
        self.groups = SecurityGroupRepository(db)
        self.driver = LocalNetworkDriver(
            self.networks, self.groups, ProjectNetworks(pool="10.200.0.0/23", prefix=24)
        )
        self.told: list[list[str]] = []
        self.service = NetworkService(self.networks, self.groups, self.driver, self.tell)

    def tell(self, hosts: Collection[str]) -> None:
        self.told.append(list(hosts))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'net.sqlite'}")
    migrate.upgrade(db)
    yield World(db)
    db.dispose()


def test_another_projects_records_are_not_found_and_admin_sees_all(world: World) -> None:
    s = world.service
    net = s.create_network(ALICE, name="a-net")
    subnet = s.create_subnet(ALICE, network_id=net.id, cidr="10.9.0.0/24")
    port = s.create_port(ALICE, network_id=net.id)
    group = s.create_group(ALICE, name="web")
    for get, ident in (
        (s.get_network, net.id),
        (s.get_subnet, subnet.id),
        (s.get_port, port.id),
        (s.get_group, group.id),
    ):
        with pytest.raises(NotFound):
            get(BOB, ident)  # type: ignore[operator]
        assert get(ADMIN, ident).id == ident
    assert s.list_networks(BOB) == [] and s.list_ports(BOB) == []
    with pytest.raises(NetworkNotFound):
        s.create_port(BOB, network_id=net.id)
    with pytest.raises(NetworkNotFound):
        s.delete_network(BOB, net.id)
    assert [n.id for n in s.list_networks(ADMIN)] == [net.id]


def test_shared_networks_are_usable_but_not_changeable_by_others(world: World) -> None:
    s = world.service
    with pytest.raises(Forbidden):
        s.create_network(ALICE, name="x", shared=True)
    with pytest.raises(Forbidden):
        s.create_network(ALICE, name="x", project_id="bob")
    shared = s.create_network(ADMIN, name="public", shared=True)
    s.create_subnet(ADMIN, network_id=shared.id, cidr="10.8.0.0/24")
    assert [n.id for n in s.list_networks(ALICE)] == [shared.id]
    port = s.create_port(ALICE, network_id=shared.id)
    assert port.project_id == "alice"
    with pytest.raises(Forbidden):
        s.update_network(ALICE, shared.id, {"name": "mine"})
    with pytest.raises(Forbidden):
        s.create_subnet(ALICE, network_id=shared.id, cidr="10.7.0.0/24")
    net = s.create_network(ALICE, name="own")
    with pytest.raises(Forbidden):
        s.update_network(ALICE, net.id, {"shared": True})
    assert s.update_network(ALICE, net.id, {"name": "renamed"}).name == "renamed"


def test_port_fixed_ips_are_checked_before_anything_is_made(world: World) -> None:
    s = world.service
    net = s.create_network(ALICE, name="n")
    subnet = s.create_subnet(ALICE, network_id=net.id, cidr="10.9.0.0/29")
    other = s.create_network(ALICE, name="o")
    foreign = s.create_subnet(ALICE, network_id=other.id, cidr="10.9.1.0/29")
    cases: list[tuple[list[FixedIpRequest], type[Exception]]] = [
        ([FixedIpRequest(ip_address="10.9.9.9")], InvalidIpForSubnet),
        ([FixedIpRequest(subnet_id=subnet.id, ip_address="10.9.1.2")], InvalidIpForSubnet),
        ([FixedIpRequest(subnet_id=foreign.id)], InvalidInput),
        ([FixedIpRequest(ip_address="10.9.0.1")], IpAddressAlreadyAllocated),  # gateway
        ([FixedIpRequest(ip_address="10.9.0.7")], InvalidIpForSubnet),  # broadcast
        ([FixedIpRequest()], InvalidInput),
        ([FixedIpRequest(ip_address="nope")], InvalidInput),
    ]
    for fixed, error in cases:
        with pytest.raises(error):
            s.create_port(ALICE, network_id=net.id, fixed_ips=fixed)
    with pytest.raises(InvalidInput):
        s.create_port(ALICE, network_id=net.id, mac_address="01:00:00:00:00:01")
    with pytest.raises(SecurityGroupNotFound):
        s.create_port(ALICE, network_id=net.id, security_groups=["nope"])
    assert s.list_ports(ALICE) == []
    made = [s.create_port(ALICE, network_id=net.id) for _ in range(5)]  # .2 to .6
    assert [p.fixed_ips[0].ip_address for p in made][-1] == "10.9.0.6"
    with pytest.raises(IpAddressGenerationFailure):
        s.create_port(ALICE, network_id=net.id)
    assert all(p.security_group_ids == made[0].security_group_ids for p in made)
    assert s.get_group(ALICE, made[0].security_group_ids[0]).name == "default"


def test_default_group_rules(world: World) -> None:
    s = world.service
    assert [g.name for g in s.list_groups(ALICE)] == ["default"]
    default = s.default_group(ALICE)
    with pytest.raises(Conflict):
        s.delete_group(ALICE, default.id)
    with pytest.raises(Conflict):
        s.create_group(ALICE, name="default")
    with pytest.raises(Conflict):
        s.update_group(ALICE, default.id, {"name": "other"})
    web = s.create_group(ALICE, name="web")
    assert {(r.direction.value, r.ethertype.value) for r in web.rules} == {
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    }
    bobs = s.create_group(BOB, name="bobs")
    with pytest.raises(SecurityGroupNotFound):
        s.create_rule(ALICE, security_group_id=web.id, direction="ingress", remote_group_id=bobs.id)
    with pytest.raises(SecurityGroupNotFound):
        s.create_rule(BOB, security_group_id=web.id, direction="ingress")
    with pytest.raises(InvalidInput):
        s.create_rule(
            ALICE,
            security_group_id=web.id,
            direction="ingress",
            protocol="tcp",
            port_range_min=90,
            port_range_max=80,
        )
    assert len(s.get_group(ALICE, web.id).rules) == 2


def test_rule_and_membership_changes_tell_the_hosts_of_member_ports(world: World) -> None:
    s, driver = world.service, world.driver
    web = s.create_group(ALICE, name="web")
    (attachment,) = driver.resolve(Caller("alice"), [])
    driver.make_ports("c1", "host-1", [attachment], [web.id])
    rule = s.create_rule(ALICE, security_group_id=web.id, direction="ingress", protocol="icmp")
    s.delete_rule(ALICE, rule.id)
    assert world.told == [["host-1"], ["host-1"]]
    unrelated = s.create_group(ALICE, name="unrelated")
    s.create_rule(ALICE, security_group_id=unrelated.id, direction="ingress", protocol="udp")
    assert world.told == [["host-1"], ["host-1"]]


def test_resolve_checks_every_request_before_anything_is_made(world: World) -> None:
    s, driver = world.service, world.driver
    alice = Caller("alice")
    net = s.create_network(ALICE, name="n")
    s.create_subnet(ALICE, network_id=net.id, cidr="10.9.0.0/24")
    s.create_network(ALICE, name="twin")
    s.create_network(ALICE, name="twin")
    external = s.create_network(ADMIN, name="ext", external=True, project_id="alice")
    s.create_subnet(ADMIN, network_id=external.id, cidr="10.8.0.0/24")
    bare = s.create_network(ALICE, name="bare")
    taken = s.create_port(
        ALICE, network_id=net.id, fixed_ips=[FixedIpRequest(ip_address="10.9.0.5")]
    )
    cases: list[tuple[list[NetRequest], type[Exception]]] = [
        ([NetRequest(network="missing")], NetworkNotFound),
        ([NetRequest(network="twin")], Conflict),
        ([NetRequest(network="n"), NetRequest(network=net.id)], InvalidInput),
        ([NetRequest(network="n", v4_fixed_ip="10.9.1.5")], InvalidIpForSubnet),
        ([NetRequest(network="n", v4_fixed_ip="10.9.0.5")], IpAddressAlreadyAllocated),
        ([NetRequest(port="missing")], PortNotFound),
        ([NetRequest(network=external.id)], Forbidden),
        ([NetRequest(network=bare.id)], InvalidInput),
    ]
    for requests, error in cases:
        with pytest.raises(error):
            driver.resolve(alice, requests)
    assert driver.resolve(Caller("alice", may_attach_external=True), [NetRequest(network="ext")])
    driver.make_ports("c1", "h", driver.resolve(alice, [NetRequest(port=taken.id)]), [])
    with pytest.raises(InvalidInput, match="in use"):
        driver.resolve(alice, [NetRequest(port=taken.id)])
    with pytest.raises(PortNotFound):
        driver.resolve(Caller("bob"), [NetRequest(port=taken.id)])
    with pytest.raises(InvalidInput):
        driver.resolve_security_groups(alice, ["nope"])
    assert [g.name for g in driver.resolve_security_groups(alice, ["default", "default"])] == [
        "default"
    ]
    assert len(world.networks.networks()) == 5  # resolve made no project network


def test_make_ports_is_all_or_nothing(world: World) -> None:
    s, driver = world.service, world.driver
    net = s.create_network(ALICE, name="n")
    s.create_subnet(ALICE, network_id=net.id, cidr="10.9.0.0/30")  # one address: .2
    full = s.create_network(ALICE, name="full")
    s.create_subnet(ALICE, network_id=full.id, cidr="10.9.1.0/30")
    s.create_port(ALICE, network_id=full.id)
    attachments = driver.resolve(
        Caller("alice"), [NetRequest(network="n"), NetRequest(network="full")]
    )
    with pytest.raises(IpAddressGenerationFailure):
        driver.make_ports("c1", "h", attachments, [])
    assert world.networks.ports(device_id="c1") == []
    assert s.create_port(ALICE, network_id=net.id).fixed_ips[0].ip_address == "10.9.0.2"


def test_the_project_pool_runs_out_with_a_clear_error(world: World) -> None:
    for project in ("p1", "p2"):
        world.driver.project_network(project)
    with pytest.raises(IpAddressGenerationFailure, match="project_network_pool"):
        world.driver.project_network("p3")


def test_a_port_changing_groups_or_host_tells_the_old_and_new_hosts(world: World) -> None:
    s, driver = world.service, world.driver
    web = s.create_group(ALICE, name="web")
    (attachment,) = driver.resolve(Caller("alice"), [])
    (port,) = driver.make_ports("c1", "host-1", [attachment], [])
    s.update_port(ALICE, port.id, {"name": "renamed"})
    assert world.told == []
    s.update_port(ALICE, port.id, {}, security_groups=[web.id])
    assert world.told == [["host-1"]]
    with pytest.raises(Forbidden):
        s.update_port(ALICE, port.id, {"host": "host-2"})
    s.update_port(ADMIN, port.id, {"host": "host-2"})
    assert world.told[-1] == ["host-1", "host-2"]


def test_a_network_spans_the_hosts_with_tunnel_addresses_that_have_members(
    world: World,
) -> None:
    addresses = {"h1": "192.0.2.1", "h2": "192.0.2.2", "h3": "192.0.2.3"}
    driver = LocalNetworkDriver(
        world.networks,
        world.groups,
        ProjectNetworks(pool="10.200.0.0/23", prefix=24),
        tunnel_addresses=lambda: addresses,
    )
    alice = driver.resolve(Caller("alice"), [])
    bob = driver.resolve(Caller("bob"), [])
    driver.make_ports("c1", "h1", alice, [])
    driver.make_ports("c2", "h2", alice, [])
    driver.make_ports("c3", "h2", bob, [])
    driver.make_ports("c4", "plain", alice, [])  # a host without a tunnel address

    [on_h1] = driver.networks_for_host("h1")
    by_id = {n.network_id: n for n in driver.networks_for_host("h2")}
    on_h2, bobs = by_id[alice[0].network.id], by_id[bob[0].network.id]
    assert on_h1.peers == ("192.0.2.2",) and on_h2.peers == ("192.0.2.1",)
    # One VXLAN id per network, the same on every host, never another network's.
    assert on_h1.segment == on_h2.segment is not None
    assert bobs.segment not in (None, on_h1.segment) and bobs.peers == ()
    [plain] = driver.networks_for_host("plain")
    assert (plain.segment, plain.peers) == (None, ())
    # A create on a host gets the same as the host's reconcile pass.
    assert driver.host_network("h1", alice[0]) == on_h1
    assert driver.host_network("plain", alice[0]).segment is None
    # Given once: asked again, a network keeps its id.
    assert world.networks.segment(alice[0].network.id) == on_h1.segment
