"""Security groups enforced by the real kernel, with real packets between real containers.

Two busybox containers on a Dockyard-made bridge: a server (``httpd`` on 8080)
and a client that fetches from it with ``busybox nc``. Needs root, ``nft`` and
bridged traffic passing the IP hooks (``net.bridge.bridge-nf-call-iptables=1``,
which the Docker Engine sets).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.networks import HostNetwork, new_subnet
from dockyard.domain.security_groups import SecurityGroupRule, default_rules, new_rule
from dockyard.drivers.network.local.firewall import (
    NftablesFirewall,
    dockyard_tables,
    kernel_tools_present,
)
from dockyard.drivers.network.local.nftables import TableNames, render
from tests.contract.network_support import (
    SERVER,
    Site,
    engine,
    free_cidr,
    host_network,
    port_on,
    site,
    unavailable,
)

pytestmark = pytest.mark.docker

REPLY = "hello-from-dockyard"
#: How long a rule change may take to show in the traffic (issue 10: 2 s).
WITHIN = 2.0
_ids = itertools.count()


def require_kernel() -> None:
    if os.geteuid() != 0:
        unavailable("the kernel firewall tests need root")
    if not kernel_tools_present():
        unavailable("the nft command is missing (Debian: nftables)")
    bridged = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not bridged.exists() or bridged.read_text().strip() != "1":
        unavailable("bridged traffic does not pass the IP hooks (br_netfilter)")


def rule(direction: str = "ingress", group: str = "g", **kwargs: object) -> SecurityGroupRule:
    return new_rule(
        id=f"r{next(_ids)}",
        security_group_id=group,
        project_id="p",
        direction=direction,
        **kwargs,  # type: ignore[arg-type]
    )


ALL_OUT = (rule("egress"), rule("egress", ethertype="IPv6"))
WEB_IN = rule(protocol="tcp", port_range_min=8080, port_range_max=8080)


@dataclass
class Pair:
    site: Site
    network: HostNetwork
    server: str
    client: str
    server_ip: str
    client_ip: str

    def guard(
        self,
        server: tuple[SecurityGroupRule, ...] | None,
        client: tuple[SecurityGroupRule, ...] | None = ALL_OUT,
        members: Mapping[str, tuple[str, ...]] | None = None,
    ) -> float:
        """Apply rules to the two containers (``None``: unguarded); seconds the apply took."""
        ports = []
        if server is not None:
            ports.append(GuardedPort("server", self.server, (self.server_ip,), server))
        if client is not None:
            ports.append(GuardedPort("client", self.client, (self.client_ip,), client))
        started = time.monotonic()
        self.site.host.apply_firewall(HostFirewall(tuple(ports), members or {}))
        return time.monotonic() - started

    def reaches(self) -> bool:
        return REPLY in self.site.fetch(self.client, self.server_ip)

    def opens_within(self, seconds: float) -> float:
        """Seconds until the client first reaches the server; fails after ``seconds``."""
        started = time.monotonic()
        while not self.reaches():
            assert time.monotonic() - started < seconds, "still blocked"
        return time.monotonic() - started


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    require_kernel()
    made = engine()
    yield made
    made.close()


@pytest.fixture(scope="module")
def pair(client: docker.DockerClient) -> Iterator[Pair]:
    with site(client, host="kerneltest") as made:
        network = host_network(free_cidr(client))
        made.host.realise(network)
        pool = network.subnets[0].allocation_pools[0]
        server_ip, client_ip = pool.start, pool.start[: pool.start.rfind(".")] + ".3"
        server, peer = made.container(SERVER), made.container()
        made.host.plug(server, network, port_on(network, server_ip))
        made.host.plug(peer, network, port_on(network, client_ip))
        client.api.start(server)
        client.api.start(peer)
        found = Pair(made, network, server, peer, server_ip, client_ip)
        deadline = time.monotonic() + 20
        while not found.reaches():  # httpd is listening, nothing filters yet
            assert time.monotonic() < deadline, "the server never answered without any rules"
        yield found
    assert NftablesFirewall(made.installation, "kerneltest").names.table not in dockyard_tables()


def test_every_rendering_is_accepted_by_nft(client: docker.DockerClient) -> None:
    kinds = [
        rule(),
        rule(ethertype="IPv6", remote_ip_prefix="fd00::/8"),
        rule(protocol="tcp", port_range_min=1, port_range_max=65535, remote_ip_prefix="10.0.0.0/8"),
        rule(protocol="udp", port_range_min=53, port_range_max=53),
        rule(protocol="udp"),
        rule(protocol="icmp"),
        rule(protocol="icmp", port_range_min=8),
        rule(protocol="icmp", port_range_min=3, port_range_max=1),
        rule(ethertype="IPv6", protocol="icmp", port_range_min=128, port_range_max=0),
        rule(ethertype="IPv6", protocol="icmp"),
        rule(remote_group_id="g"),
        rule(ethertype="IPv6", remote_group_id="empty"),
        rule("egress", protocol="tcp", port_range_min=443, port_range_max=443),
        rule("egress", ethertype="IPv6", remote_group_id="g"),
    ]
    firewall = HostFirewall(
        (GuardedPort("p", "c", ("10.9.0.2", "fd00::2"), tuple(kinds)),),
        members={"g": ("10.9.0.2", "fd00::2")},
    )
    script = render(firewall, TableNames("check-only", "check-only"))
    checked = subprocess.run(["nft", "-c", "-f", "-"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_no_rule_blocks_a_rule_opens_removing_it_closes(pair: Pair) -> None:
    pair.guard(server=())
    assert not pair.reaches()
    took = pair.guard(server=(WEB_IN,))
    assert took + pair.opens_within(WITHIN) < WITHIN
    pair.guard(server=())
    assert not pair.reaches()
    pair.guard(server=None, client=None)
    assert pair.reaches()


def test_only_the_ports_and_sources_a_rule_names_are_open(pair: Pair) -> None:
    pair.guard(server=(rule(protocol="tcp", port_range_min=8081, port_range_max=9000),))
    assert not pair.reaches()
    pair.guard(server=(rule(protocol="udp", port_range_min=8080, port_range_max=8080),))
    assert not pair.reaches()
    pair.guard(server=(rule(protocol="tcp", remote_ip_prefix="10.99.0.0/16"),))
    assert not pair.reaches()
    pair.guard(server=(rule(protocol="tcp", remote_ip_prefix=f"{pair.client_ip}/32"),))
    assert pair.opens_within(WITHIN) >= 0
    pair.guard(server=(rule(ethertype="IPv6"),))
    assert not pair.reaches()


def test_egress_is_enforced_too(pair: Pair) -> None:
    pair.guard(server=(WEB_IN,), client=())
    assert not pair.reaches()
    web_out = rule("egress", protocol="tcp", port_range_min=8080, port_range_max=8080)
    pair.guard(server=(WEB_IN,), client=(web_out,))
    assert pair.opens_within(WITHIN) >= 0


def test_default_group_semantics_members_reach_each_other_others_do_not(pair: Pair) -> None:
    default = default_rules("dflt", "p", lambda: f"r{next(_ids)}")
    both = {"dflt": (pair.server_ip, pair.client_ip)}
    pair.guard(server=default, client=default, members=both)
    assert pair.opens_within(WITHIN) >= 0
    # The client leaves the group: it may still send (its own egress), the server refuses.
    pair.guard(server=default, client=ALL_OUT, members={"dflt": (pair.server_ip,)})
    assert not pair.reaches()
    from_clients = rule(protocol="tcp", remote_group_id="clients")
    pair.guard(server=(from_clients,), members={"clients": (pair.client_ip,)})
    assert pair.opens_within(WITHIN) >= 0
    pair.guard(server=(from_clients,), members={"clients": ()})
    assert not pair.reaches()


def test_one_rule_change_with_200_guarded_containers(client: docker.DockerClient) -> None:
    """200 synthetic ports in one default group, each with its own web group."""
    firewall = NftablesFirewall(f"bench-{os.getpid()}", "kerneltest")
    addresses = [f"10.252.{i // 250}.{i % 250 + 2}" for i in range(200)]
    default = default_rules("dflt", "p", lambda: f"r{next(_ids)}")

    def host(extra: tuple[SecurityGroupRule, ...] = ()) -> HostFirewall:
        ports = tuple(
            GuardedPort(f"port{i}", f"c{i}", (a,), (*default, WEB_IN, *(extra if i == 7 else ())))
            for i, a in enumerate(addresses)
        )
        return HostFirewall(ports, members={"dflt": tuple(addresses)})

    timings = {}
    try:
        for label, state in (
            ("first apply", host()),
            (
                "one rule added",
                host((rule(protocol="tcp", port_range_min=443, port_range_max=443),)),
            ),
            ("same again", host((rule(protocol="tcp", port_range_min=443, port_range_max=443),))),
            ("one rule removed", host()),
        ):
            started = time.monotonic()
            firewall.apply(state)
            timings[label] = time.monotonic() - started
        print(f"\n200 guarded containers, nft apply seconds: {timings}")
        assert timings["one rule added"] <= WITHIN
        assert timings["one rule removed"] <= WITHIN
        assert firewall.present()
    finally:
        firewall.clear()
    assert not firewall.present()


def test_ipv6_traffic_is_filtered_by_its_own_rules(client: docker.DockerClient) -> None:
    with site(client, host="kerneltest6") as made:
        v4 = host_network(free_cidr(client))
        v6cidr = f"fd00:dd{os.getpid() % 256:02x}:{time.time_ns() % 65536:x}::/64"
        six = new_subnet(id="s6", network_id=v4.network_id, project_id="p", cidr=v6cidr)
        network = HostNetwork(v4.network_id, (*v4.subnets, six))
        made.host.realise(network)
        server, peer = made.container(SERVER), made.container()
        server_ips = (v4.subnets[0].allocation_pools[0].start, str(six.ip_network[2]))
        client_ips = (v4.subnets[0].allocation_pools[0].end, str(six.ip_network[3]))
        made.host.plug(server, network, port_on(network, *server_ips))
        made.host.plug(peer, network, port_on(network, *client_ips))
        client.api.start(server)
        client.api.start(peer)

        def reaches(address: str) -> bool:
            return REPLY in made.fetch(peer, address)

        deadline = time.monotonic() + 20
        while not reaches(server_ips[1]):
            assert time.monotonic() < deadline, "no IPv6 answer even without rules"

        def guard(*rules: SecurityGroupRule) -> None:
            made.host.apply_firewall(
                HostFirewall(
                    (
                        GuardedPort("server", server, server_ips, rules),
                        GuardedPort("client", peer, client_ips, ALL_OUT),
                    )
                )
            )

        guard(rule(ethertype="IPv6", protocol="tcp", port_range_min=8080, port_range_max=8080))
        assert reaches(server_ips[1])
        assert not reaches(server_ips[0])
        guard(WEB_IN)
        assert reaches(server_ips[0])
        assert not reaches(server_ips[1])


def test_what_dockyard_allows_stays_inside_the_engines_isolation(
    pair: Pair, client: docker.DockerClient
) -> None:
    """Allow-all rules do not let a container of another network through: Dockyard only drops."""
    other = host_network(free_cidr(client))
    pair.site.host.realise(other)
    stranger = pair.site.container()
    stranger_ip = other.subnets[0].allocation_pools[0].start
    pair.site.host.plug(stranger, other, port_on(other, stranger_ip))
    client.api.start(stranger)
    try:
        pair.guard(server=(rule(), rule(ethertype="IPv6")), client=None)
        assert pair.reaches()
        assert REPLY not in pair.site.fetch(stranger, pair.server_ip)
    finally:
        client.api.remove_container(stranger, force=True)
        pair.site.host.remove(other.network_id)


def test_containers_on_one_network_reach_each_other_by_alias(pair: Pair) -> None:
    pair.guard(server=None, client=None)
    network = pair.site.host
    network.unplug(pair.server, pair.network.network_id)
    network.plug(pair.server, pair.network, port_on(pair.network, pair.server_ip), aliases=("web",))
    deadline = time.monotonic() + 10
    while REPLY not in pair.site.fetch(pair.client, "web"):
        assert time.monotonic() < deadline, "the alias never resolved to the server"
