"""VXLAN devices, forwarding entries and the gateway guard, made in the real kernel.

Everything happens in a network namespace of the test's own (an underlay veth
with 192.0.2.10 and a bridge standing for a Docker network's), so nothing of the
machine is touched; the commands are the agent's, run through ``nsenter``.
End-to-end traffic across hosts: tests/integration/test_network_tunnels.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from dockyard.domain.errors import Conflict
from dockyard.domain.networks import HostNetwork, new_subnet
from dockyard.drivers.network.local.firewall import run_command
from dockyard.drivers.network.local.nftables import TableNames
from dockyard.drivers.network.local.tunnels import VxlanTunnels
from tests.support.netns_hosts import require_tools, run

LOCAL = "192.0.2.10"
BRIDGE = "br0"


@dataclass
class Namespace:
    name: str

    def run(self, argv: Sequence[str], stdin: str | None) -> str:
        return run_command(["nsenter", f"--net=/run/netns/{self.name}", *argv], stdin)

    def links(self) -> dict[str, dict[str, object]]:
        listed = json.loads(self.run(["ip", "-d", "-j", "link", "show", "type", "vxlan"], None))
        return {str(link["ifname"]): link for link in listed}

    def peers(self, device: str) -> set[str]:
        entries = json.loads(self.run(["bridge", "-j", "fdb", "show", "dev", device], None))
        return {e["dst"] for e in entries if e.get("mac") == "00:00:00:00:00:00"}

    def bridge_tables(self) -> str:
        return self.run(["nft", "list", "tables", "bridge"], None)


@pytest.fixture
def ns() -> Iterator[Namespace]:
    require_tools()
    name = f"dyk-tun-{uuid.uuid4().hex[:6]}"
    run("ip", "netns", "add", name)
    try:
        for argv in (
            ["link", "add", "under0", "type", "veth", "peer", "name", "under1"],
            ["addr", "add", f"{LOCAL}/24", "dev", "under0"],
            ["link", "set", "under0", "up"],
            ["link", "set", "under1", "up"],
            ["link", "add", BRIDGE, "type", "bridge"],
            ["addr", "add", "10.9.0.1/24", "dev", BRIDGE],
            ["link", "set", BRIDGE, "up"],
        ):
            run("ip", "-n", name, *argv)
        yield Namespace(name)
    finally:
        run("ip", "netns", "del", name, check=False)


def network(segment: int = 42, peers: tuple[str, ...] = ()) -> HostNetwork:
    v4 = new_subnet(id="s1", network_id="net-1", project_id="p", cidr="10.9.0.0/24")
    v6 = new_subnet(id="s2", network_id="net-1", project_id="p", cidr="fd00:9::/64")
    return HostNetwork("net-1", (v4, v6), segment=segment, peers=peers)


def test_a_device_is_made_plugged_in_and_given_its_peers(ns: Namespace) -> None:
    tunnels = VxlanTunnels("inst", "host-1", LOCAL, run=ns.run)
    tunnels.ensure(network(peers=("192.0.2.20", "192.0.2.30")), BRIDGE)

    device = tunnels.names.device("net-1")
    link = ns.links()[device]
    data = link["linkinfo"]["info_data"]  # type: ignore[index]
    assert (data["id"], data["local"], data["port"]) == (42, LOCAL, 4789)
    assert link["master"] == BRIDGE and link["ifalias"] == tunnels.names.alias("net-1")
    assert ns.peers(device) == {"192.0.2.20", "192.0.2.30"}
    assert tunnels.mtu(1500) == 1450 and tunnels.mtu(1400) == 1400
    # Gateway ARP is dropped on the device, in this owner's bridge table.
    table = ns.run(["nft", "list", "table", "bridge", TableNames("inst", "host-1").table], None)
    assert f'iifname "{device}" arp daddr ip 10.9.0.1 drop' in table
    assert f'oifname "{device}" arp saddr ip 10.9.0.1 drop' in table
    assert f'iifname "{device}" ip6 saddr fd00:9::1 drop' in table

    # Members coming and going elsewhere: the entries follow; the same again changes nothing.
    tunnels.ensure(network(peers=("192.0.2.30", "192.0.2.40")), BRIDGE)
    tunnels.ensure(network(peers=("192.0.2.30", "192.0.2.40")), BRIDGE)
    assert ns.peers(device) == {"192.0.2.30", "192.0.2.40"}
    # A new VXLAN id: the device is made again.
    tunnels.ensure(network(segment=43, peers=("192.0.2.30",)), BRIDGE)
    assert ns.links()[device]["linkinfo"]["info_data"]["id"] == 43  # type: ignore[index]
    assert ns.peers(device) == {"192.0.2.30"}


def test_only_the_owner_sees_and_removes_its_devices(ns: Namespace) -> None:
    mine = VxlanTunnels("inst", "host-1", LOCAL, run=ns.run)
    other = VxlanTunnels("inst", "host-2", LOCAL, run=ns.run)
    mine.ensure(network(), BRIDGE)
    assert list(mine.tunnels()) == ["net-1"] and other.tunnels() == {}
    other.sync([])
    device = mine.names.device("net-1")
    assert device in ns.links()
    # The reconcile pass puts back what was changed under it.
    ns.run(["ip", "link", "set", "dev", device, "down", "nomaster"], None)
    mine.sync([(network(), BRIDGE)])
    link = ns.links()[device]
    assert "UP" in link["flags"] and link["master"] == BRIDGE  # type: ignore[operator]

    mine.sync([])
    assert ns.links() == {}
    assert "dockyard_" not in ns.bridge_tables()


def test_a_name_held_by_a_link_not_ours_is_a_conflict_and_left_alone(ns: Namespace) -> None:
    tunnels = VxlanTunnels("inst", "host-1", LOCAL, run=ns.run)
    device = tunnels.names.device("net-1")
    ns.run(["ip", "link", "add", device, "type", "bridge"], None)
    with pytest.raises(Conflict, match="not this Dockyard's"):
        tunnels.ensure(network(), BRIDGE)
    # The reconcile pass logs it and carries the other networks.
    other = HostNetwork("net-2", network().subnets, segment=7, peers=("192.0.2.20",))
    tunnels.sync([(network(), BRIDGE), (other, BRIDGE)])
    assert list(tunnels.tunnels()) == ["net-2"]
    assert ns.run(["ip", "-j", "link", "show", "dev", device], None)
