"""Project networks across hosts: one VXLAN device per network, enslaved to its bridge.

Each host that has members of a network holds a VXLAN device with the network's
id (VNI) on its tunnel (underlay) address, plugged into the network's Docker
bridge, and one all-zeros forwarding entry per other host with members: broadcast
and unknown unicast go to every such host, and the device learns where each
remote MAC lives from what it receives. The same subnet is then one layer-2
segment across hosts; addresses never clash, because the control side hands them
out.

Every host's bridge holds the subnet's gateway address, so ARP for or from the
gateway must stay on its host: a ``bridge`` family nftables table of this
installation and host drops it on the VXLAN ports (else a container could take
another host's bridge for its gateway).

Ownership: a device is named from (installation, host, network) and carries an
alias naming the owner and the network; the agent lists, changes and removes only
devices with its own alias.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dockyard.domain.errors import Conflict, DockyardError, DriverError
from dockyard.domain.networks import HostNetwork
from dockyard.drivers.network.local.firewall import NFT, Runner, run_command
from dockyard.drivers.network.local.nftables import TableNames

LOG = logging.getLogger(__name__)

IP: Final = "ip"
BRIDGE: Final = "bridge"
#: The IANA VXLAN port.
VXLAN_PORT: Final = 4789
#: Outer Ethernet, IP (v4), UDP and VXLAN headers.
OVERHEAD: Final = 50
ALL_ZEROS: Final = "00:00:00:00:00:00"
DEVICE_PREFIX: Final = "dyv"
BRIDGE_PREFIX: Final = "dyb"
_ALIAS_PREFIX: Final = "dockyard-tunnel"


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class TunnelNames:
    """Names of one installation and host's links (Linux allows 15 characters)."""

    installation: str
    host: str

    @property
    def owner(self) -> str:
        return _hex(f"{self.installation}\n{self.host}", 12)

    def device(self, network_id: str) -> str:
        return DEVICE_PREFIX + _hex(f"{self.installation}\n{self.host}\n{network_id}", 12)

    def bridge(self, network_id: str) -> str:
        """The Docker bridge of the network on this host (given to the engine by name)."""
        return BRIDGE_PREFIX + _hex(f"{self.installation}\n{self.host}\n{network_id}", 12)

    def alias(self, network_id: str) -> str:
        return f"{_ALIAS_PREFIX} {self.owner} {network_id}"

    def network_of(self, alias: str) -> str | None:
        """The network a device of this owner carries, from its alias; None: not ours."""
        parts = alias.split()
        if len(parts) == 3 and parts[0] == _ALIAS_PREFIX and parts[1] == self.owner:
            return parts[2]
        return None


@dataclass(frozen=True)
class Tunnel:
    """One network's device as the kernel holds it."""

    network_id: str
    device: str
    segment: int
    local: str
    master: str | None
    up: bool = True


def _gateways(network: HostNetwork) -> tuple[str, ...]:
    return tuple(s.gateway_ip for s in network.subnets if s.gateway_ip)


def _solicited_node(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The multicast group neighbour solicitations for ``address`` are sent to."""
    low = int(address) & 0xFFFFFF
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | low))


def render_arp_guard(names: TableNames, guarded: Mapping[str, Sequence[str]]) -> str:
    """The ``nft -f`` script keeping gateway ARP (and IPv6 ND) off the tunnel ports.

    ``guarded``: device name → the gateway addresses of its network. Replaced whole
    in one transaction; nothing guarded → the table is removed.
    """
    table = f"bridge {names.table}"
    lines = [f"table {table} {{}}", f"delete table {table}"]
    if not guarded:
        return "\n".join(lines) + "\n"
    rules = []
    for device, gateways in sorted(guarded.items()):
        for gateway in gateways:
            address = ipaddress.ip_address(gateway)
            for side in ("iifname", "oifname"):
                if address.version == 4:
                    rules.append(f'{side} "{device}" arp saddr ip {address} drop')
                    rules.append(f'{side} "{device}" arp daddr ip {address} drop')
                else:
                    # nft 1.0 cannot match an ND target: match the solicitations sent to
                    # the gateway's solicited-node group instead.
                    group = _solicited_node(address)
                    rules.append(f'{side} "{device}" ip6 saddr {address} drop')
                    rules.append(f'{side} "{device}" ip6 daddr {group} '
                                 "icmpv6 type nd-neighbor-solicit drop")  # fmt: skip
    body = ['comment "Dockyard: gateways stay on their host"']
    for hook in ("input", "forward", "output"):
        body.append(f"chain {hook} {{")
        body.append(f"    type filter hook {hook} priority -10; policy accept;")
        body.extend(f"    {rule}" for rule in rules)
        body.append("}")
    lines.append(f"table {table} {{")
    lines.extend(f"    {line}" for line in body)
    lines.append("}")
    return "\n".join(lines) + "\n"


class VxlanTunnels:
    """The VXLAN devices of one installation and host, on one tunnel address."""

    def __init__(self, installation: str, host: str, local: str, run: Runner = run_command) -> None:
        self.names = TunnelNames(installation, host)
        self.tables = TableNames(installation, host)
        self.local = str(ipaddress.ip_address(local))
        self._run = run
        self._lock = threading.RLock()
        #: Gateways of each device's network, for the ARP guard (kept across passes).
        self._guarded: dict[str, tuple[str, ...]] = {}

    # reading the kernel

    def _json(self, *argv: str) -> list[dict[str, Any]]:
        out = self._run(argv, None).strip()
        found: list[dict[str, Any]] = json.loads(out) if out else []
        return found

    def underlay(self) -> tuple[str, int]:
        """The interface holding the tunnel address, and its MTU."""
        version = "-4" if ipaddress.ip_address(self.local).version == 4 else "-6"
        for link in self._json(IP, "-j", version, "addr", "show"):
            if any(a.get("local") == self.local for a in link.get("addr_info") or ()):
                return str(link["ifname"]), int(link.get("mtu") or 1500)
        raise DriverError(
            f"No interface of this host has the tunnel address {self.local} "
            "([network] tunnel_address)."
        )

    def mtu(self, wanted: int) -> int:
        """The largest MTU a network's containers may use over the tunnel, at most ``wanted``."""
        return min(wanted, self.underlay()[1] - OVERHEAD)

    def tunnels(self) -> dict[str, Tunnel]:
        """This owner's devices, by network id."""
        found = {}
        for link in self._json(IP, "-d", "-j", "link", "show", "type", "vxlan"):
            network_id = self.names.network_of(str(link.get("ifalias") or ""))
            if network_id is None:
                continue
            data = (link.get("linkinfo") or {}).get("info_data") or {}
            found[network_id] = Tunnel(
                network_id=network_id,
                device=str(link["ifname"]),
                segment=int(data.get("id", -1)),
                local=str(data.get("local") or data.get("local6") or ""),
                master=link.get("master"),
                up="UP" in (link.get("flags") or ()),
            )
        return found

    def _peers(self, device: str) -> set[str]:
        entries = self._json(BRIDGE, "-j", "fdb", "show", "dev", device)
        return {str(e["dst"]) for e in entries if e.get("mac") == ALL_ZEROS and e.get("dst")}

    # changing it

    def ensure(self, network: HostNetwork, bridge: str) -> None:
        """Make ``network``'s device (plugged into ``bridge``) and its forwarding entries
        exactly ``network.peers``. Idempotent; a device that is not this owner's is left
        alone (``Conflict``)."""
        if network.segment is None:
            return
        with self._lock:
            self._ensure(network, bridge, self.tunnels().get(network.network_id))
            self._guarded[self.names.device(network.network_id)] = _gateways(network)
            self._guard()

    def sync(self, wanted: Sequence[tuple[HostNetwork, str]]) -> None:
        """Carry exactly the ``wanted`` networks (each with its bridge) and remove this
        owner's other devices: the reconcile pass. A network that fails is logged and
        kept as it is; the others go on."""
        with self._lock:
            current = self.tunnels()
            guarded: dict[str, tuple[str, ...]] = {}
            for network, bridge in wanted:
                if network.segment is None:
                    continue
                try:
                    self._ensure(network, bridge, current.get(network.network_id))
                except DockyardError as exc:
                    LOG.warning("tunnel of network %s: %s", network.network_id, exc)
                    if isinstance(exc, Conflict):
                        continue  # the name is another's: guard nothing of it
                guarded[self.names.device(network.network_id)] = _gateways(network)
            carried = {network.network_id for network, _ in wanted if network.segment is not None}
            for network_id, tunnel in current.items():
                if network_id not in carried:
                    self._run([IP, "link", "del", "dev", tunnel.device], None)
            self._guarded = guarded
            self._guard()

    def _ensure(self, network: HostNetwork, bridge: str, current: Tunnel | None) -> None:
        device = self.names.device(network.network_id)
        if current is not None and (
            current.device != device
            or current.segment != network.segment
            or current.local != self.local
        ):
            self._run([IP, "link", "del", "dev", current.device], None)
            current = None
        if current is None:
            self._add(device, network)
        if current is None or current.master != bridge or not current.up:
            self._run([IP, "link", "set", "dev", device, "master", bridge, "up"], None)
        have, want = self._peers(device), set(network.peers)
        for peer in sorted(want - have):
            self._run([BRIDGE, "fdb", "append", ALL_ZEROS, "dev", device, "dst", peer], None)
        for peer in sorted(have - want):
            self._run([BRIDGE, "fdb", "del", ALL_ZEROS, "dev", device, "dst", peer], None)

    def _add(self, device: str, network: HostNetwork) -> None:
        taken = {str(link["ifname"]) for link in self._json(IP, "-j", "link", "show")}
        if device in taken:
            raise Conflict(
                f"Link {device} exists and is not this Dockyard's tunnel.",
                network_id=network.network_id,
            )
        underlay, _ = self.underlay()
        self._run(
            [
                IP, "link", "add", device, "type", "vxlan",
                "id", str(network.segment), "local", self.local, "dev", underlay,
                "dstport", str(VXLAN_PORT),
            ],
            None,
        )  # fmt: skip
        self._run(
            [IP, "link", "set", "dev", device, "alias", self.names.alias(network.network_id)], None
        )

    def remove(self, network_id: str) -> None:
        """Remove the network's device, if this owner's (absent: success)."""
        with self._lock:
            current = self.tunnels().get(network_id)
            if current is not None:
                self._run([IP, "link", "del", "dev", current.device], None)
            if self._guarded.pop(self.names.device(network_id), None) is not None:
                self._guard()

    def _guard(self) -> None:
        self._run([NFT, "-f", "-"], render_arp_guard(self.tables, self._guarded))
