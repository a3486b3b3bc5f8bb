from __future__ import annotations

import itertools
from typing import Any

import pytest

from dockyard.domain.errors import Conflict, InvalidInput
from dockyard.domain.security_groups import (
    Direction,
    EtherType,
    Protocol,
    SecurityGroupRule,
    default_rules,
    ensure_new,
    exposed_ports_group,
    exposed_ports_group_id,
    exposed_ports_rules,
    new_rule,
    parse_protocol,
)


def rule(**kwargs: Any) -> SecurityGroupRule:
    fields: dict[str, Any] = {
        "id": "r1",
        "security_group_id": "g1",
        "project_id": "p1",
        "direction": "ingress",
    }
    return new_rule(**(fields | kwargs))


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"id{next(counter)}"


def test_a_tcp_rule_from_a_cidr() -> None:
    made = rule(protocol="TCP", port_range_min=80, port_range_max=81, remote_ip_prefix="0.0.0.0/0")
    assert (made.direction, made.ethertype, made.protocol) == (
        Direction.INGRESS,
        EtherType.IPV4,
        Protocol.TCP,
    )
    assert (made.port_range_min, made.port_range_max, made.remote_ip_prefix) == (
        80,
        81,
        "0.0.0.0/0",
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tcp", Protocol.TCP),
        ("6", Protocol.TCP),
        (17, Protocol.UDP),
        ("UDP", Protocol.UDP),
        ("icmp", Protocol.ICMP),
        ("ipv6-icmp", Protocol.ICMP),
        ("icmpv6", Protocol.ICMP),
        ("58", Protocol.ICMP),
        (None, None),
        ("any", None),
        ("0", None),
    ],
)
def test_protocols_by_name_or_number(given: str | int | None, expected: Protocol | None) -> None:
    assert parse_protocol(given) is expected


def test_a_remote_prefix_is_normalised_as_neutron_does() -> None:
    assert rule(remote_ip_prefix="10.1.2.3/16").remote_ip_prefix == "10.1.0.0/16"
    assert rule(remote_ip_prefix="10.1.2.3").remote_ip_prefix == "10.1.2.3/32"
    made = rule(ethertype="ipv6", remote_ip_prefix="FD00::1/64")
    assert (made.ethertype, made.remote_ip_prefix) == (EtherType.IPV6, "fd00::/64")


def test_icmp_type_and_code() -> None:
    made = rule(protocol="icmp", port_range_min=8, port_range_max=0)
    assert (made.port_range_min, made.port_range_max) == (8, 0)
    assert rule(protocol="icmp", port_range_min=8).port_range_max is None


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"direction": "sideways"}, "direction", "not one of ingress, egress"),
        ({"ethertype": "IPv5"}, "ethertype", "not one of IPv4, IPv6"),
        ({"protocol": "sctp"}, "protocol", "not supported"),
        ({"protocol": "gre"}, "protocol", "not supported"),
        ({"protocol": "300"}, "protocol", "not supported"),
        ({"port_range_min": 80, "port_range_max": 80}, "port_range_min", "needs a protocol"),
        ({"protocol": "tcp", "port_range_min": 80}, "port_range_max", "both"),
        ({"protocol": "udp", "port_range_max": 80}, "port_range_min", "both"),
        (
            {"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
            "port_range_min",
            "greater than",
        ),
        ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}, "port_range_min", "1 to"),
        (
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 65536},
            "port_range_max",
            "1 to 65535",
        ),
        ({"protocol": "udp", "port_range_min": -1, "port_range_max": 5}, "port_range_min", "1 to"),
        ({"protocol": "icmp", "port_range_max": 0}, "port_range_min", "code needs an ICMP type"),
        ({"protocol": "icmp", "port_range_min": 256}, "ICMP type", "0 to 255"),
        ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 300}, "ICMP code", "0 to 255"),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g2"},
            "remote_group_id",
            "not both",
        ),
        ({"remote_ip_prefix": "10.0.0.0/33"}, "remote_ip_prefix", "not a valid"),
        ({"remote_ip_prefix": "everywhere"}, "remote_ip_prefix", "not a valid"),
        ({"remote_ip_prefix": "fd00::/64"}, "ethertype", "IPv6 but the ethertype is IPv4"),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "0.0.0.0/0"},
            "ethertype",
            "IPv4 but the ethertype is IPv6",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    kwargs: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rule(**kwargs)
    assert caught.value.status == 400
    assert caught.value.fields["field"] == field
    assert words in caught.value.detail


def test_the_same_rule_twice_is_a_conflict() -> None:
    first = rule(protocol="tcp", port_range_min=22, port_range_max=22)
    again = rule(id="r2", protocol="6", port_range_min=22, port_range_max=22, description="x")
    with pytest.raises(Conflict) as caught:
        ensure_new(again, [first])
    assert "Rule id is r1" in caught.value.detail
    ensure_new(rule(id="r3", protocol="tcp", port_range_min=23, port_range_max=23), [first])
    ensure_new(
        rule(id="r4", direction="egress", protocol="tcp", port_range_min=22, port_range_max=22),
        [first],
    )


def test_the_default_group_allows_all_egress_and_ingress_from_its_members() -> None:
    rules = default_rules("g1", "p1", ids())
    assert len({r.id for r in rules}) == 4
    egress = [r for r in rules if r.direction is Direction.EGRESS]
    ingress = [r for r in rules if r.direction is Direction.INGRESS]
    assert {r.ethertype for r in egress} == {r.ethertype for r in ingress} == set(EtherType)
    assert all(r.remote_group_id is None and r.remote_ip_prefix is None for r in egress)
    assert all(r.remote_group_id == "g1" and r.protocol is None for r in ingress)


def test_exposed_ports_open_exactly_those_ports_for_both_families() -> None:
    rules = exposed_ports_rules("g1", "p1", [(80, Protocol.TCP), (53, Protocol.UDP)], ids())
    opened = {(r.port_range_min, r.port_range_max, r.protocol, r.remote_ip_prefix) for r in rules}
    assert opened == {
        (53, 53, Protocol.UDP, "0.0.0.0/0"),
        (53, 53, Protocol.UDP, "::/0"),
        (80, 80, Protocol.TCP, "0.0.0.0/0"),
        (80, 80, Protocol.TCP, "::/0"),
    }
    assert all(r.direction is Direction.INGRESS for r in rules)


def test_a_containers_exposed_ports_group_is_its_own_and_allows_all_egress() -> None:
    group = exposed_ports_group("c-1", "web", "p1", [(8080, Protocol.TCP)], ids())
    again = exposed_ports_group("c-1", "web", "p1", [(8080, Protocol.TCP)], ids())
    assert group.id == again.id == exposed_ports_group_id("c-1") != exposed_ports_group_id("c-2")
    assert (group.name, group.project_id) == ("web-exposed-ports", "p1")
    assert "c-1" in group.description
    assert all(r.security_group_id == group.id for r in group.rules)
    egress = [r for r in group.rules if r.direction is Direction.EGRESS]
    assert {r.ethertype for r in egress} == set(EtherType)
    assert all(r.protocol is None and r.remote_ip_prefix is None for r in egress)
    ingress = {(r.protocol, r.port_range_min) for r in group.rules if r not in egress}
    assert ingress == {(Protocol.TCP, 8080)}
