"""The handlers of the five Neutron resources: request parsing in, views out."""

from __future__ import annotations

from typing import Any, Final

from dockyard.api.neutron import parse, views
from dockyard.domain.errors import InvalidInput
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import DEFAULT, AllocationPool
from dockyard.service.networks import FixedIpRequest, NetworkService

Fields = dict[str, Any]

NETWORK_CREATE: Final = {
    "name", "admin_state_up", "shared", "router:external", "mtu", "project_id", "tenant_id",
    "description", "port_security_enabled", "availability_zone_hints",
}  # fmt: skip
NETWORK_UPDATE: Final = {
    "name",
    "admin_state_up",
    "shared",
    "router:external",
    "mtu",
    "description",
}
SUBNET_CREATE: Final = {
    "network_id", "cidr", "ip_version", "gateway_ip", "allocation_pools", "name",
    "project_id", "tenant_id", "enable_dhcp", "dns_nameservers", "host_routes", "description",
}  # fmt: skip
SUBNET_UPDATE: Final = {"name", "description", "enable_dhcp", "dns_nameservers", "host_routes"}
PORT_CREATE: Final = {
    "network_id", "fixed_ips", "mac_address", "name", "security_groups", "device_id",
    "device_owner", "admin_state_up", "project_id", "tenant_id", "description",
    "port_security_enabled", "binding:vnic_type",
}  # fmt: skip
PORT_UPDATE: Final = {
    "name", "admin_state_up", "security_groups", "device_id", "device_owner", "binding:host_id",
    "description",
}  # fmt: skip
GROUP_CREATE: Final = {"name", "description", "project_id", "tenant_id", "stateful"}
GROUP_UPDATE: Final = {"name", "description"}
RULE_CREATE: Final = {
    "security_group_id", "direction", "ethertype", "protocol", "port_range_min",
    "port_range_max", "remote_ip_prefix", "remote_group_id", "description", "project_id",
    "tenant_id",
}  # fmt: skip


def _unsupported_extras(fields: Fields) -> None:
    """Attributes Dockyard accepts only with the value it implements."""
    parse.empty_or(fields, "description", "")
    parse.empty_or(fields, "port_security_enabled", True)
    parse.empty_or(fields, "availability_zone_hints", [])
    parse.empty_or(fields, "dns_nameservers", [])
    parse.empty_or(fields, "host_routes", [])
    parse.empty_or(fields, "binding:vnic_type", "normal")
    parse.empty_or(fields, "stateful", True)


def _required(name: str) -> InvalidInput:
    return InvalidInput(
        f"Failed to parse request. Required attribute '{name}' not specified", field=name
    )


def _mtu(fields: Fields) -> int | None:
    mtu = parse.integer(fields, "mtu")
    if mtu is not None and not 68 <= mtu <= 9000:
        raise InvalidInput(f"Invalid input for mtu. Reason: {mtu} is not in 68..9000.", field="mtu")
    return mtu


class Resources:
    def __init__(self, service: NetworkService) -> None:
        self.service = service

    # networks

    def network_views(self, ctx: RequestContext) -> list[Fields]:
        subnets = self.service.list_subnets(ctx)
        return [views.network(n, subnets) for n in self.service.list_networks(ctx)]

    def show_network(self, ctx: RequestContext, ident: str) -> Fields:
        network = self.service.get_network(ctx, ident)
        return views.network(network, self.service.list_subnets(ctx, network_id=network.id))

    def create_network(self, ctx: RequestContext, fields: Fields) -> Fields:
        parse.known(fields, NETWORK_CREATE)
        _unsupported_extras(fields)
        network = self.service.create_network(
            ctx,
            name=parse.string(fields, "name"),
            project_id=parse.project(fields),
            shared=parse.boolean(fields, "shared", False),
            external=parse.boolean(fields, "router:external", False),
            admin_state_up=parse.boolean(fields, "admin_state_up", True),
            mtu=_mtu(fields) or 1500,
        )
        return views.network(network, [])

    def update_network(self, ctx: RequestContext, ident: str, fields: Fields) -> Fields:
        parse.known(fields, NETWORK_UPDATE)
        _unsupported_extras(fields)
        values: Fields = {}
        if "name" in fields:
            values["name"] = parse.string(fields, "name")
        for key, column in (("admin_state_up", "admin_state_up"), ("shared", "shared"),
                            ("router:external", "external")):  # fmt: skip
            if key in fields:
                values[column] = parse.boolean(fields, key, False)
        if "mtu" in fields:
            values["mtu"] = _mtu(fields)
        self.service.update_network(ctx, ident, values)
        return self.show_network(ctx, ident)

    def delete_network(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_network(ctx, ident)

    # subnets

    def subnet_views(self, ctx: RequestContext) -> list[Fields]:
        return [views.subnet(s) for s in self.service.list_subnets(ctx)]

    def show_subnet(self, ctx: RequestContext, ident: str) -> Fields:
        return views.subnet(self.service.get_subnet(ctx, ident))

    def create_subnet(self, ctx: RequestContext, fields: Fields) -> Fields:
        parse.known(fields, SUBNET_CREATE)
        _unsupported_extras(fields)
        for required in ("network_id", "cidr"):
            if fields.get(required) is None:
                raise _required(required)
        gateway: Any = DEFAULT
        if "gateway_ip" in fields:
            gateway = parse.optional_string(fields, "gateway_ip")
        pools = [
            AllocationPool(parse.string(p, "start"), parse.string(p, "end"))
            for p in parse.objects(fields, "allocation_pools")
        ]
        parse.boolean(fields, "enable_dhcp", True)
        subnet = self.service.create_subnet(
            ctx,
            network_id=parse.string(fields, "network_id"),
            cidr=parse.string(fields, "cidr"),
            ip_version=parse.integer(fields, "ip_version"),
            gateway_ip=gateway,
            allocation_pools=pools or None,
            name=parse.string(fields, "name"),
            project_id=parse.project(fields),
        )
        return views.subnet(subnet)

    def update_subnet(self, ctx: RequestContext, ident: str, fields: Fields) -> Fields:
        parse.known(fields, SUBNET_UPDATE)
        _unsupported_extras(fields)
        parse.boolean(fields, "enable_dhcp", True)
        values = {"name": parse.string(fields, "name")} if "name" in fields else {}
        return views.subnet(self.service.update_subnet(ctx, ident, values))

    def delete_subnet(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_subnet(ctx, ident)

    # ports

    def port_views(self, ctx: RequestContext) -> list[Fields]:
        return [views.port(p) for p in self.service.list_ports(ctx)]

    def show_port(self, ctx: RequestContext, ident: str) -> Fields:
        return views.port(self.service.get_port(ctx, ident))

    def create_port(self, ctx: RequestContext, fields: Fields) -> Fields:
        parse.known(fields, PORT_CREATE)
        _unsupported_extras(fields)
        if fields.get("network_id") is None:
            raise _required("network_id")
        fixed = []
        for entry in parse.objects(fields, "fixed_ips"):
            parse.known(entry, {"subnet_id", "ip_address"})
            fixed.append(
                FixedIpRequest(
                    parse.optional_string(entry, "subnet_id"),
                    parse.optional_string(entry, "ip_address"),
                )
            )
        port = self.service.create_port(
            ctx,
            network_id=parse.string(fields, "network_id"),
            fixed_ips=fixed,
            mac_address=parse.optional_string(fields, "mac_address"),
            name=parse.string(fields, "name"),
            security_groups=parse.strings(fields, "security_groups"),
            device_id=parse.string(fields, "device_id"),
            device_owner=parse.string(fields, "device_owner"),
            admin_state_up=parse.boolean(fields, "admin_state_up", True),
            project_id=parse.project(fields),
        )
        return views.port(port)

    def update_port(self, ctx: RequestContext, ident: str, fields: Fields) -> Fields:
        parse.known(fields, PORT_UPDATE)
        _unsupported_extras(fields)
        values: Fields = {}
        for key in ("name", "device_id", "device_owner"):
            if key in fields:
                values[key] = parse.string(fields, key)
        if "binding:host_id" in fields:
            values["host"] = parse.string(fields, "binding:host_id")
        if "admin_state_up" in fields:
            values["admin_state_up"] = parse.boolean(fields, "admin_state_up", True)
        groups = parse.strings(fields, "security_groups")
        if "security_groups" in fields and groups is None:
            groups = []
        return views.port(self.service.update_port(ctx, ident, values, groups))

    def delete_port(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_port(ctx, ident)

    # security groups

    def group_views(self, ctx: RequestContext) -> list[Fields]:
        return [views.security_group(g) for g in self.service.list_groups(ctx)]

    def show_group(self, ctx: RequestContext, ident: str) -> Fields:
        return views.security_group(self.service.get_group(ctx, ident))

    def create_group(self, ctx: RequestContext, fields: Fields) -> Fields:
        parse.known(fields, GROUP_CREATE)
        parse.empty_or(fields, "stateful", True)
        group = self.service.create_group(
            ctx,
            name=parse.string(fields, "name"),
            description=parse.string(fields, "description"),
            project_id=parse.project(fields),
        )
        return views.security_group(group)

    def update_group(self, ctx: RequestContext, ident: str, fields: Fields) -> Fields:
        parse.known(fields, GROUP_UPDATE)
        values = {k: parse.string(fields, k) for k in GROUP_UPDATE if k in fields}
        return views.security_group(self.service.update_group(ctx, ident, values))

    def delete_group(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_group(ctx, ident)

    # rules

    def rule_views(self, ctx: RequestContext) -> list[Fields]:
        return [views.rule(r) for r in self.service.list_rules(ctx)]

    def show_rule(self, ctx: RequestContext, ident: str) -> Fields:
        return views.rule(self.service.get_rule(ctx, ident))

    def create_rule(self, ctx: RequestContext, fields: Fields) -> Fields:
        parse.known(fields, RULE_CREATE)
        for required in ("security_group_id", "direction"):
            if fields.get(required) is None:
                raise _required(required)
        parse.project(fields)  # checked; the rule belongs to its group's project, as in Neutron
        protocol = fields.get("protocol")
        if isinstance(protocol, bool) or not isinstance(protocol, str | int | None):
            raise InvalidInput(f"Invalid input for protocol: {protocol!r}.", field="protocol")
        rule = self.service.create_rule(
            ctx,
            security_group_id=parse.string(fields, "security_group_id"),
            direction=parse.string(fields, "direction"),
            ethertype=parse.string(fields, "ethertype", "IPv4"),
            protocol=protocol,
            port_range_min=parse.integer(fields, "port_range_min"),
            port_range_max=parse.integer(fields, "port_range_max"),
            remote_ip_prefix=parse.optional_string(fields, "remote_ip_prefix"),
            remote_group_id=parse.optional_string(fields, "remote_group_id"),
            description=parse.string(fields, "description"),
        )
        return views.rule(rule)

    def delete_rule(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_rule(ctx, ident)
