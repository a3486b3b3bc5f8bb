"""An in-memory ``NetworkDriver``: networks, ports and groups kept in dicts.

Enough of the local driver's rules for the create flow's tests: lookups by id or
name in the caller's project (404 / 409 on ambiguity), users' ports bound and
kept, fixed IPs, the project's network and ``default`` group made on first use.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Sequence
from typing import Any

from dockyard.domain.errors import Conflict, InvalidInput, NetworkInUse, NetworkNotFound, NotFound
from dockyard.domain.firewall import HostFirewall, host_firewall
from dockyard.domain.networks import (
    DEVICE_OWNER,
    AllocationPool,
    Attachment,
    FixedIP,
    HostNetwork,
    NetRequest,
    Network,
    Port,
    Subnet,
)
from dockyard.domain.security_groups import (
    Direction,
    EtherType,
    Protocol,
    SecurityGroup,
    SecurityGroupRule,
    exposed_ports_group,
)
from dockyard.drivers.network.base import Caller, HostNetworking, NetworkDriver, RealisedNetwork
from tests.fakes.runtime import Call


class FakeNetworks(NetworkDriver):
    def __init__(self) -> None:
        self.networks: dict[str, Network] = {}
        self.subnets: dict[str, Subnet] = {}
        self.ports: dict[str, Port] = {}
        self.groups: dict[str, SecurityGroup] = {}
        self.released: list[tuple[str, tuple[str, ...]]] = []
        #: Set to make ``make_ports`` fail (after nothing was made).
        self.refuse_ports: Exception | None = None
        #: Set to make ``make_exposed_ports_group`` fail.
        self.refuse_groups: Exception | None = None
        self.released_groups: list[str] = []
        self._ids = itertools.count(1)

    # -- test helpers -----------------------------------------------------

    def add_network(self, project_id: str, name: str, cidr: str) -> Network:
        net = Network(f"net-{next(self._ids)}", project_id, name)
        self.networks[net.id] = net
        address = ipaddress.ip_network(cidr)
        subnet = Subnet(
            f"sub-{next(self._ids)}",
            net.id,
            project_id,
            cidr,
            address.version,
            str(address.network_address + 1),
            (AllocationPool(str(address.network_address + 2), str(address[-2])),),
        )
        self.subnets[subnet.id] = subnet
        return net

    def add_port(self, project_id: str, network: Network, ip: str, name: str = "") -> Port:
        subnet = self._subnets(network.id)[0]
        port = Port(
            f"port-{next(self._ids)}",
            project_id,
            network.id,
            "fa:16:3e:00:00:99",
            (FixedIP(subnet.id, ip),),
            name=name,
        )
        self.ports[port.id] = port
        return port

    def add_group(self, project_id: str, name: str) -> SecurityGroup:
        group = SecurityGroup(f"sg-{next(self._ids)}", project_id, name)
        self.groups[group.id] = group
        return group

    # -- NetworkDriver ----------------------------------------------------

    def _subnets(self, network_id: str) -> tuple[Subnet, ...]:
        return tuple(s for s in self.subnets.values() if s.network_id == network_id)

    def _find_network(self, caller: Caller, ident: str) -> Network:
        if ident in self.networks and self._visible(caller, self.networks[ident]):
            return self.networks[ident]
        named = [n for n in self.networks.values() if n.name == ident and self._visible(caller, n)]
        if len(named) > 1:
            raise Conflict(f"Multiple networks are named {ident}.")
        if not named:
            raise NotFound(f"Network {ident} could not be found.")
        return named[0]

    @staticmethod
    def _visible(caller: Caller, network: Network) -> bool:
        return network.project_id == caller.project_id or network.shared

    def _find_port(self, caller: Caller, ident: str) -> Port:
        found = [p for p in self.ports.values() if ident in (p.id, p.name)]
        if len(found) > 1:
            raise Conflict(f"Multiple ports are named {ident}.")
        if not found:
            raise NotFound(f"Port {ident} could not be found.")
        if found[0].project_id != caller.project_id:
            raise InvalidInput(f"Port {ident} belongs to another project.")
        if found[0].device_id:
            raise InvalidInput(f"Port {ident} is in use.")
        return found[0]

    def resolve(self, caller: Caller, requests: Sequence[NetRequest]) -> tuple[Attachment, ...]:
        if not requests:
            mine = [n for n in self.networks.values() if n.project_id == caller.project_id]
            net = mine[0] if mine else self.add_network(caller.project_id, "private", "10.9.0.0/24")
            return (Attachment(net, self._subnets(net.id)),)
        found = []
        for request in requests:
            if request.port is not None:
                port = self._find_port(caller, request.port)
                net = self.networks[port.network_id]
                found.append(Attachment(net, self._subnets(net.id), port, (), True))
                continue
            assert request.network is not None
            net = self._find_network(caller, request.network)
            fixed = tuple(ip for ip in (request.v4_fixed_ip, request.v6_fixed_ip) if ip)
            for ip in fixed:
                taken = {f.ip_address for p in self.ports.values() for f in p.fixed_ips}
                if ip in taken:
                    raise Conflict(f"IP address {ip} is already allocated.")
            found.append(Attachment(net, self._subnets(net.id), None, fixed))
        if len({a.network.id for a in found}) < len(found):
            raise InvalidInput("The same network is asked for twice.")
        return tuple(found)

    def resolve_security_groups(
        self, caller: Caller, names_or_ids: Sequence[str]
    ) -> tuple[SecurityGroup, ...]:
        mine = [g for g in self.groups.values() if g.project_id == caller.project_id]
        if not names_or_ids:
            default = [g for g in mine if g.name == "default"]
            if default:
                return (default[0],)
            group = self.add_group(caller.project_id, "default")
            rule = SecurityGroupRule(
                f"r-{next(self._ids)}",
                group.id,
                caller.project_id,
                Direction.INGRESS,
                EtherType.IPV4,
                remote_group_id=group.id,
            )
            self.groups[group.id] = dataclasses.replace(group, rules=(rule,))
            return (self.groups[group.id],)
        found: dict[str, SecurityGroup] = {}
        for ident in names_or_ids:
            matches = [g for g in mine if ident in (g.id, g.name)]
            if not matches:
                raise InvalidInput(f"Security group {ident} not found.")
            if len(matches) > 1:
                raise Conflict(f"Multiple security groups are named {ident}.")
            found.setdefault(matches[0].id, matches[0])
        return tuple(found.values())

    def make_ports(
        self,
        container_id: str,
        host: str,
        attachments: Sequence[Attachment],
        security_group_ids: Sequence[str],
    ) -> tuple[Port, ...]:
        if self.refuse_ports is not None:
            raise self.refuse_ports
        made = []
        for attachment in attachments:
            if attachment.port is not None:
                port = dataclasses.replace(attachment.port, device_id=container_id, host=host)
            else:
                subnet = attachment.subnets[0]
                used = {f.ip_address for p in self.ports.values() for f in p.fixed_ips}
                ip = next(iter(attachment.fixed_ips), None) or next(
                    str(a)
                    for a in ipaddress.ip_network(subnet.cidr).hosts()
                    if str(a) != subnet.gateway_ip and str(a) not in used
                )
                port = Port(
                    f"port-{next(self._ids)}",
                    attachment.network.project_id,
                    attachment.network.id,
                    f"fa:16:3e:00:00:{len(self.ports):02x}",
                    (FixedIP(subnet.id, ip),),
                    tuple(security_group_ids),
                    device_id=container_id,
                    device_owner="compute:dockyard",
                    host=host,
                )
            self.ports[port.id] = port
            made.append(port)
        return tuple(made)

    def release_ports(self, container_id: str, ports: Sequence[Port]) -> None:
        self.released.append((container_id, tuple(p.id for p in ports)))
        for given in ports:
            port = self.ports.get(given.id)
            if port is None or port.device_id != container_id:
                continue
            if port.device_owner:
                del self.ports[port.id]
            else:
                self.ports[port.id] = dataclasses.replace(port, device_id="", host="")

    def make_exposed_ports_group(
        self,
        container_id: str,
        container_name: str,
        project_id: str,
        ports: Sequence[tuple[int, Protocol]],
    ) -> SecurityGroup:
        if self.refuse_groups is not None:
            raise self.refuse_groups
        group = exposed_ports_group(
            container_id, container_name, project_id, ports, lambda: f"r-{next(self._ids)}"
        )
        return self.groups.setdefault(group.id, group)

    def release_exposed_ports_group(self, container_id: str) -> None:
        self.released_groups.append(container_id)
        for group_id, group in list(self.groups.items()):
            if container_id in group.description:
                del self.groups[group_id]

    def networks_for_host(self, host: str) -> tuple[HostNetwork, ...]:
        ids = sorted({p.network_id for p in self.ports.values() if p.host == host})
        return tuple(HostNetwork(i, self._subnets(i), self.networks[i].mtu) for i in ids)

    def find_network(self, network_id: str, visible_to: str | None) -> Network:
        network = self.networks.get(network_id)
        if network is None or visible_to not in (None, network.project_id):
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        return network

    def container_ports(self, network_id: str) -> int:
        return sum(
            1
            for p in self.ports.values()
            if p.network_id == network_id and p.device_id and p.device_owner == DEVICE_OWNER
        )

    def firewall_for_host(self, host: str) -> HostFirewall:
        mine = [p for p in self.ports.values() if p.host == host]
        return host_firewall(mine, self.groups, self.ports.values())


class FakeHostNetworking(HostNetworking):
    """Engine networks and the enforced firewall of one host, in memory.

    ``log`` (shared with a ``FakeRuntime``'s call log when given) records each step,
    so tests can tell the rules were in force before the container started.
    """

    def __init__(self, log: list[Any] | None = None) -> None:
        self.realised_networks: dict[str, HostNetwork] = {}
        self.plugged: dict[str, set[str]] = {}
        self.firewall: HostFirewall | None = None
        self.log: list[Any] = log if log is not None else []
        self.fail_on: dict[str, Exception] = {}

    def _step(self, name: str, *args: Any) -> None:
        self.log.append(Call(name, args, {}))
        if name in self.fail_on:
            raise self.fail_on[name]

    def realise(self, network: HostNetwork) -> str:
        self._step("realise", network.network_id)
        self.realised_networks[network.network_id] = network
        return f"engine-{network.network_id}"

    def plug(
        self, container: str, network: HostNetwork, port: Port, aliases: Sequence[str] = ()
    ) -> None:
        self._step("plug", container, network.network_id, port.id)
        if network.network_id not in self.realised_networks:
            raise NotFound(f"Network {network.network_id} is not realised.")
        self.plugged.setdefault(network.network_id, set()).add(container)

    def unplug(self, container: str, network_id: str) -> None:
        self._step("unplug", container, network_id)
        self.plugged.get(network_id, set()).discard(container)

    def remove(self, network_id: str) -> None:
        self._step("remove", network_id)
        if self.plugged.get(network_id):
            raise NetworkInUse(f"Network {network_id} is in use.", network_id=network_id)
        self.realised_networks.pop(network_id, None)

    def realised(self) -> tuple[RealisedNetwork, ...]:
        return tuple(
            RealisedNetwork(
                network_id,
                f"engine-{network_id}",
                tuple(s.cidr for s in network.subnets),
                tuple(sorted(self.plugged.get(network_id, ()))),
            )
            for network_id, network in sorted(self.realised_networks.items())
        )

    def apply_firewall(self, firewall: HostFirewall, only_if_changed: bool = False) -> None:
        if only_if_changed and firewall == self.firewall:
            return
        self._step("apply_firewall", firewall)
        self.firewall = firewall
