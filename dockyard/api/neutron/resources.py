"""The handlers of the five Neutron resources: request parsing in, views out."""

from __future__ import annotations

from typing import Any

from dockyard.api.neutron import parse, schemas, views
from dockyard.domain.errors import InvalidInput
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import DEFAULT, AllocationPool
from dockyard.service.networks import FixedIpRequest, NetworkService

Fields = dict[str, Any]


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
        schemas.check(fields, "network", "create")
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
        schemas.check(fields, "network", "update")
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
        schemas.check(fields, "subnet", "create")
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
        schemas.check(fields, "subnet", "update")
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
        schemas.check(fields, "port", "create")
        fixed = []
        for entry in parse.objects(fields, "fixed_ips"):
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
        schemas.check(fields, "port", "update")
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
        schemas.check(fields, "security_group", "create")
        group = self.service.create_group(
            ctx,
            name=parse.string(fields, "name"),
            description=parse.string(fields, "description"),
            project_id=parse.project(fields),
        )
        return views.security_group(group)

    def update_group(self, ctx: RequestContext, ident: str, fields: Fields) -> Fields:
        schemas.check(fields, "security_group", "update")
        values: Fields = {
            k: parse.string(fields, k) for k in ("name", "description") if k in fields
        }
        return views.security_group(self.service.update_group(ctx, ident, values))

    def delete_group(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_group(ctx, ident)

    # rules

    def rule_views(self, ctx: RequestContext) -> list[Fields]:
        return [views.rule(r) for r in self.service.list_rules(ctx)]

    def show_rule(self, ctx: RequestContext, ident: str) -> Fields:
        return views.rule(self.service.get_rule(ctx, ident))

    def create_rule(self, ctx: RequestContext, fields: Fields) -> Fields:
        schemas.check(fields, "security_group_rule", "create")
        parse.project(fields)  # checked; the rule belongs to its group's project, as in Neutron
        rule = self.service.create_rule(
            ctx,
            security_group_id=parse.string(fields, "security_group_id"),
            direction=parse.string(fields, "direction"),
            ethertype=parse.string(fields, "ethertype", "IPv4"),
            protocol=fields.get("protocol"),
            port_range_min=parse.integer(fields, "port_range_min"),
            port_range_max=parse.integer(fields, "port_range_max"),
            remote_ip_prefix=parse.optional_string(fields, "remote_ip_prefix"),
            remote_group_id=parse.optional_string(fields, "remote_group_id"),
            description=parse.string(fields, "description"),
        )
        return views.rule(rule)

    def delete_rule(self, ctx: RequestContext, ident: str) -> None:
        self.service.delete_rule(ctx, ident)
