"""Neutron's JSON records as Dockyard's domain types. Pure: no I/O."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dockyard.domain.errors import InvalidInput
from dockyard.domain.networks import AllocationPool, FixedIP, Network, Port, Subnet
from dockyard.domain.security_groups import (
    Direction,
    EtherType,
    SecurityGroup,
    SecurityGroupRule,
    parse_protocol,
)

LOG = logging.getLogger(__name__)

Record = Mapping[str, Any]


def network(record: Record) -> Network:
    return Network(
        id=str(record["id"]),
        project_id=str(record.get("project_id") or record.get("tenant_id") or ""),
        name=str(record.get("name") or ""),
        shared=bool(record.get("shared")),
        external=bool(record.get("router:external")),
        admin_state_up=bool(record.get("admin_state_up", True)),
        mtu=int(record.get("mtu") or 1500),
    )


def subnet(record: Record) -> Subnet:
    return Subnet(
        id=str(record["id"]),
        network_id=str(record["network_id"]),
        project_id=str(record.get("project_id") or record.get("tenant_id") or ""),
        cidr=str(record["cidr"]),
        ip_version=int(record["ip_version"]),
        gateway_ip=record.get("gateway_ip") or None,
        allocation_pools=tuple(
            AllocationPool(str(pool["start"]), str(pool["end"]))
            for pool in record.get("allocation_pools") or ()
        ),
        name=str(record.get("name") or ""),
    )


def port(record: Record, preserved: bool) -> Port:
    """``preserved``: a user's port, kept when the container goes."""
    return Port(
        id=str(record["id"]),
        project_id=str(record.get("project_id") or record.get("tenant_id") or ""),
        network_id=str(record["network_id"]),
        mac_address=str(record.get("mac_address") or ""),
        fixed_ips=tuple(
            FixedIP(str(entry["subnet_id"]), str(entry["ip_address"]))
            for entry in record.get("fixed_ips") or ()
        ),
        security_group_ids=tuple(record.get("security_groups") or ()),
        name=str(record.get("name") or ""),
        device_id=str(record.get("device_id") or ""),
        device_owner=str(record.get("device_owner") or ""),
        host=str(record.get("binding:host_id") or ""),
        admin_state_up=bool(record.get("admin_state_up", True)),
        preserve_on_delete=preserved,
        status=str(record.get("status") or "DOWN"),
    )


def rule(record: Record) -> SecurityGroupRule | None:
    """A rule the host can enforce; ``None`` for one it cannot (another protocol): the
    port then gets nothing from it, so it fails closed."""
    try:
        protocol = parse_protocol(record.get("protocol"))
    except InvalidInput:
        LOG.info("rule %s: protocol %s is not enforced", record.get("id"), record.get("protocol"))
        return None
    return SecurityGroupRule(
        id=str(record["id"]),
        security_group_id=str(record["security_group_id"]),
        project_id=str(record.get("project_id") or record.get("tenant_id") or ""),
        direction=Direction(str(record["direction"])),
        ethertype=EtherType(str(record.get("ethertype") or "IPv4")),
        protocol=protocol,
        port_range_min=record.get("port_range_min"),
        port_range_max=record.get("port_range_max"),
        remote_ip_prefix=record.get("remote_ip_prefix") or None,
        remote_group_id=record.get("remote_group_id") or None,
        description=str(record.get("description") or ""),
    )


def security_group(record: Record) -> SecurityGroup:
    rules = (rule(entry) for entry in record.get("security_group_rules") or ())
    return SecurityGroup(
        id=str(record["id"]),
        project_id=str(record.get("project_id") or record.get("tenant_id") or ""),
        name=str(record.get("name") or ""),
        description=str(record.get("description") or ""),
        rules=tuple(r for r in rules if r is not None),
    )
