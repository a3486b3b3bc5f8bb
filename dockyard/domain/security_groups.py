"""Security groups and their rules, with the checks a new rule must pass (Neutron's model).

A rule allows traffic; anything a port's groups do not allow is dropped. A rule
matches by direction, ethertype, protocol, port range (for ICMP: type and code)
and the remote end: a CIDR, the members of a group, or anyone. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from dockyard.domain.errors import Conflict, InvalidInput

DEFAULT_GROUP_NAME: Final = "default"
#: Namespace of the ids of containers' own ``exposed_ports`` groups (see ``exposed_ports_group``).
_EXPOSED_NAMESPACE: Final = uuid.UUID("5b0f0c1e-7a47-4d0e-9a51-0d8a3c6f2e91")
_E = TypeVar("_E", bound=StrEnum)


class Direction(StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


class EtherType(StrEnum):
    IPV4 = "IPv4"
    IPV6 = "IPv6"

    @property
    def version(self) -> int:
        return 4 if self is EtherType.IPV4 else 6


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    #: ICMP for IPv4 rules, ICMPv6 for IPv6 rules (as Neutron treats ``icmp``).
    ICMP = "icmp"

    @property
    def has_ports(self) -> bool:
        return self is not Protocol.ICMP


# Names and IANA numbers Neutron clients send for the protocols Dockyard enforces.
_PROTOCOLS: Final = {
    "tcp": Protocol.TCP,
    "6": Protocol.TCP,
    "udp": Protocol.UDP,
    "17": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "1": Protocol.ICMP,
    "icmpv6": Protocol.ICMP,
    "ipv6-icmp": Protocol.ICMP,
    "58": Protocol.ICMP,
}
_ANY_PROTOCOL: Final = {"any", "0"}


@dataclass(frozen=True)
class SecurityGroupRule:
    id: str
    security_group_id: str
    project_id: str
    direction: Direction
    ethertype: EtherType
    protocol: Protocol | None = None
    #: tcp/udp: the first port; icmp: the ICMP type.
    port_range_min: int | None = None
    #: tcp/udp: the last port; icmp: the ICMP code.
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""

    def same_match(self, other: SecurityGroupRule) -> bool:
        """Whether both rules allow the same traffic (ids and descriptions aside)."""
        return _match_key(self) == _match_key(other)


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    project_id: str
    name: str
    description: str = ""
    rules: tuple[SecurityGroupRule, ...] = ()


def _match_key(rule: SecurityGroupRule) -> tuple[object, ...]:
    return (
        rule.security_group_id,
        rule.direction,
        rule.ethertype,
        rule.protocol,
        rule.port_range_min,
        rule.port_range_max,
        rule.remote_ip_prefix,
        rule.remote_group_id,
    )


def _parse_enum(kind: type[_E], value: str, name: str) -> _E:
    for member in kind:
        if member.value.lower() == value.strip().lower():
            return member
    allowed = ", ".join(m.value for m in kind)
    raise InvalidInput(f"{name} {value!r} is not one of {allowed}.", field=name)


def parse_protocol(value: str | int | None) -> Protocol | None:
    """``tcp``/``udp``/``icmp`` (names or numbers, any case); ``None``/``any`` → any protocol."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _ANY_PROTOCOL:
        return None
    protocol = _PROTOCOLS.get(text)
    if protocol is None:
        raise InvalidInput(
            f"Security group rule protocol {value!r} is not supported; "
            "use tcp, udp, icmp or none for any.",
            field="protocol",
        )
    return protocol


def _check_ports(protocol: Protocol | None, low: int | None, high: int | None) -> None:
    if protocol is None:
        if low is not None or high is not None:
            raise InvalidInput(
                "A port range needs a protocol (tcp or udp).", field="port_range_min"
            )
        return
    if protocol.has_ports:
        if (low is None) != (high is None):
            raise InvalidInput(
                "Give both port_range_min and port_range_max, or neither.",
                field="port_range_max" if high is None else "port_range_min",
            )
        if low is None or high is None:
            return
        for name, port in (("port_range_min", low), ("port_range_max", high)):
            if not 1 <= port <= 65535:
                raise InvalidInput(f"Invalid port {port}: ports are 1 to 65535.", field=name)
        if low > high:
            raise InvalidInput(
                f"port_range_min {low} is greater than port_range_max {high}.",
                field="port_range_min",
            )
        return
    # ICMP: min is the type, max the code; a code needs a type.
    if low is None and high is not None:
        raise InvalidInput("An ICMP code needs an ICMP type.", field="port_range_min")
    for name, value in (("ICMP type", low), ("ICMP code", high)):
        if value is not None and not 0 <= value <= 255:
            raise InvalidInput(f"Invalid {name} {value}: it is 0 to 255.", field=name)


def _check_remote_prefix(text: str, ethertype: EtherType) -> str:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a valid remote_ip_prefix.", field="remote_ip_prefix"
        ) from None
    if network.version != ethertype.version:
        raise InvalidInput(
            f"remote_ip_prefix {text} is IPv{network.version} but the ethertype is "
            f"{ethertype.value}.",
            field="ethertype",
        )
    return str(network)  # host bits cleared, as Neutron normalises them


def new_rule(
    *,
    id: str,
    security_group_id: str,
    project_id: str,
    direction: str,
    ethertype: str = "IPv4",
    protocol: str | int | None = None,
    port_range_min: int | None = None,
    port_range_max: int | None = None,
    remote_ip_prefix: str | None = None,
    remote_group_id: str | None = None,
    description: str = "",
) -> SecurityGroupRule:
    """A checked rule: every malformed or contradictory field → ``InvalidInput`` (400).

    Whether ``remote_group_id`` names a group the caller may use is the caller's
    check (it needs the records).
    """
    parsed_direction = _parse_enum(Direction, direction, "direction")
    parsed_ethertype = _parse_enum(EtherType, ethertype, "ethertype")
    parsed_protocol = parse_protocol(protocol)
    _check_ports(parsed_protocol, port_range_min, port_range_max)
    if remote_ip_prefix is not None and remote_group_id is not None:
        raise InvalidInput(
            "Give remote_ip_prefix or remote_group_id, not both.", field="remote_group_id"
        )
    prefix = None
    if remote_ip_prefix is not None:
        prefix = _check_remote_prefix(remote_ip_prefix, parsed_ethertype)
    return SecurityGroupRule(
        id=id,
        security_group_id=security_group_id,
        project_id=project_id,
        direction=parsed_direction,
        ethertype=parsed_ethertype,
        protocol=parsed_protocol,
        port_range_min=port_range_min,
        port_range_max=port_range_max,
        remote_ip_prefix=prefix,
        remote_group_id=remote_group_id,
        description=description,
    )


def ensure_new(rule: SecurityGroupRule, existing: Iterable[SecurityGroupRule]) -> None:
    """Refuse (409) a rule that allows exactly what a rule of the group already allows."""
    for other in existing:
        if rule.same_match(other):
            raise Conflict(f"Security group rule already exists. Rule id is {other.id}.")


def default_rules(
    group_id: str, project_id: str, new_id: Callable[[], str]
) -> tuple[SecurityGroupRule, ...]:
    """Neutron's ``default`` group: all egress; ingress only from members of this group."""
    return tuple(
        SecurityGroupRule(
            id=new_id(),
            security_group_id=group_id,
            project_id=project_id,
            direction=direction,
            ethertype=ethertype,
            remote_group_id=group_id if direction is Direction.INGRESS else None,
        )
        for direction in Direction
        for ethertype in EtherType
    )


def exposed_ports_rules(
    group_id: str,
    project_id: str,
    ports: Iterable[tuple[int, Protocol]],
    new_id: Callable[[], str],
) -> tuple[SecurityGroupRule, ...]:
    """Ingress from anywhere (IPv4 and IPv6) to exactly these ports: the ``exposed_ports`` group."""
    return tuple(
        SecurityGroupRule(
            id=new_id(),
            security_group_id=group_id,
            project_id=project_id,
            direction=Direction.INGRESS,
            ethertype=ethertype,
            protocol=protocol,
            port_range_min=port,
            port_range_max=port,
            remote_ip_prefix="0.0.0.0/0" if ethertype is EtherType.IPV4 else "::/0",
        )
        for port, protocol in sorted(set(ports))
        for ethertype in EtherType
    )


def exposed_ports_group_id(container_id: str) -> str:
    """The id of a container's own ``exposed_ports`` group: derived from the container's,
    so every path that removes the container finds it without a lookup, and a retried
    create makes the same one. (User groups have random ids: they cannot collide.)"""
    return str(uuid.uuid5(_EXPOSED_NAMESPACE, container_id))


def exposed_ports_group(
    container_id: str,
    container_name: str,
    project_id: str,
    ports: Iterable[tuple[int, Protocol]],
    new_id: Callable[[], str],
) -> SecurityGroup:
    """A container's own group: all egress (a new group's rules), and ingress from
    anywhere to exactly its ``exposed_ports``. It is the container's only group."""
    group_id = exposed_ports_group_id(container_id)
    egress = tuple(
        SecurityGroupRule(
            id=new_id(),
            security_group_id=group_id,
            project_id=project_id,
            direction=Direction.EGRESS,
            ethertype=ethertype,
        )
        for ethertype in EtherType
    )
    return SecurityGroup(
        id=group_id,
        project_id=project_id,
        name=f"{container_name}-exposed-ports",
        description=(f"The exposed_ports of container {container_id}: made and removed with it."),
        rules=egress + exposed_ports_rules(group_id, project_id, ports, new_id),
    )


def one_group(found: Sequence[SecurityGroup], ident: str) -> SecurityGroup:
    """The one group ``ident`` named in the caller's project: none → 400, several → 409."""
    if not found:
        raise InvalidInput(
            f"Security group {ident} could not be found in the project.",
            field="security_groups",
        )
    if len(found) > 1:
        raise Conflict(f"Multiple security groups exist with name {ident}. Please use the id.")
    return found[0]


def resolve_groups(
    names_or_ids: Sequence[str],
    default: Callable[[], SecurityGroup],
    find: Callable[[str], SecurityGroup],
) -> tuple[SecurityGroup, ...]:
    """The groups a create or action names, each once, in order; none named → the
    project's ``default``."""
    if not names_or_ids:
        return (default(),)
    resolved: dict[str, SecurityGroup] = {}
    for ident in names_or_ids:
        group = find(ident)
        resolved.setdefault(group.id, group)
    return tuple(resolved.values())
