from __future__ import annotations

import re
from typing import Any

import pytest

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.security_groups import SecurityGroupRule, default_rules, new_rule
from dockyard.drivers.network.local.nftables import TableNames, render

NAMES = TableNames("inst-1", "host-a")
TABLE = NAMES.table


def rule(direction: str = "ingress", **kwargs: Any) -> SecurityGroupRule:
    return new_rule(id="r", security_group_id="g", project_id="p", direction=direction, **kwargs)


def guarded(
    port_id: str, *addresses: str, rules: tuple[SecurityGroupRule, ...] = ()
) -> GuardedPort:
    return GuardedPort(port_id, f"c-{port_id}", addresses, rules)


def chain(script: str, name: str) -> list[str]:
    """The statements of one chain of a rendered script."""
    found = re.search(rf"^ *chain {name} {{\n(.*?)\n *}}", script, re.S | re.M)
    assert found, f"no chain {name} in:\n{script}"
    return [line.strip() for line in found.group(1).splitlines()]


def test_names_differ_per_installation_and_host_and_fit_nft() -> None:
    tables = {TableNames(i, h).table for i in ("i1", "i2") for h in ("h1", "h2")}
    assert len(tables) == 4
    assert all(re.fullmatch(r"dockyard_[0-9a-f]{12}", t) for t in tables)
    assert NAMES.ingress("p") != NAMES.egress("p") != NAMES.ingress("q")
    assert NAMES.members("g", 4) != NAMES.members("g", 6)


def test_nothing_guarded_only_removes_the_table() -> None:
    assert render(HostFirewall(), NAMES) == f"table inet {TABLE} {{}}\ndelete table inet {TABLE}\n"


def test_the_table_is_replaced_whole_in_one_script() -> None:
    script = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES)
    lines = script.splitlines()
    assert lines[:3] == [
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
    ]
    assert lines[-1] == "}"
    assert 'comment "Dockyard security groups of inst-1 on host-a"' in script


def test_the_base_chain_passes_replies_and_sends_egress_checks_before_ingress() -> None:
    firewall = HostFirewall((guarded("a", "10.0.0.2"), guarded("b", "10.0.0.3", "FD00::3")))
    base = chain(render(firewall, NAMES), "forward")
    oa, ob, ia, ib = NAMES.egress("a"), NAMES.egress("b"), NAMES.ingress("a"), NAMES.ingress("b")
    assert base == [
        "type filter hook forward priority filter - 10; policy accept;",
        "ct state established,related accept",
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
        "nd-neighbor-advert } accept",
        f"ip saddr vmap {{ 10.0.0.2 : jump {oa}, 10.0.0.3 : jump {ob} }}",
        f"ip6 saddr vmap {{ fd00::3 : jump {ob} }}",
        f"ip daddr vmap {{ 10.0.0.2 : jump {ia}, 10.0.0.3 : jump {ib} }}",
        f"ip6 daddr vmap {{ fd00::3 : jump {ib} }}",
    ]


def test_a_guarded_port_without_rules_drops_both_ways() -> None:
    script = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES)
    assert chain(script, NAMES.ingress("a")) == ["drop"]
    assert chain(script, NAMES.egress("a")) == ["drop"]


@pytest.mark.parametrize(
    ("kwargs", "statement"),
    [
        ({}, "meta nfproto ipv4 return"),
        ({"ethertype": "IPv6"}, "meta nfproto ipv6 return"),
        ({"protocol": "tcp"}, "meta nfproto ipv4 meta l4proto tcp return"),
        (
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 80},
            "meta nfproto ipv4 tcp dport 80 return",
        ),
        (
            {"protocol": "udp", "port_range_min": 1000, "port_range_max": 2000},
            "meta nfproto ipv4 udp dport 1000-2000 return",
        ),
        ({"protocol": "icmp"}, "meta nfproto ipv4 meta l4proto icmp return"),
        ({"protocol": "icmp", "port_range_min": 8}, "meta nfproto ipv4 icmp type 8 return"),
        (
            {"protocol": "icmp", "port_range_min": 3, "port_range_max": 4},
            "meta nfproto ipv4 icmp type 3 icmp code 4 return",
        ),
        (
            {"ethertype": "IPv6", "protocol": "icmp", "port_range_min": 128},
            "meta nfproto ipv6 icmpv6 type 128 return",
        ),
        (
            {"ethertype": "IPv6", "protocol": "icmp"},
            "meta nfproto ipv6 meta l4proto ipv6-icmp return",
        ),
        ({"remote_ip_prefix": "10.9.0.0/16"}, "meta nfproto ipv4 ip saddr 10.9.0.0/16 return"),
        ({"remote_ip_prefix": "0.0.0.0/0"}, "meta nfproto ipv4 return"),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "fd00::/8", "protocol": "udp",
             "port_range_min": 53, "port_range_max": 53},
            "meta nfproto ipv6 ip6 saddr fd00::/8 udp dport 53 return",
        ),
    ],
)  # fmt: skip
def test_ingress_rules_render_to_one_return_each(kwargs: dict[str, Any], statement: str) -> None:
    script = render(HostFirewall((guarded("a", "10.0.0.2", rules=(rule(**kwargs),)),)), NAMES)
    assert chain(script, NAMES.ingress("a")) == [statement, "drop"]


def test_egress_rules_match_the_destination() -> None:
    egress = rule(
        "egress",
        protocol="tcp",
        port_range_min=443,
        port_range_max=443,
        remote_ip_prefix="10.1.0.0/16",
    )
    script = render(HostFirewall((guarded("a", "10.0.0.2", rules=(egress,)),)), NAMES)
    assert chain(script, NAMES.egress("a")) == [
        "meta nfproto ipv4 ip daddr 10.1.0.0/16 tcp dport 443 return",
        "drop",
    ]
    assert chain(script, NAMES.ingress("a")) == ["drop"]


def test_the_default_group_admits_its_members_by_set_and_lets_everything_out() -> None:
    rules = default_rules("g", "p", iter(["1", "2", "3", "4"]).__next__)
    firewall = HostFirewall(
        (guarded("a", "10.0.0.2", rules=rules),),
        members={"g": ("10.0.0.7", "10.0.0.2", "fd00::7")},
    )
    script = render(firewall, NAMES)
    v4, v6 = NAMES.members("g", 4), NAMES.members("g", 6)
    assert f"set {v4} {{ type ipv4_addr; elements = {{ 10.0.0.2, 10.0.0.7 }}; }}" in script
    assert f"set {v6} {{ type ipv6_addr; elements = {{ fd00::7 }}; }}" in script
    assert chain(script, NAMES.ingress("a")) == [
        f"meta nfproto ipv4 ip saddr @{v4} return",
        f"meta nfproto ipv6 ip6 saddr @{v6} return",
        "drop",
    ]
    assert chain(script, NAMES.egress("a")) == [
        "meta nfproto ipv4 return",
        "meta nfproto ipv6 return",
        "drop",
    ]


def test_a_remote_group_without_members_has_an_empty_set() -> None:
    firewall = HostFirewall((guarded("a", "10.0.0.2", rules=(rule(remote_group_id="none"),)),))
    script = render(firewall, NAMES)
    assert f"set {NAMES.members('none', 4)} {{ type ipv4_addr; }}" in script
    assert chain(script, NAMES.ingress("a")) == [
        f"meta nfproto ipv4 ip saddr @{NAMES.members('none', 4)} return",
        "drop",
    ]


def test_the_same_rule_from_two_groups_is_rendered_once() -> None:
    twice = (rule(protocol="tcp"), rule(protocol="tcp"))
    script = render(HostFirewall((guarded("a", "10.0.0.2", rules=twice),)), NAMES)
    assert chain(script, NAMES.ingress("a")) == [
        "meta nfproto ipv4 meta l4proto tcp return",
        "drop",
    ]


def test_quotes_cannot_leave_the_comment() -> None:
    script = render(HostFirewall((guarded("a", "10.0.0.2"),)), TableNames('x"; flush ruleset', "h"))
    assert 'comment "Dockyard security groups of x__ flush ruleset on h"' in script


def test_what_the_host_itself_sends_to_a_guarded_address_passes_its_ingress_chain() -> None:
    """docker-proxy (a published port) and hairpin NAT reach a container from the host:
    the ``output`` hook, never ``forward``. Only ingress: the host is no guarded port."""
    firewall = HostFirewall((guarded("a", "10.0.0.2", "fd00::2"),))
    output = chain(render(firewall, NAMES), "output")
    ia = NAMES.ingress("a")
    assert output == [
        "type filter hook output priority filter - 10; policy accept;",
        "ct state established,related accept",
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
        "nd-neighbor-advert } accept",
        f"ip daddr vmap {{ 10.0.0.2 : jump {ia} }}",
        f"ip6 daddr vmap {{ fd00::2 : jump {ia} }}",
    ]
