from __future__ import annotations

from dockyard.domain.firewall import host_firewall, without_container
from dockyard.domain.networks import FixedIP, Port
from dockyard.domain.security_groups import SecurityGroup, default_rules, new_rule


def port(port_id: str, address: str, *groups: str, device: str = "") -> Port:
    return Port(
        id=port_id,
        project_id="p1",
        network_id="n1",
        mac_address="0a:d7:00:00:00:01",
        fixed_ips=(FixedIP("s1", address),),
        security_group_ids=groups,
        device_id=device or f"c-{port_id}",
    )


def counter() -> object:
    numbers = iter(range(100))
    return lambda: f"r{next(numbers)}"


WEB = SecurityGroup(
    "web",
    "p1",
    "web",
    rules=(
        new_rule(
            id="w1",
            security_group_id="web",
            project_id="p1",
            direction="ingress",
            protocol="tcp",
            port_range_min=80,
            port_range_max=80,
        ),
    ),
)
DEFAULT = SecurityGroup("dflt", "p1", "default", rules=default_rules("dflt", "p1", counter()))  # type: ignore[arg-type]


def test_ports_without_groups_are_not_guarded() -> None:
    result = host_firewall([port("a", "10.0.0.2")], {}, [])
    assert result.ports == ()


def test_a_port_gets_the_rules_of_all_its_groups_once() -> None:
    groups = {"web": WEB, "dflt": DEFAULT}
    result = host_firewall([port("a", "10.0.0.2", "web", "dflt", "web")], groups, [])
    (guarded,) = result.ports
    assert guarded.addresses == ("10.0.0.2",)
    assert guarded.container_id == "c-a"
    assert [r.id for r in guarded.rules] == ["w1", *[r.id for r in DEFAULT.rules]]


def test_a_missing_group_gives_no_rules_so_the_port_fails_closed() -> None:
    (guarded,) = host_firewall([port("a", "10.0.0.2", "gone")], {}, []).ports
    assert guarded.rules == ()


def test_remote_groups_resolve_to_members_on_every_host() -> None:
    here = [port("a", "10.0.0.2", "dflt"), port("b", "10.0.0.3", "web")]
    everywhere = [*here, port("c", "10.0.0.9", "dflt"), port("d", "10.0.0.8", "web")]
    result = host_firewall(here, {"web": WEB, "dflt": DEFAULT}, everywhere)
    assert result.members == {"dflt": ("10.0.0.2", "10.0.0.9")}
    assert [gp.port_id for gp in result.ports] == ["a", "b"]


def test_without_a_container_its_ports_and_member_addresses_go() -> None:
    groups = {DEFAULT.id: DEFAULT}
    ports = [port("a", "10.0.0.2", DEFAULT.id), port("b", "10.0.0.3", DEFAULT.id)]
    firewall = host_firewall(ports, groups, ports)

    left = without_container(firewall, "c-a")

    assert left == host_firewall(ports[1:], groups, ports[1:])
    assert without_container(firewall, "nobody") == firewall
