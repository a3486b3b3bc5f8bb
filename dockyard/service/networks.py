"""Networks, subnets, ports, security groups and rules: the one model both APIs use.

The ``/v2.0`` (Neutron) subset and ``/v1/networks`` call this; the create flow
uses the network driver over the same records. Scoping follows Neutron: a
caller sees their project's records and shared networks (an admin sees every
record); another project's record is a 404, a shared network of another
project may be used but not changed (403).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.db.repositories.networks import NetworkRepository
from dockyard.db.repositories.security_groups import SecurityGroupRepository
from dockyard.domain import ipam
from dockyard.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidIpForSubnet,
    NetworkInUse,
    NetworkNotFound,
    PortInUse,
    PortNotFound,
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleNotFound,
    SubnetNotFound,
)
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import (
    DEFAULT,
    DEVICE_OWNER,
    AllocationPool,
    Network,
    Port,
    Subnet,
    ensure_no_overlap,
    first_of_each_version,
    new_subnet,
    parse_address,
    subnet_of,
)
from dockyard.domain.security_groups import (
    DEFAULT_GROUP_NAME,
    SecurityGroup,
    SecurityGroupRule,
    ensure_new,
    new_rule,
)
from dockyard.drivers.network.base import Caller, NetworkDriver

#: Told the hosts whose firewall must be worked out again (after a rule or a
#: membership changed).
HostsChanged = Callable[[Collection[str]], None]


@dataclass(frozen=True)
class FixedIpRequest:
    """One entry of a port's ``fixed_ips``: a subnet, an address, or both."""

    subnet_id: str | None = None
    ip_address: str | None = None


def _ignore(_hosts: Collection[str]) -> None:
    return None


def _new_id() -> str:
    return str(uuid.uuid4())


def _visible_to(ctx: RequestContext) -> str | None:
    return None if ctx.is_admin else ctx.project_id


class NetworkService:
    def __init__(
        self,
        networks: NetworkRepository,
        groups: SecurityGroupRepository,
        driver: NetworkDriver,
        hosts_changed: HostsChanged = _ignore,
        make_id: Callable[[], str] = _new_id,
    ) -> None:
        self.networks = networks
        self.groups = groups
        self.driver = driver
        self.hosts_changed = hosts_changed
        self.make_id = make_id

    # scoping

    @staticmethod
    def _owner(ctx: RequestContext, project_id: str | None) -> str:
        """The project a new record belongs to: the caller's, or any an admin names."""
        if project_id is None or project_id == ctx.project_id:
            return ctx.project_id
        if not ctx.is_admin:
            raise Forbidden(
                "Specifying 'project_id' or 'tenant_id' other than the authenticated "
                "project in request requires admin privileges."
            )
        return project_id

    @staticmethod
    def _may_change(ctx: RequestContext, project_id: str, what: str) -> None:
        if not ctx.is_admin and project_id != ctx.project_id:
            raise Forbidden(f"{what} belongs to another project and may not be changed.")

    # networks

    def list_networks(self, ctx: RequestContext, **equal: str) -> list[Network]:
        return self.networks.networks(_visible_to(ctx), **equal)

    def get_network(self, ctx: RequestContext, network_id: str) -> Network:
        found = self.networks.networks(_visible_to(ctx), id=network_id)
        if not found:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        return found[0]

    def project_network(self, ctx: RequestContext) -> Network:
        """The caller's project network, made on first use."""
        (attachment,) = self.driver.resolve(Caller(ctx.project_id), ())
        return attachment.network

    def create_network(
        self,
        ctx: RequestContext,
        *,
        name: str = "",
        project_id: str | None = None,
        shared: bool = False,
        external: bool = False,
        admin_state_up: bool = True,
        mtu: int = 1500,
    ) -> Network:
        if (shared or external) and not ctx.is_admin:
            raise Forbidden("Only an admin may make a shared or external network.")
        network = Network(
            id=self.make_id(),
            project_id=self._owner(ctx, project_id),
            name=name,
            shared=shared,
            external=external,
            admin_state_up=admin_state_up,
            mtu=mtu,
        )
        return self.networks.create_network(network)

    def update_network(
        self, ctx: RequestContext, network_id: str, values: Mapping[str, Any]
    ) -> Network:
        network = self.get_network(ctx, network_id)
        self._may_change(ctx, network.project_id, f"Network {network_id}")
        if ({"shared", "external"} & set(values)) and not ctx.is_admin:
            raise Forbidden("Only an admin may change whether a network is shared or external.")
        return self.networks.update_network(network_id, values)

    def delete_network(self, ctx: RequestContext, network_id: str) -> None:
        network = self.get_network(ctx, network_id)
        self._may_change(ctx, network.project_id, f"Network {network_id}")
        self.networks.delete_network(network_id)

    def engine_network(self, ctx: RequestContext, network_id: str) -> Network:
        """A network ``/v1/networks`` may wrap (any project's, for an admin), as the
        driver keeps it: a Dockyard record, or a network of the cloud's Neutron."""
        return self.driver.find_network(network_id, _visible_to(ctx))

    def drop_engine_network(self, ctx: RequestContext, network_id: str) -> None:
        """``DELETE /v1/networks``: refused while containers are on the network; hosts'
        engine networks go with their last container (the network itself stays)."""
        network = self.engine_network(ctx, network_id)
        used = self.driver.container_ports(network.id)
        if used:
            raise NetworkInUse(f"Network {network_id} is in use by {used} container port(s).")

    # subnets

    def list_subnets(self, ctx: RequestContext, **equal: str) -> list[Subnet]:
        return self.networks.subnets(_visible_to(ctx), **equal)

    def get_subnet(self, ctx: RequestContext, subnet_id: str) -> Subnet:
        found = self.networks.subnets(_visible_to(ctx), id=subnet_id)
        if not found:
            raise SubnetNotFound(f"Subnet {subnet_id} could not be found.")
        return found[0]

    def create_subnet(
        self,
        ctx: RequestContext,
        *,
        network_id: str,
        cidr: str,
        ip_version: int | None = None,
        gateway_ip: Any = DEFAULT,
        allocation_pools: Sequence[AllocationPool] | None = None,
        name: str = "",
        project_id: str | None = None,
    ) -> Subnet:
        """A checked subnet (``new_subnet``) that overlaps no subnet of the installation:
        Docker refuses overlapping bridges on one engine, and any two may meet on a host."""
        network = self.get_network(ctx, network_id)
        self._may_change(ctx, network.project_id, f"Network {network_id}")
        owner = self._owner(ctx, project_id)
        subnet = new_subnet(
            id=self.make_id(),
            network_id=network.id,
            project_id=owner,
            cidr=cidr,
            ip_version=ip_version,
            gateway_ip=gateway_ip,
            allocation_pools=allocation_pools,
            name=name,
        )
        return self.networks.add_subnet(
            subnet, lambda existing: ensure_no_overlap(subnet.cidr, existing)
        )

    def update_subnet(
        self, ctx: RequestContext, subnet_id: str, values: Mapping[str, Any]
    ) -> Subnet:
        subnet = self.get_subnet(ctx, subnet_id)
        self._may_change(ctx, subnet.project_id, f"Subnet {subnet_id}")
        return self.networks.update_subnet(subnet_id, values)

    def delete_subnet(self, ctx: RequestContext, subnet_id: str) -> None:
        subnet = self.get_subnet(ctx, subnet_id)
        self._may_change(ctx, subnet.project_id, f"Subnet {subnet_id}")
        self.networks.delete_subnet(subnet_id)

    # ports

    def list_ports(self, ctx: RequestContext, **equal: str) -> list[Port]:
        return self.networks.ports(_visible_to(ctx), **equal)

    def get_port(self, ctx: RequestContext, port_id: str) -> Port:
        found = self.networks.ports(_visible_to(ctx), id=port_id)
        if not found:
            raise PortNotFound(f"Port {port_id} could not be found.")
        return found[0]

    def _port_groups(self, project_id: str, idents: Sequence[str] | None) -> tuple[str, ...]:
        if idents is None:
            caller = Caller(project_id)
            return tuple(g.id for g in self.driver.resolve_security_groups(caller, ()))
        for ident in idents:
            if not self.groups.groups(project_id, id=ident):
                raise SecurityGroupNotFound(f"Security group {ident} does not exist.")
        return tuple(dict.fromkeys(idents))

    @staticmethod
    def _wanted(
        network: Network, subnets: Sequence[Subnet], fixed_ips: Sequence[FixedIpRequest]
    ) -> list[tuple[Subnet, str | None]]:
        if not fixed_ips:
            return [(subnet, None) for subnet in first_of_each_version(subnets)]
        by_id = {subnet.id: subnet for subnet in subnets}
        wanted: list[tuple[Subnet, str | None]] = []
        for entry in fixed_ips:
            if entry.subnet_id is not None:
                subnet = by_id.get(entry.subnet_id)
                if subnet is None:
                    raise InvalidInput(
                        f"Failed to create port on network {network.id}, because fixed_ips "
                        f"included invalid subnet {entry.subnet_id}.",
                        field="fixed_ips",
                    )
                wanted.append((subnet, entry.ip_address))
            elif entry.ip_address is not None:
                found = subnet_of(subnets, parse_address(entry.ip_address, "fixed_ips"))
                if found is None:
                    raise InvalidIpForSubnet(
                        f"IP address {entry.ip_address} is not a valid IP for any subnet "
                        f"of network {network.id}."
                    )
                wanted.append((found, entry.ip_address))
            else:
                raise InvalidInput(
                    "Each fixed_ips entry needs a subnet_id or an ip_address.", field="fixed_ips"
                )
        return wanted

    def create_port(
        self,
        ctx: RequestContext,
        *,
        network_id: str,
        fixed_ips: Sequence[FixedIpRequest] = (),
        mac_address: str | None = None,
        name: str = "",
        security_groups: Sequence[str] | None = None,
        device_id: str = "",
        device_owner: str = "",
        admin_state_up: bool = True,
        project_id: str | None = None,
    ) -> Port:
        """A user's port (kept when a container that used it goes)."""
        network = self.get_network(ctx, network_id)
        owner = self._owner(ctx, project_id)
        subnets = self.networks.subnets_of([network.id])
        if not subnets:
            raise InvalidInput(f"Network {network.id} has no subnet to take addresses from.")
        wanted = self._wanted(network, subnets, fixed_ips)
        port_id = self.make_id()
        port = Port(
            id=port_id,
            project_id=owner,
            network_id=network.id,
            mac_address=ipam.mac_for(port_id)
            if mac_address is None
            else ipam.parse_mac(mac_address),
            security_group_ids=self._port_groups(owner, security_groups),
            name=name,
            device_id=device_id,
            device_owner=device_owner,
            admin_state_up=admin_state_up,
            preserve_on_delete=True,
        )
        return self.networks.create_port(port, wanted)

    def update_port(
        self,
        ctx: RequestContext,
        port_id: str,
        values: Mapping[str, Any],
        security_groups: Sequence[str] | None = None,
    ) -> Port:
        port = self.get_port(ctx, port_id)
        self._may_change(ctx, port.project_id, f"Port {port_id}")
        if "host" in values and not ctx.is_admin:
            raise Forbidden("Only an admin may set a port's binding:host_id.")
        groups = None
        if security_groups is not None:
            groups = self._port_groups(port.project_id, security_groups)
        updated = self.networks.update_port(port_id, values, groups)
        moved = updated.host != port.host
        if moved or set(updated.security_group_ids) != set(port.security_group_ids):
            groups_then_and_now = set(updated.security_group_ids) | set(port.security_group_ids)
            self._tell_hosts(groups_then_and_now, {port.host, updated.host})
        return updated

    def delete_port(self, ctx: RequestContext, port_id: str) -> None:
        port = self.get_port(ctx, port_id)
        self._may_change(ctx, port.project_id, f"Port {port_id}")
        if port.device_id and port.device_owner == DEVICE_OWNER:
            raise PortInUse(
                f"Port {port_id} is attached to container {port.device_id}; detach it first.",
                port_id=port_id,
            )
        if self.networks.delete_port(port_id):
            self._tell_hosts(set(port.security_group_ids), {port.host})

    # security groups

    def list_groups(self, ctx: RequestContext, **equal: str) -> list[SecurityGroup]:
        self.default_group(ctx)  # Neutron makes it on a project's first look
        return self.groups.groups(_visible_to(ctx), **equal)

    def default_group(self, ctx: RequestContext) -> SecurityGroup:
        return self.driver.resolve_security_groups(Caller(ctx.project_id), ())[0]

    def get_group(self, ctx: RequestContext, group_id: str) -> SecurityGroup:
        found = self.groups.groups(_visible_to(ctx), id=group_id)
        if not found:
            raise SecurityGroupNotFound(f"Security group {group_id} does not exist.")
        return found[0]

    @staticmethod
    def _not_default_name(name: str) -> None:
        if name == DEFAULT_GROUP_NAME:
            raise Conflict("Default security group already exists.")

    def create_group(
        self,
        ctx: RequestContext,
        *,
        name: str,
        description: str = "",
        project_id: str | None = None,
    ) -> SecurityGroup:
        """A group with Neutron's starting rules of a new group: all egress."""
        self._not_default_name(name)
        owner = self._owner(ctx, project_id)
        group_id = self.make_id()
        egress = tuple(
            new_rule(
                id=self.make_id(),
                security_group_id=group_id,
                project_id=owner,
                direction="egress",
                ethertype=ethertype,
            )
            for ethertype in ("IPv4", "IPv6")
        )
        group = SecurityGroup(group_id, owner, name, description, egress)
        return self.groups.create_group(group)

    def update_group(
        self, ctx: RequestContext, group_id: str, values: Mapping[str, Any]
    ) -> SecurityGroup:
        group = self.get_group(ctx, group_id)
        self._may_change(ctx, group.project_id, f"Security group {group_id}")
        if "name" in values and values["name"] != group.name:
            if group.name == DEFAULT_GROUP_NAME:
                raise Conflict("The default security group cannot be renamed.")
            self._not_default_name(str(values["name"]))
        return self.groups.update_group(group_id, values)

    def delete_group(self, ctx: RequestContext, group_id: str) -> None:
        group = self.get_group(ctx, group_id)
        self._may_change(ctx, group.project_id, f"Security group {group_id}")
        if group.name == DEFAULT_GROUP_NAME and not ctx.is_admin:
            raise Conflict("Removing default security group not allowed.")
        self.groups.delete_group(group_id)

    # rules

    def list_rules(self, ctx: RequestContext, **equal: str) -> list[SecurityGroupRule]:
        return self.groups.rules(_visible_to(ctx), **equal)

    def get_rule(self, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
        found = self.groups.rules(_visible_to(ctx), id=rule_id)
        if not found:
            raise SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist.")
        return found[0]

    def create_rule(
        self,
        ctx: RequestContext,
        *,
        security_group_id: str,
        direction: str,
        ethertype: str = "IPv4",
        protocol: str | int | None = None,
        port_range_min: int | None = None,
        port_range_max: int | None = None,
        remote_ip_prefix: str | None = None,
        remote_group_id: str | None = None,
        description: str = "",
    ) -> SecurityGroupRule:
        group = self.get_group(ctx, security_group_id)
        self._may_change(ctx, group.project_id, f"Security group {security_group_id}")
        rule = new_rule(
            id=self.make_id(),
            security_group_id=group.id,
            project_id=group.project_id,
            direction=direction,
            ethertype=ethertype,
            protocol=protocol,
            port_range_min=port_range_min,
            port_range_max=port_range_max,
            remote_ip_prefix=remote_ip_prefix,
            remote_group_id=remote_group_id,
            description=description,
        )
        if remote_group_id is not None:
            remote = self.get_group(ctx, remote_group_id)  # 404 for another project's
            if remote.project_id != group.project_id:
                raise SecurityGroupNotFound(f"Security group {remote_group_id} does not exist.")
        self.groups.add_rule(rule, lambda existing: _unique(rule, existing))
        self._tell_hosts({group.id}, set())
        return rule

    def delete_rule(self, ctx: RequestContext, rule_id: str) -> None:
        rule = self.get_rule(ctx, rule_id)
        self._may_change(ctx, rule.project_id, f"Security group rule {rule_id}")
        self.groups.delete_rule(rule_id)
        self._tell_hosts({rule.security_group_id}, set())

    # enforcement

    def hosts_of_groups(self, group_ids: Collection[str]) -> set[str]:
        """Hosts whose firewall depends on ``group_ids``: those with a member port, and
        those with a port in a group whose rules name one of them as remote group."""
        referring = {
            rule.security_group_id
            for rule in self.groups.rules()
            if rule.remote_group_id in group_ids
        }
        ports = self.networks.ports_in_groups(set(group_ids) | referring)
        return {port.host for port in ports if port.host}

    def _tell_hosts(self, group_ids: Collection[str], also: Collection[str]) -> None:
        hosts = (self.hosts_of_groups(group_ids) | set(also)) - {""}
        if hosts:
            self.hosts_changed(sorted(hosts))


def _unique(rule: SecurityGroupRule, existing: Sequence[SecurityGroupRule]) -> None:
    try:
        ensure_new(rule, existing)
    except Conflict as exc:
        raise SecurityGroupRuleExists(exc.detail) from None
