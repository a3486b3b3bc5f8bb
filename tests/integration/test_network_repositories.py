"""Network records on SQLite, PostgreSQL and MariaDB: races for addresses, project
networks and default groups end with one winner; records in use are guarded."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.networks import NetworkRepository
from dockyard.db.repositories.security_groups import SecurityGroupRepository
from dockyard.db.session import Database
from dockyard.domain.errors import (
    InvalidInput,
    IpAddressAlreadyAllocated,
    NetworkInUse,
    PortInUse,
    SecurityGroupInUse,
    SecurityGroupRuleExists,
    SubnetInUse,
)
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import NetRequest, Port
from dockyard.domain.security_groups import Direction, Protocol
from dockyard.drivers.network.base import Caller
from dockyard.drivers.network.local.records import LocalNetworkDriver, ProjectNetworks
from dockyard.service.networks import FixedIpRequest, NetworkService
from tests.integration.test_repositories import in_parallel
from tests.support.databases import fresh_database

ALICE = RequestContext(request_id="r", user_id="u1", project_id="alice")


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'dockyard.sqlite'}"
        else:
            url = stack.enter_context(fresh_database(request.param))
        database = Database(url)
        migrate.upgrade(database)
        yield database
        database.dispose()


def parts(db: Database) -> tuple[NetworkRepository, SecurityGroupRepository, NetworkService]:
    networks, groups = NetworkRepository(db), SecurityGroupRepository(db)
    driver = LocalNetworkDriver(networks, groups, ProjectNetworks(pool="10.77.0.0/22"))
    return networks, groups, NetworkService(networks, groups, driver)


def test_concurrent_first_uses_make_one_project_network_and_one_default_group(
    db: Database,
) -> None:
    networks, groups, service = parts(db)
    driver = service.driver
    assert isinstance(driver, LocalNetworkDriver)

    made = in_parallel(6, lambda i: driver.project_network("alice" if i % 2 else "bob"))
    assert len({n.id for n in made if n.project_id == "alice"}) == 1
    assert len({n.id for n in made if n.project_id == "bob"}) == 1
    assert len(networks.networks()) == 2
    cidrs = {s.cidr for s in networks.subnets()}
    assert len(cidrs) == 2 and all(
        ipaddress.ip_network(c).subnet_of(ipaddress.ip_network("10.77.0.0/22")) for c in cidrs
    )

    default = in_parallel(6, lambda i: driver.default_group("alice"))
    assert len({g.id for g in default}) == 1
    (group,) = groups.groups("alice")
    assert group.name == "default" and len(group.rules) == 4
    ingress = [r for r in group.rules if r.direction is Direction.INGRESS]
    assert all(r.remote_group_id == group.id for r in ingress)


def test_concurrent_first_tunnels_give_each_network_its_own_vxlan_id(db: Database) -> None:
    networks, _, service = parts(db)
    made = [service.create_network(ALICE, name=f"n{i}") for i in range(4)]
    # Two hosts at once per network, every network at once.
    segments = in_parallel(8, lambda i: (made[i % 4].id, networks.segment(made[i % 4].id)))
    by_network: dict[str, set[int]] = {}
    for network_id, segment in segments:
        by_network.setdefault(network_id, set()).add(segment)
    assert all(len(found) == 1 for found in by_network.values())
    assert sorted(min(found) for found in by_network.values()) == [1, 2, 3, 4]


def test_concurrent_ports_get_distinct_addresses_and_one_wins_a_fixed_ip(db: Database) -> None:
    networks, _, service = parts(db)
    net = service.create_network(ALICE, name="n")
    subnet = service.create_subnet(ALICE, network_id=net.id, cidr="192.168.50.0/28")

    ports = in_parallel(8, lambda i: service.create_port(ALICE, network_id=net.id))
    addresses = [p.fixed_ips[0].ip_address for p in ports]
    assert len(set(addresses)) == 8 and subnet.gateway_ip not in addresses
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network(subnet.cidr) for a in addresses)

    def claim(_: int) -> Any:
        try:
            return service.create_port(
                ALICE, network_id=net.id, fixed_ips=[FixedIpRequest(ip_address="192.168.50.14")]
            )
        except IpAddressAlreadyAllocated as exc:
            return exc

    results = in_parallel(4, claim)
    won = [r for r in results if isinstance(r, Port)]
    assert len(won) == 1 and won[0].fixed_ips[0].ip_address == "192.168.50.14"
    assert sum(isinstance(r, IpAddressAlreadyAllocated) for r in results) == 3
    assert len(networks.ports(network_id=net.id)) == 9


def test_overlapping_subnets_race_and_one_is_refused(db: Database) -> None:
    networks, _, service = parts(db)
    nets = [service.create_network(ALICE, name=f"n{i}") for i in range(4)]

    # Pairwise overlapping, none equal: only the overlap check can refuse them.
    cidrs = ["172.30.0.0/24", "172.30.0.0/25", "172.30.0.64/26", "172.30.0.0/23"]

    def add(i: int) -> Any:
        try:
            return service.create_subnet(ALICE, network_id=nets[i].id, cidr=cidrs[i])
        except InvalidInput as exc:
            return exc

    results = in_parallel(4, add)
    assert sum(isinstance(r, InvalidInput) for r in results) == 3
    (kept,) = networks.subnets()
    assert kept.cidr in cidrs
    with pytest.raises(InvalidInput, match="overlaps"):
        service.create_subnet(ALICE, network_id=nets[0].id, cidr="172.30.0.0/22")
    networks.delete_subnet(kept.id)
    service.create_subnet(ALICE, network_id=nets[0].id, cidr="172.30.0.0/24")
    with pytest.raises(InvalidInput, match="overlaps"):
        service.create_subnet(ALICE, network_id=nets[0].id, cidr="172.30.0.128/25")


def test_records_in_use_are_guarded_and_released_records_free_their_addresses(
    db: Database,
) -> None:
    networks, groups, service = parts(db)
    driver = service.driver
    caller = Caller("alice")
    (attachment,) = driver.resolve(caller, [])
    default = driver.resolve_security_groups(caller, [])
    (port,) = driver.make_ports("c1", "h1", [attachment], [g.id for g in default])
    assert port.host == "h1" and port.status == "ACTIVE" and port.device_id == "c1"
    assert driver.make_ports("c1", "h1", [attachment], []) == (port,)  # idempotent

    with pytest.raises(NetworkInUse):
        networks.delete_network(attachment.network.id)
    with pytest.raises(SubnetInUse):
        networks.delete_subnet(attachment.subnets[0].id)
    with pytest.raises(SecurityGroupInUse):
        groups.delete_group(default[0].id)
    with pytest.raises(PortInUse):
        service.delete_port(ALICE, port.id)

    user_port = service.create_port(ALICE, network_id=attachment.network.id, name="mine")
    (resolved,) = driver.resolve(caller, [NetRequest(port="mine")])
    (bound,) = driver.make_ports("c2", "h1", [resolved], [])
    assert bound.id == user_port.id and bound.device_id == "c2" and bound.preserve_on_delete
    assert {h.network_id for h in driver.networks_for_host("h1")} == {attachment.network.id}

    fw = driver.firewall_for_host("h1")
    assert {g.port_id for g in fw.ports} == {port.id, user_port.id}
    member_addresses = set(fw.members[default[0].id])
    assert port.fixed_ips[0].ip_address in member_addresses

    driver.release_ports("c1", [port])
    driver.release_ports("c2", [bound])
    driver.release_ports("c2", [bound])  # twice is fine
    assert networks.ports(id=port.id) == []
    kept = networks.get_port(user_port.id)
    assert kept.device_id == "" and kept.host == "" and kept.status == "DOWN"
    assert driver.networks_for_host("h1") == ()
    again = service.create_port(
        ALICE,
        network_id=attachment.network.id,
        fixed_ips=[FixedIpRequest(ip_address=port.fixed_ips[0].ip_address)],
    )
    assert again.fixed_ips == port.fixed_ips
    service.delete_port(ALICE, again.id)
    service.delete_port(ALICE, user_port.id)
    networks.delete_network(attachment.network.id)
    assert networks.subnets() == [] and networks.networks() == []


def test_rules_round_trip_and_duplicates_are_refused(db: Database) -> None:
    _, groups, service = parts(db)
    web = service.create_group(ALICE, name="web", description="d")
    rule = service.create_rule(
        ALICE,
        security_group_id=web.id,
        direction="ingress",
        protocol="tcp",
        port_range_min=80,
        port_range_max=80,
        remote_ip_prefix="0.0.0.0/0",
    )
    assert groups.get_rule(rule.id) == rule and rule.protocol is Protocol.TCP
    with pytest.raises(SecurityGroupRuleExists):
        service.create_rule(
            ALICE,
            security_group_id=web.id,
            direction="ingress",
            protocol="6",
            port_range_min=80,
            port_range_max=80,
            remote_ip_prefix="0.0.0.0/0",
        )
    other = service.create_group(ALICE, name="other")
    service.create_rule(
        ALICE, security_group_id=other.id, direction="ingress", remote_group_id=web.id
    )
    with pytest.raises(SecurityGroupInUse):
        service.delete_group(ALICE, web.id)
    service.delete_group(ALICE, other.id)
    service.delete_rule(ALICE, rule.id)
    service.delete_group(ALICE, web.id)
    assert [g.name for g in service.list_groups(ALICE)] == ["default"]
