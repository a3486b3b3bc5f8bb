"""What a host's packet filter must enforce: its ports, their addresses and their rules.

Built from records by the control side and sent to the host, which renders it
into kernel rules. Every driver (local or Neutron) describes a host's security
groups this way, so one kernel mechanism enforces both. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dockyard.domain.networks import Port
from dockyard.domain.security_groups import SecurityGroup, SecurityGroupRule


@dataclass(frozen=True)
class GuardedPort:
    """A port the host filters: traffic to or from ``addresses`` must match ``rules``.

    A port with no security groups is not guarded at all (Neutron's behaviour);
    a port whose groups have no rule for a direction gets nothing new in that
    direction (replies to allowed traffic always pass).
    """

    port_id: str
    container_id: str
    addresses: tuple[str, ...]
    rules: tuple[SecurityGroupRule, ...]


@dataclass(frozen=True)
class HostFirewall:
    """The whole of a host's filtering; applying it replaces what was there before."""

    ports: tuple[GuardedPort, ...] = ()
    #: Security group id → addresses of its member ports on any host, for the
    #: groups that rules of ``ports`` name as their remote group.
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _addresses(port: Port) -> tuple[str, ...]:
    return tuple(fixed.ip_address for fixed in port.fixed_ips)


def host_firewall(
    host_ports: Iterable[Port],
    groups: Mapping[str, SecurityGroup],
    all_ports: Iterable[Port],
) -> HostFirewall:
    """The filtering of a host whose containers hold ``host_ports``.

    ``groups`` maps ids to the groups those ports name (a missing group gives no
    rules, so its ports fail closed); ``all_ports`` are the ports of every host,
    for resolving remote groups to member addresses.
    """
    guarded = []
    for port in sorted(host_ports, key=lambda p: p.id):
        if not port.security_group_ids:
            continue
        rules = tuple(
            rule
            for group_id in dict.fromkeys(port.security_group_ids)
            if group_id in groups
            for rule in groups[group_id].rules
        )
        guarded.append(GuardedPort(port.id, port.device_id, _addresses(port), rules))
    wanted = {rule.remote_group_id for gp in guarded for rule in gp.rules} - {None}
    members: dict[str, list[str]] = {group_id: [] for group_id in wanted if group_id}
    for port in all_ports:
        for group_id in port.security_group_ids:
            if group_id in members:
                members[group_id].extend(_addresses(port))
    return HostFirewall(
        ports=tuple(guarded),
        members={group_id: tuple(sorted(set(a))) for group_id, a in sorted(members.items())},
    )


def without_container(firewall: HostFirewall, container_id: str) -> HostFirewall:
    """``firewall`` as the records will say once ``container_id``'s ports are gone:
    its ports unguarded, its addresses out of every group's members."""
    gone = {
        a for port in firewall.ports if port.container_id == container_id for a in port.addresses
    }
    return HostFirewall(
        ports=tuple(port for port in firewall.ports if port.container_id != container_id),
        members={
            group_id: tuple(a for a in addresses if a not in gone)
            for group_id, addresses in firewall.members.items()
        },
    )
