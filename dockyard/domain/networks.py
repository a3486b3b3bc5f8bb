"""Networks, subnets and ports as Dockyard records, and the checks a new subnet must pass.

Shapes follow Neutron's (so the ``/v2.0`` subset and a Neutron driver use the
same types): a network holds subnets, a port is one attachment of a device to a
network with fixed IPs. Addresses are kept as strings in their canonical text
form (``ipaddress``'s ``str``); the functions here are the only place they are
parsed. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from dockyard.domain.errors import Conflict, InvalidInput, PortNotFound

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``device_owner`` of the ports Dockyard makes for its containers.
DEVICE_OWNER: Final = "compute:dockyard"

#: The smallest subnets that still hold a gateway and one container.
_MAX_PREFIX: Final = {4: 30, 6: 126}


class _Default:
    """Marks "not given" where ``None`` means "none" (a subnet without a gateway)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()


@dataclass(frozen=True)
class Network:
    id: str
    project_id: str
    name: str = ""
    shared: bool = False
    external: bool = False
    admin_state_up: bool = True
    mtu: int = 1500


@dataclass(frozen=True)
class AllocationPool:
    """An inclusive range of addresses a subnet hands out."""

    start: str
    end: str


@dataclass(frozen=True)
class Subnet:
    id: str
    network_id: str
    project_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    allocation_pools: tuple[AllocationPool, ...]
    name: str = ""

    @property
    def ip_network(self) -> IPNetwork:
        return ipaddress.ip_network(self.cidr)


@dataclass(frozen=True)
class FixedIP:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class Port:
    """One attachment of a device (a container) to a network."""

    id: str
    project_id: str
    network_id: str
    mac_address: str
    fixed_ips: tuple[FixedIP, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    name: str = ""
    device_id: str = ""
    device_owner: str = ""
    #: The host the port is bound to (Neutron's ``binding:host_id``); "" when unbound.
    host: str = ""
    admin_state_up: bool = True
    #: Made by a user rather than by a container's create: it outlives the container.
    preserve_on_delete: bool = False
    #: Neutron's port status: ``ACTIVE`` while bound to a host, else ``DOWN``.
    status: str = "DOWN"


#: Key of a host's report (``info``) holding its underlay address for tunnels.
TUNNEL_ADDRESS: Final = "tunnel_address"


@dataclass(frozen=True)
class HostNetwork:
    """What a host needs to realise a network: its id, its subnets, its MTU."""

    network_id: str
    subnets: tuple[Subnet, ...]
    mtu: int = 1500
    #: The network's VXLAN id across hosts (unique in the installation); None: not tunnelled.
    segment: int | None = None
    #: Tunnel addresses of the other hosts with a port on the network.
    peers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """How a container joins an engine network as it is created (its first port)."""

    network_name: str
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    mac_address: str | None = None
    #: Names the engine's DNS answers for the container on that network.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetRequest:
    """One entry of a create's ``nets``: a network or a port, with optional fixed IPs."""

    network: str | None = None
    port: str | None = None
    v4_fixed_ip: str | None = None
    v6_fixed_ip: str | None = None

    def __post_init__(self) -> None:
        if (self.network is None) == (self.port is None):
            raise InvalidInput("Each nets entry needs exactly one of 'network' and 'port'.")
        if self.port is not None and (self.v4_fixed_ip or self.v6_fixed_ip):
            raise InvalidInput("A fixed IP goes with a network, not with a port.")
        _check_version(self.v4_fixed_ip, 4, "v4-fixed-ip")
        _check_version(self.v6_fixed_ip, 6, "v6-fixed-ip")


@dataclass(frozen=True)
class Attachment:
    """A resolved ``nets`` entry: the network, its subnets, and the port to use or make.

    ``port`` is the user's existing port when one was named; otherwise a port is
    made with ``fixed_ips`` (addresses asked for; others are allocated).
    ``preserve_on_delete`` is true for a user's port: it outlives the container.
    """

    network: Network
    subnets: tuple[Subnet, ...]
    port: Port | None = None
    fixed_ips: tuple[str, ...] = field(default=())
    preserve_on_delete: bool = False
    #: The project the container's port is made for (the caller's; a shared network's
    #: owner is another). "" → the network's project.
    project_id: str = ""


def _check_version(text: str | None, version: int, name: str) -> None:
    if text is None:
        return
    address = parse_address(text, name)
    if address.version != version:
        raise InvalidInput(f"'{name}' must be an IPv{version} address, not {text!r}.", field=name)


def parse_address(text: str, name: str = "ip_address") -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a valid IP address.", field=name) from None


def parse_cidr(text: str, ip_version: int | None = None, name: str = "cidr") -> IPNetwork:
    """A subnet's CIDR: well formed, of ``ip_version`` when given, no host bits set."""
    text = text.strip()
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a valid CIDR.", field=name) from None
    if "/" not in text:
        raise InvalidInput(f"{text!r} has no prefix length (e.g. 10.0.0.0/24).", field=name)
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} has host bits set; the network is {loose}.", field=name
        ) from None
    if ip_version is not None and network.version != ip_version:
        raise InvalidInput(
            f"{text} is an IPv{network.version} CIDR but ip_version is {ip_version}.",
            field="ip_version",
        )
    return network


def _check_usable_range(network: IPNetwork) -> None:
    if network.prefixlen > _MAX_PREFIX[network.version]:
        raise InvalidInput(
            f"{network} is too small: the prefix length may be at most "
            f"{_MAX_PREFIX[network.version]} for IPv{network.version}.",
            field="cidr",
        )
    for kind, flag in (
        ("loopback", network.is_loopback),
        ("multicast", network.is_multicast),
        ("link-local", network.is_link_local),
        ("unspecified", network.network_address.is_unspecified),
    ):
        if flag:
            raise InvalidInput(f"{network} is a {kind} range.", field="cidr")


def reserved_addresses(network: IPNetwork) -> frozenset[IPAddress]:
    """The addresses of a subnet no port may hold: the network and (IPv4) broadcast ones."""
    if network.version == 4:
        return frozenset({network.network_address, network.broadcast_address})
    return frozenset({network.network_address})


def _usable_bounds(network: IPNetwork) -> tuple[IPAddress, IPAddress]:
    last = network.broadcast_address - (1 if network.version == 4 else 0)
    return network.network_address + 1, last


def _check_gateway(network: IPNetwork, text: str) -> IPAddress:
    gateway = parse_address(text, "gateway_ip")
    if gateway.version != network.version or gateway not in network:
        raise InvalidInput(
            f"Gateway {text} is not inside the subnet {network}.", field="gateway_ip"
        )
    if gateway in reserved_addresses(network):
        raise InvalidInput(
            f"Gateway {text} is the network or broadcast address of {network}.",
            field="gateway_ip",
        )
    return gateway


def _parse_pool(network: IPNetwork, pool: AllocationPool) -> tuple[IPAddress, IPAddress]:
    start = parse_address(pool.start, "allocation_pools")
    end = parse_address(pool.end, "allocation_pools")
    for address in (start, end):
        if address.version != network.version or address not in network:
            raise InvalidInput(
                f"Allocation pool address {address} is not inside the subnet {network}.",
                field="allocation_pools",
            )
        if address in reserved_addresses(network):
            raise InvalidInput(
                f"Allocation pool address {address} is the network or broadcast address.",
                field="allocation_pools",
            )
    if int(start) > int(end):
        raise InvalidInput(
            f"Allocation pool {pool.start}-{pool.end} starts after it ends.",
            field="allocation_pools",
        )
    return start, end


def _check_pools(
    network: IPNetwork, pools: Sequence[AllocationPool], gateway: IPAddress | None
) -> tuple[AllocationPool, ...]:
    bounds = sorted((_parse_pool(network, pool) for pool in pools), key=lambda b: int(b[0]))
    for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False):
        if int(start) <= int(end):
            raise InvalidInput(f"Allocation pools overlap at {start}.", field="allocation_pools")
    if gateway is not None:
        for start, end in bounds:
            if int(start) <= int(gateway) <= int(end):
                raise Conflict(
                    f"Gateway {gateway} is inside the allocation pool {start}-{end}.",
                    field="gateway_ip",
                )
    return tuple(AllocationPool(str(start), str(end)) for start, end in bounds)


def default_pools(network: IPNetwork, gateway: IPAddress | None) -> tuple[AllocationPool, ...]:
    """Every usable address of the subnet except the gateway, as one or two pools."""
    first, last = _usable_bounds(network)
    if gateway is None or not int(first) <= int(gateway) <= int(last):
        return (AllocationPool(str(first), str(last)),)
    pools = []
    if int(gateway) > int(first):
        pools.append(AllocationPool(str(first), str(gateway - 1)))
    if int(gateway) < int(last):
        pools.append(AllocationPool(str(gateway + 1), str(last)))
    return tuple(pools)


def new_subnet(
    *,
    id: str,
    network_id: str,
    project_id: str,
    cidr: str,
    ip_version: int | None = None,
    gateway_ip: str | None | _Default = DEFAULT,
    allocation_pools: Sequence[AllocationPool] | None = None,
    name: str = "",
) -> Subnet:
    """A checked subnet: well-formed CIDR, gateway inside it, pools inside it and apart.

    ``gateway_ip`` not given → the subnet's first usable address; ``None`` → no
    gateway. ``allocation_pools`` not given → every usable address but the gateway.
    Raises ``InvalidInput`` (400) naming the field, or ``Conflict`` (409) for a
    gateway inside a pool, as Neutron does.
    """
    if ip_version is not None and ip_version not in (4, 6):
        raise InvalidInput(f"ip_version must be 4 or 6, not {ip_version}.", field="ip_version")
    network = parse_cidr(cidr, ip_version)
    _check_usable_range(network)
    if isinstance(gateway_ip, _Default):
        gateway: IPAddress | None = _usable_bounds(network)[0]
    elif gateway_ip is None:
        gateway = None
    else:
        gateway = _check_gateway(network, gateway_ip)
    if allocation_pools:
        pools = _check_pools(network, allocation_pools, gateway)
    else:
        pools = default_pools(network, gateway)
    return Subnet(
        id=id,
        network_id=network_id,
        project_id=project_id,
        cidr=str(network),
        ip_version=network.version,
        gateway_ip=None if gateway is None else str(gateway),
        allocation_pools=pools,
        name=name,
    )


def ensure_no_overlap(cidr: str, existing: Iterable[Subnet]) -> None:
    """Refuse (400) a CIDR that overlaps one of ``existing``.

    The caller picks the scope. Docker's bridge driver refuses two networks
    with overlapping subnets on one engine, so the local driver checks against
    every subnet that may meet this one on a host, not only the project's.
    """
    new = ipaddress.ip_network(cidr)
    for subnet in existing:
        other = subnet.ip_network
        if other.version == new.version and new.overlaps(other):
            raise InvalidInput(
                f"Subnet {new} overlaps subnet {other} ({subnet.id}) of network "
                f"{subnet.network_id}.",
                field="cidr",
            )


def subnet_of(subnets: Iterable[Subnet], address: IPAddress) -> Subnet | None:
    """The subnet among ``subnets`` that contains ``address``."""
    for subnet in subnets:
        network = subnet.ip_network
        if network.version == address.version and address in network:
            return subnet
    return None


def first_of_each_version(subnets: Iterable[Subnet]) -> tuple[Subnet, ...]:
    """Where a port that names no address gets its addresses: the first subnet of each IP
    version (IPv4 first)."""
    firsts: dict[int, Subnet] = {}
    for subnet in subnets:
        firsts.setdefault(subnet.ip_version, subnet)
    return tuple(subnet for _, subnet in sorted(firsts.items()))


def usable_port(found: Sequence[Port], ident: str) -> Port:
    """The one port ``ident`` named among ``found`` (the caller's matches), free to use:
    none → 404, several → 409, already bound to a device → 400. Both drivers' rule."""
    if not found:
        raise PortNotFound(f"Port {ident} could not be found.")
    if len(found) > 1:
        raise Conflict(f"Multiple ports exist with name {ident}. Please use the id.")
    port = found[0]
    if port.device_id:
        raise InvalidInput(
            f"Port {port.id} is in use by device {port.device_id}; it cannot be used.",
            field="nets",
        )
    return port
