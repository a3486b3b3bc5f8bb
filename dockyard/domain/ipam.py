"""IP address management: handing out a subnet's addresses, and MAC addresses for ports.

Pure: the caller passes the addresses already in use (its ports' fixed IPs on
that subnet) and records the result in the same transaction that checked them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Collection

from dockyard.domain.errors import (
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)
from dockyard.domain.networks import IPAddress, Subnet, parse_address, reserved_addresses

#: Locally administered (bit 1 of the first octet set), unicast (bit 0 clear).
MAC_PREFIX = "0a:d7"
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _taken(subnet: Subnet, in_use: Collection[str]) -> set[IPAddress]:
    taken = {ipaddress.ip_address(address) for address in in_use}
    if subnet.gateway_ip is not None:
        taken.add(ipaddress.ip_address(subnet.gateway_ip))
    return taken


def allocate(subnet: Subnet, in_use: Collection[str]) -> str:
    """The lowest address of the subnet's pools that is free; 409 when none is."""
    taken = _taken(subnet, in_use)
    for pool in subnet.allocation_pools:
        address = ipaddress.ip_address(pool.start)
        for _ in range(int(ipaddress.ip_address(pool.end)) - int(address) + 1):
            if address not in taken:
                return str(address)
            address += 1
    raise IpAddressGenerationFailure(
        f"No more IP addresses available on subnet {subnet.id} ({subnet.cidr}).",
        subnet_id=subnet.id,
    )


def claim(subnet: Subnet, requested: str, in_use: Collection[str]) -> str:
    """Check that ``requested`` may be given to a port on ``subnet``; its canonical form.

    Outside the subnet, or its network/broadcast address → 400; held by a port
    or the gateway → 409. An address outside the allocation pools but inside the
    subnet may be asked for, as in Neutron.
    """
    address = parse_address(requested, "fixed_ip")
    network = subnet.ip_network
    if address.version != network.version or address not in network:
        raise InvalidIpForSubnet(
            f"IP address {requested} is not a valid IP for the subnet {subnet.cidr}.",
            subnet_id=subnet.id,
        )
    if address in reserved_addresses(network):
        raise InvalidIpForSubnet(
            f"IP address {requested} is the network or broadcast address of {subnet.cidr}.",
            subnet_id=subnet.id,
        )
    if address in _taken(subnet, in_use):
        raise IpAddressAlreadyAllocated(
            f"IP address {address} already allocated in subnet {subnet.id}.",
            subnet_id=subnet.id,
            ip_address=str(address),
        )
    return str(address)


def mac_for(port_id: str) -> str:
    """A MAC address for the port: locally administered, the same for the same port id."""
    digest = hashlib.sha256(port_id.encode()).digest()[:4]
    return MAC_PREFIX + "".join(f":{byte:02x}" for byte in digest)


def parse_mac(text: str) -> str:
    """A MAC address a user asked for, in lower-case colon form; 400 when it cannot be one."""
    mac = text.strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise InvalidInput(f"{text!r} is not a valid MAC address.", field="mac_address")
    first = int(mac[:2], 16)
    if first & 1:
        raise InvalidInput(f"{text} is a multicast MAC address.", field="mac_address")
    if mac == "00:00:00:00:00:00":
        raise InvalidInput("00:00:00:00:00:00 is not a valid MAC address.", field="mac_address")
    return mac
