from __future__ import annotations

from typing import Any

import pytest

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.security_groups import SecurityGroupRule, default_rules, new_rule
from dockyard.drivers.network.local.iptables import (
    ChainNames,
    Installed,
    digest,
    parse_save,
    render,
    restore_script,
    with_digest,
)

NAMES = ChainNames.of("inst-1", "host-a")
HOST = NAMES.host_chain


def rule(direction: str = "ingress", **kwargs: Any) -> SecurityGroupRule:
    return new_rule(id="r", security_group_id="g", project_id="p", direction=direction, **kwargs)


def guarded(
    port_id: str, *addresses: str, rules: tuple[SecurityGroupRule, ...] = ()
) -> GuardedPort:
    return GuardedPort(port_id, f"c-{port_id}", addresses, rules)


def test_chain_names_fit_iptables_and_differ_per_installation_and_host() -> None:
    names = {ChainNames.of(i, h).host_chain for i in ("i1", "i2") for h in ("h1", "h2")}
    assert len(names) == 4
    assert len(NAMES.ingress("a-very-long-port-id-" * 5)) <= 28
    assert NAMES.owns(NAMES.ingress("p")) and NAMES.owns(HOST)
    assert not ChainNames.of("inst-1", "host-b").owns(NAMES.egress("p"))
    assert NAMES.ingress("p") != NAMES.egress("p") != NAMES.ingress("q")


def test_nothing_guarded_renders_nothing() -> None:
    assert render(HostFirewall(), NAMES, 4) == {}
    assert render(HostFirewall((guarded("a", "fd00::2"),)), NAMES, 4) == {}


def test_host_chain_returns_replies_then_jumps_egress_before_ingress() -> None:
    firewall = HostFirewall((guarded("a", "10.0.0.2"), guarded("b", "10.0.0.3", "fd00::3")))
    chains = render(firewall, NAMES, 4)
    assert chains[HOST] == (
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        f"-s 10.0.0.2/32 -j {NAMES.egress('a')}",
        f"-s 10.0.0.3/32 -j {NAMES.egress('b')}",
        f"-d 10.0.0.2/32 -j {NAMES.ingress('a')}",
        f"-d 10.0.0.3/32 -j {NAMES.ingress('b')}",
    )


def test_a_guarded_port_without_rules_drops_both_ways() -> None:
    chains = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES, 4)
    assert chains[NAMES.ingress("a")] == ("-j DROP",)
    assert chains[NAMES.egress("a")] == ("-j DROP",)


@pytest.mark.parametrize(
    ("kwargs", "spec"),
    [
        ({}, "-j RETURN"),
        ({"protocol": "tcp"}, "-p tcp -j RETURN"),
        (
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 80},
            "-p tcp -m tcp --dport 80 -j RETURN",
        ),
        (
            {"protocol": "udp", "port_range_min": 1000, "port_range_max": 2000},
            "-p udp -m udp --dport 1000:2000 -j RETURN",
        ),
        ({"protocol": "icmp"}, "-p icmp -j RETURN"),
        ({"protocol": "icmp", "port_range_min": 8}, "-p icmp -m icmp --icmp-type 8 -j RETURN"),
        (
            {"protocol": "icmp", "port_range_min": 3, "port_range_max": 4},
            "-p icmp -m icmp --icmp-type 3/4 -j RETURN",
        ),
        ({"remote_ip_prefix": "10.9.0.0/16"}, "-s 10.9.0.0/16 -j RETURN"),
        ({"remote_ip_prefix": "0.0.0.0/0"}, "-j RETURN"),
        (
            {
                "remote_ip_prefix": "192.168.1.7",
                "protocol": "tcp",
                "port_range_min": 22,
                "port_range_max": 22,
            },
            "-s 192.168.1.7/32 -p tcp -m tcp --dport 22 -j RETURN",
        ),
    ],
)
def test_ingress_rules_render_to_one_return_each(kwargs: dict[str, Any], spec: str) -> None:
    firewall = HostFirewall((guarded("a", "10.0.0.2", rules=(rule(**kwargs),)),))
    assert render(firewall, NAMES, 4)[NAMES.ingress("a")] == (spec, "-j DROP")


def test_egress_rules_match_the_destination() -> None:
    egress = rule(
        "egress",
        protocol="tcp",
        port_range_min=443,
        port_range_max=443,
        remote_ip_prefix="10.1.0.0/16",
    )
    chains = render(HostFirewall((guarded("a", "10.0.0.2", rules=(egress,)),)), NAMES, 4)
    assert chains[NAMES.egress("a")] == (
        "-d 10.1.0.0/16 -p tcp -m tcp --dport 443 -j RETURN",
        "-j DROP",
    )
    assert chains[NAMES.ingress("a")] == ("-j DROP",)


def test_rules_go_to_their_own_family() -> None:
    v4 = rule(protocol="tcp", port_range_min=80, port_range_max=80)
    v6 = rule(ethertype="IPv6", protocol="icmp", port_range_min=128, port_range_max=0)
    firewall = HostFirewall((guarded("a", "10.0.0.2", "fd00::2", rules=(v4, v6)),))
    assert render(firewall, NAMES, 4)[NAMES.ingress("a")] == (
        "-p tcp -m tcp --dport 80 -j RETURN",
        "-j DROP",
    )
    six = render(firewall, NAMES, 6)
    assert six[NAMES.ingress("a")] == (
        "-p ipv6-icmp -m icmp6 --icmpv6-type 128/0 -j RETURN",
        "-j DROP",
    )
    assert f"-s fd00::2/128 -j {NAMES.egress('a')}" in six[HOST]
    assert "-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN" in six[HOST]


def test_the_default_group_admits_only_its_members_and_lets_everything_out() -> None:
    rules = default_rules("g", "p", iter(["1", "2", "3", "4"]).__next__)
    firewall = HostFirewall(
        (guarded("a", "10.0.0.2", rules=rules),),
        members={"g": ("10.0.0.2", "10.0.0.7", "fd00::7")},
    )
    chains = render(firewall, NAMES, 4)
    assert chains[NAMES.ingress("a")] == (
        "-s 10.0.0.2/32 -j RETURN",
        "-s 10.0.0.7/32 -j RETURN",
        "-j DROP",
    )
    assert chains[NAMES.egress("a")] == ("-j RETURN", "-j DROP")


def test_a_remote_group_without_members_allows_nothing() -> None:
    firewall = HostFirewall((guarded("a", "10.0.0.2", rules=(rule(remote_group_id="empty"),)),))
    assert render(firewall, NAMES, 4)[NAMES.ingress("a")] == ("-j DROP",)


SAVE = f"""# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
:{HOST} - [0:0]
:{NAMES.ingress("a")} - [0:0]
:{NAMES.egress("a")} - [0:0]
:DY-00000000 - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j {HOST}
-A DOCKER-USER -j DY-00000000
-A DOCKER-USER -j RETURN
-A {HOST} -m comment --comment "dockyard:aaaa"
-A {HOST} -j {NAMES.ingress("a")}
-A {NAMES.ingress("a")} -m comment --comment dockyard:bbbb
-A {NAMES.ingress("a")} -j DROP
-A {NAMES.egress("a")} -j DROP
COMMIT
"""


def test_parse_save_reads_only_our_chains_their_digests_and_the_hook() -> None:
    installed = parse_save(SAVE, NAMES)
    assert installed.chains == {HOST: "aaaa", NAMES.ingress("a"): "bbbb", NAMES.egress("a"): ""}
    assert installed.jumps == {"DOCKER-USER": 1}
    assert installed.has_docker_user


def test_first_apply_creates_chains_and_hooks_into_docker_user_once() -> None:
    desired = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES, 4)
    script = restore_script(desired, Installed(has_docker_user=True), NAMES)
    assert script is not None
    lines = script.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert f":{HOST} - [0:0]" in lines
    assert f"-I DOCKER-USER 1 -j {HOST}" in lines
    assert f"-A {HOST} -m comment --comment dockyard:{digest(desired[HOST])}" in lines
    assert f"-A {NAMES.ingress('a')} -j DROP" in lines
    # Declarations come before any rule that jumps to them.
    assert max(i for i, line in enumerate(lines) if line.startswith(":")) < min(
        i for i, line in enumerate(lines) if line.startswith("-")
    )


def installed_as(desired: dict[str, tuple[str, ...]], hook: str = "DOCKER-USER") -> Installed:
    return Installed(
        chains={chain: digest(rules) for chain, rules in desired.items()},
        jumps={hook: 1},
        has_docker_user=hook == "DOCKER-USER",
    )


def test_an_unchanged_firewall_needs_no_restore() -> None:
    desired = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES, 4)
    assert restore_script(desired, installed_as(desired), NAMES) is None


def test_a_rule_change_rewrites_only_that_chain() -> None:
    ports = [guarded(f"p{i}", f"10.0.{i // 200}.{i % 200 + 2}") for i in range(200)]
    before = render(HostFirewall(tuple(ports)), NAMES, 4)
    ports[7] = guarded(
        "p7",
        ports[7].addresses[0],
        rules=(rule(protocol="tcp", port_range_min=80, port_range_max=80),),
    )
    after = render(HostFirewall(tuple(ports)), NAMES, 4)
    script = restore_script(after, installed_as(before), NAMES)
    assert script is not None
    declared = [line for line in script.splitlines() if line.startswith(":")]
    assert declared == [f":{NAMES.ingress('p7')} - [0:0]"]
    assert "-I DOCKER-USER" not in script and "-X" not in script


def test_a_removed_port_loses_its_chains_after_the_host_chain_stops_jumping() -> None:
    before = render(HostFirewall((guarded("a", "10.0.0.2"), guarded("b", "10.0.0.3"))), NAMES, 4)
    after = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES, 4)
    script = restore_script(after, installed_as(before), NAMES)
    assert script is not None
    lines = script.splitlines()
    for chain in (NAMES.ingress("b"), NAMES.egress("b")):
        assert lines.index(f":{chain} - [0:0]") < lines.index(f"-X {chain}")
    rewrite = lines.index(f":{HOST} - [0:0]")
    assert rewrite < lines.index(f"-X {NAMES.ingress('b')}")
    host_rules = [line for line in lines if line.startswith(f"-A {HOST} ")]
    assert host_rules and not any(NAMES.egress("b") in line for line in host_rules)


def test_nothing_guarded_removes_every_chain_and_the_hook() -> None:
    before = render(HostFirewall((guarded("a", "10.0.0.2"),)), NAMES, 4)
    script = restore_script({}, installed_as(before), NAMES)
    assert script is not None
    lines = script.splitlines()
    assert lines.index(f"-D DOCKER-USER -j {HOST}") < lines.index(f"-X {HOST}")
    assert lines[-2:] == [f"-X {HOST}", "COMMIT"]
    assert restore_script({}, Installed(has_docker_user=True), NAMES) is None


def test_duplicate_hooks_are_removed_and_ipv6_hooks_into_forward_without_docker_user() -> None:
    desired = render(HostFirewall((guarded("a", "fd00::2"),)), NAMES, 6)
    installed = installed_as(desired, hook="FORWARD")
    installed.jumps["FORWARD"] = 3
    script = restore_script(desired, installed, NAMES)
    assert script is not None
    assert script.count(f"-D FORWARD -j {HOST}") == 2
    fresh = restore_script(desired, Installed(), NAMES)
    assert fresh is not None and f"-I FORWARD 1 -j {HOST}" in fresh


def test_with_digest_puts_the_comment_first() -> None:
    rules = ("-j DROP",)
    assert with_digest(rules) == (f"-m comment --comment dockyard:{digest(rules)}", "-j DROP")
