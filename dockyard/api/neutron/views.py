"""Neutron's JSON shapes of networks, subnets, ports, security groups and rules.

Attributes Dockyard has no notion of are shown with the value a Neutron
without the matching extension would imply (no DNS, no QoS, no tags).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.domain.networks import Network, Port, Subnet
from dockyard.domain.security_groups import SecurityGroup, SecurityGroupRule


def _owned(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


def network(item: Network, subnets: Sequence[Subnet]) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        **_owned(item.project_id),
        "admin_state_up": item.admin_state_up,
        "status": "ACTIVE",
        "shared": item.shared,
        "router:external": item.external,
        "mtu": item.mtu,
        "subnets": [s.id for s in subnets if s.network_id == item.id],
        "description": "",
        "availability_zone_hints": [],
        "availability_zones": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "port_security_enabled": True,
        "is_default": False,
        "l2_adjacency": True,
        "tags": [],
        "revision_number": 0,
    }


def subnet(item: Subnet) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        **_owned(item.project_id),
        "network_id": item.network_id,
        "ip_version": item.ip_version,
        "cidr": item.cidr,
        "gateway_ip": item.gateway_ip,
        "allocation_pools": [{"start": p.start, "end": p.end} for p in item.allocation_pools],
        # The engine configures each container's address when it starts it.
        "enable_dhcp": True,
        "dns_nameservers": [],
        "host_routes": [],
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "subnetpool_id": None,
        "service_types": [],
        "description": "",
        "tags": [],
        "revision_number": 0,
    }


def port(item: Port) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        **_owned(item.project_id),
        "network_id": item.network_id,
        "mac_address": item.mac_address,
        "admin_state_up": item.admin_state_up,
        "status": item.status,
        "device_id": item.device_id,
        "device_owner": item.device_owner,
        "fixed_ips": [
            {"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in item.fixed_ips
        ],
        "security_groups": list(item.security_group_ids),
        "binding:host_id": item.host,
        "binding:vif_type": "bridge" if item.host else "unbound",
        "binding:vnic_type": "normal",
        "binding:profile": {},
        "binding:vif_details": {},
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "port_security_enabled": True,
        "description": "",
        "tags": [],
        "revision_number": 0,
    }


def rule(item: SecurityGroupRule) -> dict[str, Any]:
    return {
        "id": item.id,
        **_owned(item.project_id),
        "security_group_id": item.security_group_id,
        "direction": item.direction.value,
        "ethertype": item.ethertype.value,
        "protocol": None if item.protocol is None else item.protocol.value,
        "port_range_min": item.port_range_min,
        "port_range_max": item.port_range_max,
        "remote_ip_prefix": item.remote_ip_prefix,
        "remote_group_id": item.remote_group_id,
        "remote_address_group_id": None,
        "description": item.description,
        "revision_number": 0,
    }


def security_group(item: SecurityGroup) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        **_owned(item.project_id),
        "description": item.description,
        "security_group_rules": [rule(r) for r in item.rules],
        "stateful": True,
        "shared": False,
        "tags": [],
        "revision_number": 0,
    }


def only(view: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The ``fields`` a client asked for (all when none)."""
    if not fields:
        return view
    return {name: view[name] for name in fields if name in view}
