"""The control side of the ``local`` network driver: networks, ports and groups as records.

Each project gets its own network on first use, with a subnet carved from the
configured pool; each project gets a ``default`` security group on first use.
Both are made once even when two requests race (the stores keep them unique).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from dockyard.domain import ipam
from dockyard.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressGenerationFailure,
    NetworkNotFound,
    SecurityGroupInUse,
    SecurityGroupNotFound,
)
from dockyard.domain.firewall import HostFirewall, host_firewall
from dockyard.domain.networks import (
    DEVICE_OWNER,
    Attachment,
    HostNetwork,
    NetRequest,
    Network,
    Port,
    Subnet,
    ensure_no_overlap,
    first_of_each_version,
    new_subnet,
    parse_address,
    subnet_of,
    usable_port,
)
from dockyard.domain.security_groups import (
    DEFAULT_GROUP_NAME,
    Protocol,
    SecurityGroup,
    default_rules,
    exposed_ports_group,
    exposed_ports_group_id,
    one_group,
    resolve_groups,
)
from dockyard.drivers.network.base import Caller, NetworkDriver
from dockyard.drivers.network.local.stores import NetworkStore, SecurityGroupStore

LOG = logging.getLogger(__name__)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ProjectNetworks:
    """How projects' own networks are made (the ``[network]`` options)."""

    pool: str = "10.100.0.0/16"
    prefix: int = 24
    name: str = "private"
    mtu: int = 1500


def _one(found: Sequence[Network], ident: str) -> Network:
    if not found:
        raise NetworkNotFound(f"Network {ident} could not be found.")
    if len(found) > 1:
        raise Conflict(f"Multiple networks exist with name {ident}. Please use the id.")
    return found[0]


class LocalNetworkDriver(NetworkDriver):
    def __init__(
        self,
        networks: NetworkStore,
        groups: SecurityGroupStore,
        settings: ProjectNetworks | None = None,
        make_id: Callable[[], str] = new_id,
        tunnel_addresses: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.networks = networks
        self.groups = groups
        self.settings = settings or ProjectNetworks()
        self.make_id = make_id
        #: Each host's underlay address (hosts without one keep their networks to themselves).
        self.tunnel_addresses = tunnel_addresses or dict

    # the project's own network and default group

    def project_network(self, project_id: str) -> Network:
        """The project's own network, made (with a subnet from the pool) on first use."""
        existing = self.networks.project_network(project_id)
        if existing is not None:
            return existing
        pool = ipaddress.ip_network(self.settings.pool)
        for candidate in pool.subnets(new_prefix=self.settings.prefix):
            taken = self.networks.subnets()
            if any(s.ip_network.version == 4 and s.ip_network.overlaps(candidate) for s in taken):
                continue
            network = Network(
                id=self.make_id(),
                project_id=project_id,
                name=self.settings.name,
                mtu=self.settings.mtu,
            )
            subnet = new_subnet(
                id=self.make_id(),
                network_id=network.id,
                project_id=project_id,
                cidr=str(candidate),
                name=f"{self.settings.name}-subnet",
            )
            try:
                return self.networks.create_network(
                    network,
                    [subnet],
                    default_for=project_id,
                    check=functools.partial(_no_overlap, subnet.cidr),
                )
            except InvalidInput:
                # Another subnet took (part of) this range in the meantime.
                LOG.debug("subnet %s was taken concurrently; trying the next one", candidate)
        raise IpAddressGenerationFailure(
            f"No /{self.settings.prefix} is left in the project network pool {pool} "
            "([network] project_network_pool)."
        )

    def default_group(self, project_id: str) -> SecurityGroup:
        """The project's ``default`` group, made on first use with Neutron's rules."""
        existing = self.groups.default_group(project_id)
        if existing is not None:
            return existing
        group_id = self.make_id()
        group = SecurityGroup(
            id=group_id,
            project_id=project_id,
            name=DEFAULT_GROUP_NAME,
            description="Default security group",
            rules=default_rules(group_id, project_id, self.make_id),
        )
        return self.groups.create_group(group, default_for=project_id)

    # NetworkDriver

    def resolve(self, caller: Caller, requests: Sequence[NetRequest]) -> tuple[Attachment, ...]:
        if not requests:
            network = self.project_network(caller.project_id)
            return (Attachment(network, tuple(self.networks.subnets_of([network.id]))),)
        attachments = [self._resolve_one(caller, request) for request in requests]
        seen: set[str] = set()
        for attachment in attachments:
            if attachment.network.id in seen:
                raise InvalidInput(
                    f"Network {attachment.network.id} is requested more than once.",
                    field="nets",
                )
            seen.add(attachment.network.id)
        return tuple(attachments)

    def _find_network(self, caller: Caller, ident: str) -> Network:
        found = self.networks.networks(caller.project_id, id=ident)
        return (
            found[0]
            if found
            else _one(self.networks.networks(caller.project_id, name=ident), ident)
        )

    def _resolve_one(self, caller: Caller, request: NetRequest) -> Attachment:
        if request.port is not None:
            port = self._find_port(caller, request.port)
            network = self.networks.networks(None, id=port.network_id)[0]
            subnets = tuple(self.networks.subnets_of([network.id]))
            return Attachment(network, subnets, port=port, preserve_on_delete=True)
        network = self._find_network(caller, str(request.network))
        if network.external and not network.shared and not caller.may_attach_external:
            raise Forbidden(f"Attaching to the external network {network.id} is not allowed.")
        subnets = tuple(self.networks.subnets_of([network.id]))
        if not subnets:
            # Refused before anything is claimed, as the neutron driver does.
            raise InvalidInput(
                f"Network {network.id} has no subnet to take addresses from.", field="nets"
            )
        fixed = []
        for text in (request.v4_fixed_ip, request.v6_fixed_ip):
            if text is None:
                continue
            address = parse_address(text, "fixed_ip")
            subnet = subnet_of(subnets, address)
            if subnet is None:
                raise InvalidIpForSubnet(
                    f"IP address {text} is not inside any subnet of network {network.id}."
                )
            fixed.append(ipam.claim(subnet, text, self.networks.held_addresses(subnet.id)))
        return Attachment(network, subnets, fixed_ips=tuple(fixed))

    def _find_port(self, caller: Caller, ident: str) -> Port:
        found = self.networks.ports(caller.project_id, id=ident) or self.networks.ports(
            caller.project_id, name=ident
        )
        return usable_port(found, ident)

    def resolve_security_groups(
        self, caller: Caller, names_or_ids: Sequence[str]
    ) -> tuple[SecurityGroup, ...]:
        return resolve_groups(
            names_or_ids,
            lambda: self.default_group(caller.project_id),
            lambda ident: self._find_group(caller.project_id, ident),
        )

    def _find_group(self, project_id: str, ident: str) -> SecurityGroup:
        found = self.groups.groups(project_id, id=ident) or self.groups.groups(
            project_id, name=ident
        )
        if not found and ident == DEFAULT_GROUP_NAME:
            return self.default_group(project_id)
        return one_group(found, ident)

    def make_ports(
        self,
        container_id: str,
        host: str,
        attachments: Sequence[Attachment],
        security_group_ids: Sequence[str],
    ) -> tuple[Port, ...]:
        made: list[Port] = []
        try:
            for attachment in attachments:
                made.append(self._make_port(container_id, host, attachment, security_group_ids))
        except Exception:
            self.release_ports(container_id, made)
            raise
        return tuple(made)

    def _make_port(
        self,
        container_id: str,
        host: str,
        attachment: Attachment,
        security_group_ids: Sequence[str],
    ) -> Port:
        if attachment.port is not None:
            # A user's port keeps its own groups; the container's exposed_ports group
            # (when it has one) joins them, or its exposed ports would stay closed.
            own = exposed_ports_group_id(container_id)
            also = [own] if own in security_group_ids else []
            return self.networks.bind_port(
                attachment.port.id, container_id, host, DEVICE_OWNER, also_groups=also
            )
        existing = self.networks.ports(device_id=container_id, network_id=attachment.network.id)
        if existing:
            return existing[0]
        port_id = self.make_id()
        port = Port(
            id=port_id,
            project_id=attachment.network.project_id,
            network_id=attachment.network.id,
            mac_address=ipam.mac_for(port_id),
            security_group_ids=tuple(security_group_ids),
            device_id=container_id,
            device_owner=DEVICE_OWNER,
            host=host,
        )
        return self.networks.create_port(port, _wanted(attachment))

    def release_ports(self, container_id: str, ports: Sequence[Port]) -> None:
        for port in ports:
            current = self.networks.ports(id=port.id)
            if not current:
                continue
            if current[0].preserve_on_delete:
                self.networks.unbind_port(
                    port.id, container_id, drop_groups=(exposed_ports_group_id(container_id),)
                )
            else:
                self.networks.delete_port(port.id, device_id=container_id)

    def make_exposed_ports_group(
        self,
        container_id: str,
        container_name: str,
        project_id: str,
        ports: Sequence[tuple[int, Protocol]],
    ) -> SecurityGroup:
        group = exposed_ports_group(container_id, container_name, project_id, ports, self.make_id)
        existing = self.groups.groups_by_id([group.id])
        if group.id in existing:
            return existing[group.id]
        return self.groups.create_group(group)

    def release_exposed_ports_group(self, container_id: str) -> None:
        group_id = exposed_ports_group_id(container_id)
        try:
            self.groups.delete_group(group_id)
        except SecurityGroupNotFound:
            return
        except SecurityGroupInUse as exc:
            LOG.warning("kept the exposed_ports group of %s: %s", container_id, exc)

    def networks_for_host(self, host: str) -> tuple[HostNetwork, ...]:
        ids = sorted({port.network_id for port in self.networks.ports(host=host)})
        subnets = self.networks.subnets_of(ids)
        addresses = self.tunnel_addresses()
        result = []
        for network_id in ids:
            found = self.networks.networks(None, id=network_id)
            if not found:
                continue
            own = tuple(s for s in subnets if s.network_id == network_id)
            network = HostNetwork(network_id, own, found[0].mtu)
            if host in addresses:
                network = self._tunnelled(network, host, addresses)
            result.append(network)
        return tuple(result)

    def host_network(self, host: str, attachment: Attachment) -> HostNetwork:
        network = super().host_network(host, attachment)
        addresses = self.tunnel_addresses()
        return self._tunnelled(network, host, addresses) if host in addresses else network

    def find_network(self, network_id: str, visible_to: str | None) -> Network:
        found = self.networks.networks(visible_to, id=network_id)
        if not found:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        return found[0]

    def container_ports(self, network_id: str) -> int:
        ports = self.networks.ports(network_id=network_id)
        return sum(1 for p in ports if p.device_id and p.device_owner == DEVICE_OWNER)

    def member_hosts(self, network_ids: Collection[str]) -> set[str]:
        addresses = self.tunnel_addresses()
        return {
            port.host
            for network_id in set(network_ids)
            for port in self.networks.ports(network_id=network_id)
            if port.host and port.host in addresses
        }

    def _tunnelled(
        self, network: HostNetwork, host: str, addresses: Mapping[str, str]
    ) -> HostNetwork:
        """``network`` with its VXLAN id and the other tunnel ends: hosts with a port on it."""
        hosts = {p.host for p in self.networks.ports(network_id=network.network_id) if p.host}
        peers = {addresses[h] for h in hosts if h != host and h in addresses}
        peers.discard(addresses[host])
        return dataclasses.replace(
            network,
            segment=self.networks.segment(network.network_id),
            peers=tuple(sorted(peers)),
        )

    def firewall_for_host(self, host: str) -> HostFirewall:
        host_ports = self.networks.ports(host=host)
        group_ids = {g for port in host_ports for g in port.security_group_ids}
        groups = dict(self.groups.groups_by_id(group_ids))
        remote = {
            rule.remote_group_id
            for group in groups.values()
            for rule in group.rules
            if rule.remote_group_id
        }
        members = self.networks.ports_in_groups(remote)
        return host_firewall(host_ports, groups, members)


def _no_overlap(cidr: str, existing: list[Subnet]) -> None:
    ensure_no_overlap(cidr, existing)


def _wanted(attachment: Attachment) -> list[tuple[Subnet, str | None]]:
    """The addresses a new port gets: those asked for, else one from the first subnet of
    each IP version."""
    if attachment.fixed_ips:
        wanted: list[tuple[Subnet, str | None]] = []
        for text in attachment.fixed_ips:
            subnet = subnet_of(attachment.subnets, parse_address(text))
            if subnet is None:
                raise InvalidIpForSubnet(f"IP address {text} is not inside any subnet.")
            wanted.append((subnet, text))
        return wanted
    return [(subnet, None) for subnet in first_of_each_version(attachment.subnets)]
